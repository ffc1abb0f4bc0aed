/**
 * TypeScript shapes of package `curvefs.metaserver` (proto/curvefs/metaserver.proto),
 * as the codecs decode them: 64-bit integers as safe numbers, bytes as Uint8Array, map
 * fields as Maps, repeated fields as arrays (empty when absent), absent optional
 * fields absent. Field names are the .proto names (hence `ctime_ns`).
 * test/proto/wire.test.ts holds them to the .proto files.
 */

import type { PartitionInfo } from './common-types.ts';

export const MetaStatusCode = {
  OK: 0,
  UNKNOWN_ERROR: 1,
  PARAM_ERROR: 2,
  NOT_FOUND: 3,
  INODE_EXIST: 4,
  DENTRY_EXIST: 5,
  SYM_LINK_EMPTY: 6,
  RPC_ERROR: 7,
  COPYSET_NOTEXIST: 8,
  REDIRECTED: 9,
  OVERLOAD: 10,
  TARGET_DIRECTORY_EXIST: 11,
  HANDLE_PENDING_TX_FAILED: 12,
  HANDLE_TX_FAILED: 13,
  PARTITION_NOT_FOUND: 14,
  PARTITION_EXIST: 15,
  PARTITION_DELETING: 16,
  PARTITION_ALLOC_ID_FAIL: 17,
  SAVE_META_FAIL: 18,
  S3_DELETE_ERR: 19,
  PARTITION_ID_MISSMATCH: 20,
  IDEMPOTENCE_OK: 21,
  SERIALIZE_TO_STRING_FAILED: 22,
  PARSE_FROM_STRING_FAILED: 23,
  STORAGE_INTERNAL_ERROR: 24,
  RPC_STREAM_ERROR: 25,
  INODE_S3_META_TOO_LARGE: 26,
  STORAGE_CLOSED: 27,
  TX_FAILED: 28,
  TX_WRITE_CONFLICT: 29,
  TX_KEY_LOCKED: 30,
  TX_COMMITTED: 31,
  TX_ROLLBACKED: 32,
  TX_TIMEOUT: 33,
  TX_INPROGRESS: 34,
  TX_MISMATCH: 35,
} as const;
export type MetaStatusCode = (typeof MetaStatusCode)[keyof typeof MetaStatusCode];

/** Bits of Dentry.flag. */
export const DentryFlag = {
  TYPE_FILE_FLAG: 1,
  DELETE_MARK_FLAG: 2,
  TRANSACTION_PREPARE_FLAG: 4,
} as const;
export type DentryFlag = (typeof DentryFlag)[keyof typeof DentryFlag];

export const FsFileType = {
  TYPE_DIRECTORY: 1,
  TYPE_FILE: 2,
  TYPE_SYM_LINK: 3,
  TYPE_S3: 4,
} as const;
export type FsFileType = (typeof FsFileType)[keyof typeof FsFileType];

export const ManageInodeType = {
  TYPE_NOT_MANAGE: 0,
  TYPE_RECYCLE: 1,
} as const;
export type ManageInodeType = (typeof ManageInodeType)[keyof typeof ManageInodeType];

export interface Time {
  readonly sec: number;
  readonly nsec: number;
}

// ---- dentries ----

export interface Dentry {
  readonly fsId: number;
  readonly inodeId: number;
  readonly parentInodeId: number;
  readonly name: string;
  readonly txId?: number;
  /** DentryFlag bits. */
  readonly flag?: number;
  readonly type?: FsFileType;
  readonly txSequence?: number;
}

export interface GetDentryRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly parentInodeId: number;
  readonly name: string;
  readonly txId?: number;
  readonly appliedIndex?: number;
}

export interface GetDentryResponse {
  readonly statusCode: MetaStatusCode;
  readonly dentry?: Dentry;
  readonly appliedIndex?: number;
}

export interface ListDentryRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly dirInodeId: number;
  readonly txId?: number;
  /** List names after this one (exclusive). */
  readonly last?: string;
  /** At most this many entries; 0 means all. */
  readonly count?: number;
  readonly onlyDir?: boolean;
  readonly appliedIndex?: number;
}

export interface ListDentryResponse {
  readonly statusCode: MetaStatusCode;
  readonly dentrys: readonly Dentry[];
  readonly appliedIndex?: number;
}

