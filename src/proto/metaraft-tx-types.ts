/**
 * TypeScript shapes of package `metaraft.tx` (proto/metaraft/tx.proto, proto2): the
 * operations across copysets (docs/transactions.md) as the codecs decode them: 64-bit
 * integers as safe numbers, `part` as a Uint8Array, repeated fields as arrays (empty
 * when absent), absent optional fields absent. The `Tx` prefix keeps the names apart
 * from the curvefs messages of the same name.
 * test/proto/tx-wire.test.ts holds them to the .proto file.
 */

import type { FsFileType, Inode, MetaStatusCode, Time } from './metaserver-types.ts';

/** How a transaction ended, as its coordinator tells a secondary (StatusResponse.state). */
export const TxState = {
  COMMITTED: 1,
  ABORTED: 2,
  IN_PROGRESS: 3,
} as const;
export type TxState = (typeof TxState)[keyof typeof TxState];

/** A transaction's name, chosen by the client: unique per (clientId, seq). */
export interface TxIdWire {
  readonly clientId: number;
  readonly seq: number;
}

/** Where a partition lives: its table row with the copyset's peers ("ip:port:0"). */
export interface TxRoute {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly start: number;
  readonly end: number;
  readonly peers: readonly string[];
}

/** A name: the partition holding the parent's entries, the parent, the name. */
export interface TxNameRef {
  readonly partitionId: number;
  readonly parentInodeId: number;
  readonly name: string;
}

export interface TxRenameRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly txId: TxIdWire;
  readonly src: TxNameRef;
  readonly dst: TxNameRef;
  readonly routes: readonly TxRoute[];
  readonly time?: Time;
  /** Every seq of this client below it has been answered. */
  readonly ackedBelow?: number;
}

export interface TxLinkRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly txId: TxIdWire;
  readonly inodeId: number;
  readonly dst: TxNameRef;
  readonly routes: readonly TxRoute[];
  readonly time?: Time;
  readonly ackedBelow?: number;
}

export interface TxCreateRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly txId: TxIdWire;
  readonly dst: TxNameRef;
  /** The partition that allocates the new inode's id. */
  readonly inodePartitionId: number;
  readonly type: FsFileType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev?: number;
  readonly symlink?: string;
  readonly routes: readonly TxRoute[];
  readonly time?: Time;
  readonly ackedBelow?: number;
  readonly length?: number;
}

export interface TxUnlinkRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly txId: TxIdWire;
  readonly name: TxNameRef;
  /** rmdir when true (the entry must be an empty directory), unlink otherwise. */
  readonly directory: boolean;
  readonly routes: readonly TxRoute[];
  readonly time?: Time;
  readonly ackedBelow?: number;
}

export interface TxReply {
  readonly statusCode: MetaStatusCode;
  /** Create: the new inode. */
  readonly inode?: Inode;
  readonly appliedIndex?: number;
}

export interface TxPrepareRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly txId: TxIdWire;
  readonly attemptTerm: number;
  readonly attemptN: number;
  /** The coordinator's home partition (peers included). */
  readonly coordinator: TxRoute;
  readonly fsId: number;
  /** The group's part (msgpack). */
  readonly part: Uint8Array;
}

export interface TxPrepareResponse {
  readonly statusCode: MetaStatusCode;
  /** The intent's stamp: the log index of the entry that recorded it. */
  readonly stamp?: number;
  readonly appliedIndex?: number;
  /** A part that creates an inode: the inode as it will be. */
  readonly inode?: Inode;
}

export interface TxResolveRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly txId: TxIdWire;
  readonly commit: boolean;
  readonly stamp?: number;
  readonly attemptTerm?: number;
  readonly attemptN?: number;
}

export interface TxResolveResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface TxStatusRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly txId: TxIdWire;
  readonly stamp: number;
  readonly attemptTerm: number;
  readonly attemptN: number;
  readonly askerPoolId: number;
  readonly askerCopysetId: number;
}

export interface TxStatusResponse {
  readonly statusCode: MetaStatusCode;
  readonly state?: TxState;
}
