/**
 * TypeScript shapes of package `metaraft.raft` (proto/metaraft/raft.proto), as the
 * codecs decode them (proto3: absent scalars decode as 0, false, '' or empty bytes).
 * src/transport/raft-codec.ts converts them to and from the Raft core's own types.
 */

export const WireMessageType = {
  MESSAGE_TYPE_UNSPECIFIED: 0,
  MESSAGE_TYPE_APPEND: 1,
  MESSAGE_TYPE_APPEND_RESPONSE: 2,
  MESSAGE_TYPE_HEARTBEAT: 3,
  MESSAGE_TYPE_HEARTBEAT_RESPONSE: 4,
  MESSAGE_TYPE_PRE_VOTE: 5,
  MESSAGE_TYPE_PRE_VOTE_RESPONSE: 6,
  MESSAGE_TYPE_VOTE: 7,
  MESSAGE_TYPE_VOTE_RESPONSE: 8,
  MESSAGE_TYPE_SNAPSHOT: 9,
  MESSAGE_TYPE_SNAPSHOT_RESPONSE: 10,
  MESSAGE_TYPE_TIMEOUT_NOW: 11,
} as const;
/** The proto enum metaraft.raft.MessageType. */
export type WireMessageType = (typeof WireMessageType)[keyof typeof WireMessageType];

export const WireEntryType = {
  ENTRY_TYPE_UNSPECIFIED: 0,
  ENTRY_TYPE_NORMAL: 1,
  ENTRY_TYPE_CONFIG: 2,
} as const;
/** The proto enum metaraft.raft.EntryType. */
export type WireEntryType = (typeof WireEntryType)[keyof typeof WireEntryType];

export interface WireEntry {
  readonly term: number;
  readonly index: number;
  readonly type: WireEntryType;
  readonly data: Uint8Array;
}

export interface WireConfigState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  readonly epoch: number;
}

export interface WireSnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly config?: WireConfigState;
}

export interface WireSnapshot {
  readonly metadata?: WireSnapshotMetadata;
  readonly data: Uint8Array;
}

export interface WireMessage {
  readonly type: WireMessageType;
  readonly from: number;
  readonly to: number;
  readonly term: number;
  readonly log_term: number;
  readonly index: number;
  readonly entries: readonly WireEntry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly reject_hint: number;
  readonly snapshot?: WireSnapshot;
  readonly context: string;
}

export interface WireGroupMessage {
  readonly group_id: number;
  readonly message?: WireMessage;
}

export interface RaftBatch {
  readonly from_node: number;
  readonly to_node: number;
  readonly sequence: number;
  readonly messages: readonly WireGroupMessage[];
}

export interface RaftAck {
  readonly sequence: number;
}

export interface SnapshotChunk {
  readonly group_id: number;
  readonly from: number;
  readonly to: number;
  readonly term: number;
  /** On the first chunk at least. */
  readonly metadata?: WireSnapshotMetadata;
  /** Optional (empty): the core's opaque Snapshot.data, when the payload is a file. */
  readonly descriptor: Uint8Array;
  /** Byte offset of `data` in the payload. */
  readonly offset: number;
  readonly data: Uint8Array;
  readonly last: boolean;
  /** On the last chunk at least: crc32c of the whole payload. */
  readonly crc32c: number;
  /** Size of the whole payload. */
  readonly total_bytes: number;
}

export interface SnapshotAck {
  readonly group_id: number;
  readonly accepted: boolean;
  readonly bytes_received: number;
  readonly error: string;
}
