/**
 * TypeScript shapes of package `curvefs.metaserver.copyset` (proto/curvefs/copyset.proto
 * and proto/curvefs/cli2.proto), as the codecs decode them.
 * test/proto/wire.test.ts holds them to the .proto files.
 */

import type { Peer } from './common-types.ts';

export const CopysetOpStatus = {
  COPYSET_OP_STATUS_SUCCESS: 0,
  COPYSET_OP_STATUS_EXIST: 1,
  COPYSET_OP_STATUS_COPYSET_NOTEXIST: 2,
  COPYSET_OP_STATUS_FAILURE_UNKNOWN: 3,
  COPYSET_OP_STATUS_COPYSET_IS_HEALTHY: 4,
  COPYSET_OP_STATUS_PARSE_PEER_ERROR: 5,
  COPYSET_OP_STATUS_PEER_MISMATCH: 6,
} as const;
/** The proto enum COPYSET_OP_STATUS. */
export type CopysetOpStatus = (typeof CopysetOpStatus)[keyof typeof CopysetOpStatus];

// ---- copyset.proto ----

/** The nested message CreateCopysetRequest.Copyset. */
export interface CreateCopysetRequestCopyset {
  readonly poolId: number;
  readonly copysetId: number;
  readonly peers: readonly Peer[];
}

export interface CreateCopysetRequest {
  readonly copysets: readonly CreateCopysetRequestCopyset[];
}

export interface CreateCopysetResponse {
  readonly status: CopysetOpStatus;
}

export interface CopysetStatusRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly peer?: Peer;
  readonly queryHash?: boolean;
}

export interface CopysetStatus {
  readonly state: number;
  readonly peer: Peer;
  readonly leader: Peer;
  readonly readonly: boolean;
  readonly term: number;
  readonly committedIndex: number;
  readonly knownAppliedIndex: number;
  readonly pendingIndex: number;
  readonly pendingQueueSize: number;
  readonly applyingIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly diskIndex: number;
  /** The number of committed configuration changes. */
  readonly epoch: number;
  readonly hash?: string;
}

export interface CopysetStatusResponse {
  readonly status: CopysetOpStatus;
  readonly copysetStatus?: CopysetStatus;
}

export interface CopysetsStatusRequest {
  readonly copysets: readonly CopysetStatusRequest[];
}

export interface CopysetsStatusResponse {
  readonly status: readonly CopysetStatusResponse[];
}

// ---- cli2.proto ----

export interface GetLeaderRequest2 {
  readonly poolId: number;
  readonly copysetId: number;
  readonly peer?: Peer;
}

export interface GetLeaderResponse2 {
  readonly leader: Peer;
}

export interface AddPeerRequest2 {
  readonly poolId: number;
  readonly copysetId: number;
  readonly addPeer: Peer;
}

export interface AddPeerResponse2 {
  readonly oldPeers: readonly Peer[];
  readonly newPeers: readonly Peer[];
}

export interface RemovePeerRequest2 {
  readonly poolId: number;
  readonly copysetId: number;
  readonly removePeer: Peer;
}

export interface RemovePeerResponse2 {
  readonly oldPeers: readonly Peer[];
  readonly newPeers: readonly Peer[];
}

export interface ChangePeersRequest2 {
  readonly poolId: number;
  readonly copysetId: number;
  readonly newPeers: readonly Peer[];
}

export interface ChangePeersResponse2 {
  readonly oldPeers: readonly Peer[];
  readonly newPeers: readonly Peer[];
}

export interface TransferLeaderRequest2 {
  readonly poolId: number;
  readonly copysetId: number;
  readonly transferee: Peer;
}

// An empty message: no fields.
export type TransferLeaderResponse2 = Record<never, never>;