export interface CreateDentryRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly dentry: Dentry;
  readonly create?: Time;
}

export interface CreateDentryResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface DeleteDentryRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly txId?: number;
  readonly parentInodeId: number;
  readonly name: string;
  readonly type?: FsFileType;
  readonly create?: Time;
}

export interface DeleteDentryResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface PrepareRenameTxRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly dentrys: readonly Dentry[];
}

export interface PrepareRenameTxResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

// ---- inodes ----

export interface Inode {
  readonly inodeId: number;
  readonly fsId: number;
  readonly length: number;
  readonly ctime: number;
  readonly ctime_ns: number;
  readonly mtime: number;
  readonly mtime_ns: number;
  readonly atime: number;
  readonly atime_ns: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly nlink: number;
  readonly type: FsFileType;
  readonly symlink?: string;
  readonly rdev?: number;
  readonly dtime?: number;
  readonly openmpcount?: number;
  readonly xattr: ReadonlyMap<string, Uint8Array>;
  readonly parent: readonly number[];
}

export interface GetInodeRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly inodeId: number;
  readonly appliedIndex?: number;
  readonly supportStreaming?: boolean;
}

export interface GetInodeResponse {
  readonly statusCode: MetaStatusCode;
  readonly inode?: Inode;
  readonly appliedIndex?: number;
  readonly streaming?: boolean;
}

export interface CreateInodeRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly length: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly type: FsFileType;
  readonly parent: number;
  readonly rdev?: number;
  readonly symlink?: string;
  readonly create?: Time;
}

export interface CreateInodeResponse {
  readonly statusCode: MetaStatusCode;
  readonly inode?: Inode;
  readonly appliedIndex?: number;
}

export interface CreateRootInodeRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly create?: Time;
}

export interface CreateRootInodeResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface CreateManageInodeRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly manageType: ManageInodeType;
}

export interface CreateManageInodeResponse {
  readonly statusCode: MetaStatusCode;
  readonly inode?: Inode;
  readonly appliedIndex?: number;
}

export interface UpdateInodeRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly inodeId: number;
  readonly length?: number;
  readonly ctime?: number;
  readonly ctime_ns?: number;
  readonly mtime?: number;
  readonly mtime_ns?: number;
  readonly atime?: number;
  readonly atime_ns?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
  readonly nlink?: number;
  /** Non-empty: replaces the inode's map. */
  readonly xattr: ReadonlyMap<string, Uint8Array>;
  /** Non-empty: replaces the inode's parent list. */
  readonly parent: readonly number[];
}

export interface UpdateInodeResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface DeleteInodeRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly inodeId: number;
}

export interface DeleteInodeResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface InodeAttr {
  readonly inodeId: number;
  readonly fsId: number;
  readonly length: number;
  readonly ctime: number;
  readonly ctime_ns: number;
  readonly mtime: number;
  readonly mtime_ns: number;
  readonly atime: number;
  readonly atime_ns: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly nlink: number;
  readonly type: FsFileType;
  readonly symlink?: string;
  readonly rdev?: number;
  /** uint32 here, unlike Inode.dtime (uint64): as in CurveFS. */
  readonly dtime?: number;
  readonly openmpcount?: number;
  readonly xattr: ReadonlyMap<string, Uint8Array>;
  readonly parent: readonly number[];
}

export interface BatchGetInodeAttrRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly inodeId: readonly number[];
  readonly appliedIndex?: number;
}

export interface BatchGetInodeAttrResponse {
  readonly statusCode: MetaStatusCode;
  readonly attr: readonly InodeAttr[];
  readonly appliedIndex?: number;
}

export interface XAttr {
  readonly inodeId: number;
  readonly fsId: number;
  readonly xAttrInfos: ReadonlyMap<string, Uint8Array>;
}

export interface BatchGetXAttrRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly fsId: number;
  readonly inodeId: readonly number[];
  readonly appliedIndex?: number;
}

export interface BatchGetXAttrResponse {
  readonly statusCode: MetaStatusCode;
  readonly xattr: readonly XAttr[];
  readonly appliedIndex?: number;
}

// ---- partitions ----

export interface CreatePartitionRequest {
  readonly partition: PartitionInfo;
}

export interface CreatePartitionResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}

export interface DeletePartitionRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
}

export interface DeletePartitionResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}
