/**
 * The metastore's records in TypeScript, mirroring the CurveFS messages of the wire
 * contract (docs/wire.md): field names as in the protos, ids as safe-integer numbers,
 * u64 seconds as numbers, `map<string, bytes>` as a plain object.
 */

/** curvefs.metaserver.FsFileType */
export const FsFileType = {
  TYPE_DIRECTORY: 1,
  TYPE_FILE: 2,
  TYPE_SYM_LINK: 3,
  TYPE_S3: 4,
} as const;
export type FsFileType = (typeof FsFileType)[keyof typeof FsFileType];

export function isFsFileType(value: unknown): value is FsFileType {
  return value === 1 || value === 2 || value === 3 || value === 4;
}

/** curvefs.common.PartitionStatus */
export const PartitionStatus = {
  READWRITE: 1,
  READONLY: 2,
  DELETING: 3,
} as const;
export type PartitionStatus = (typeof PartitionStatus)[keyof typeof PartitionStatus];

export function isPartitionStatus(value: unknown): value is PartitionStatus {
  return value === 1 || value === 2 || value === 3;
}

/** curvefs.metaserver.DentryFlag (bit flags). */
export const DentryFlag = {
  TYPE_FILE_FLAG: 1,
  DELETE_MARK_FLAG: 2,
  TRANSACTION_PREPARE_FLAG: 4,
} as const;
/** Every defined DentryFlag bit. */
export const DENTRY_FLAG_MASK = 7;

/** curvefs.metaserver.ManageInodeType */
export const ManageInodeType = {
  TYPE_NOT_MANAGE: 0,
  TYPE_RECYCLE: 1,
} as const;
export type ManageInodeType = (typeof ManageInodeType)[keyof typeof ManageInodeType];

/** The well-known inode ids (docs/wire.md, "Placement"). */
export const ROOT_INODE_ID = 1;
export const RECYCLE_INODE_ID = 2;
export const RECYCLE_DIRECTORY_NAME = '.recycle';
/** The first id a partition hands out is max(FIRST_ALLOCATABLE_INODE_ID, start). */
export const FIRST_ALLOCATABLE_INODE_ID = 3;

/** curvefs.metaserver.Time */
export interface Time {
  readonly sec: number;
  readonly nsec: number;
}

/** An xattr map: name → value bytes. */
export type XAttrMap = Readonly<Record<string, Uint8Array>>;

/** curvefs.metaserver.Inode (S3 chunk and volume extent fields are out of scope). */
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
  readonly symlink?: string | undefined;
  readonly rdev?: number | undefined;
  readonly dtime?: number | undefined;
  readonly openmpcount?: number | undefined;
  readonly xattr: XAttrMap;
  readonly parent: readonly number[];
}

/** curvefs.metaserver.InodeAttr: an inode without its data layout. */
export type InodeAttr = Inode;

/** curvefs.metaserver.XAttr */
export interface XAttr {
  readonly inodeId: number;
  readonly fsId: number;
  readonly xAttrInfos: XAttrMap;
}

/** curvefs.metaserver.Dentry */
export interface Dentry {
  readonly fsId: number;
  readonly inodeId: number;
  readonly parentInodeId: number;
  readonly name: string;
  readonly txId?: number | undefined;
  readonly flag?: number | undefined;
  readonly type?: FsFileType | undefined;
  readonly txSequence?: number | undefined;
}

/**
 * What a dentry's value holds: everything but its key (fsId, parent, name), which the
 * record key carries already.
 */
export interface DentryValue {
  readonly inodeId: number;
  readonly type?: FsFileType | undefined;
  readonly flag?: number | undefined;
  readonly txId?: number | undefined;
  readonly txSequence?: number | undefined;
}

/**
 * curvefs.common.PartitionInfo. The counts (inodeNum, dentryNum, fileType2inodeNum) are
 * derived by the metastore from its maps, never stored in the log.
 */
export interface PartitionInfo {
  readonly fsId: number;
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly start: number;
  readonly end: number;
  readonly txId?: number | undefined;
  readonly nextId?: number | undefined;
  readonly status: PartitionStatus;
  readonly inodeNum?: number | undefined;
  readonly dentryNum?: number | undefined;
  readonly fileType2inodeNum?: Readonly<Record<number, number>> | undefined;
  readonly manageFlag?: boolean | undefined;
}
