/**
 * The MetaServerService requests and responses the executor takes and returns: plain
 * objects shaped like the CurveFS messages (docs/wire.md), as a protobuf decoder would
 * produce them. Fields marked required on the wire are typed required here but are
 * still checked at run time: a request comes from outside.
 *
 * Two additions of metaraft's own: `Rename` (an atomic rename whose source and
 * destination live in partitions of one copyset) and `ReclaimPartition` (the leader's
 * background step that deletes a DELETING partition's entries through the log).
 */
import type { Dentry, FsFileType, Inode, InodeAttr, ManageInodeType, PartitionInfo, Time, XAttr, XAttrMap } from '../metastore/types.ts';
import type { MetaStatusCode } from './status.ts';

interface Routed {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
}

interface Answer {
  statusCode: MetaStatusCode;
  /** The Raft index at which the answer holds (for a write: the index of its entry). */
  appliedIndex?: number;
}

export interface GetDentryRequest extends Routed {
  readonly fsId: number;
  readonly parentInodeId: number;
  readonly name: string;
  readonly txId?: number;
  readonly appliedIndex?: number;
}
export interface GetDentryResponse extends Answer {
  dentry?: Dentry;
}

export interface ListDentryRequest extends Routed {
  readonly fsId: number;
  readonly dirInodeId: number;
  readonly txId?: number;
  readonly last?: string;
  readonly count?: number;
  readonly onlyDir?: boolean;
  readonly appliedIndex?: number;
}
export interface ListDentryResponse extends Answer {
  dentrys: Dentry[];
}

export interface CreateDentryRequest extends Routed {
  readonly dentry: Dentry;
  readonly create?: Time;
}
export type CreateDentryResponse = Answer;

export interface DeleteDentryRequest extends Routed {
  readonly fsId: number;
  readonly txId?: number;
  readonly parentInodeId: number;
  readonly name: string;
  readonly type?: FsFileType;
  readonly create?: Time;
}
export type DeleteDentryResponse = Answer;

export interface GetInodeRequest extends Routed {
  readonly fsId: number;
  readonly inodeId: number;
  readonly appliedIndex?: number;
  readonly supportStreaming?: boolean;
}
export interface GetInodeResponse extends Answer {
  inode?: Inode;
  streaming?: boolean;
}

export interface CreateInodeRequest extends Routed {
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
export interface CreateInodeResponse extends Answer {
  inode?: Inode;
}

export interface CreateRootInodeRequest extends Routed {
  readonly fsId: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly create?: Time;
}
export type CreateRootInodeResponse = Answer;

export interface CreateManageInodeRequest extends Routed {
  readonly fsId: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly manageType: ManageInodeType;
}
export interface CreateManageInodeResponse extends Answer {
  inode?: Inode;
}

/** CurveFS's InodeOpenStatusChange (UpdateInodeRequest field 19): NOCHANGE, OPEN, CLOSE. */
export const InodeOpenStatusChange = { NOCHANGE: 0, OPEN: 1, CLOSE: 2 } as const;
export type InodeOpenStatusChange = (typeof InodeOpenStatusChange)[keyof typeof InodeOpenStatusChange];

export interface UpdateInodeRequest extends Routed {
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
  /** Field 19 in CurveFS: counts mounts holding the file open (openmpcount). */
  readonly inodeOpenStatusChange?: InodeOpenStatusChange;
  readonly xattr?: XAttrMap;
  readonly parent?: readonly number[];
}
export type UpdateInodeResponse = Answer;

export interface DeleteInodeRequest extends Routed {
  readonly fsId: number;
  readonly inodeId: number;
}
export type DeleteInodeResponse = Answer;

export interface BatchGetInodeAttrRequest extends Routed {
  readonly fsId: number;
  readonly inodeId: readonly number[];
  readonly appliedIndex?: number;
}
export interface BatchGetInodeAttrResponse extends Answer {
  attr: InodeAttr[];
}

export interface BatchGetXAttrRequest extends Routed {
  readonly fsId: number;
  readonly inodeId: readonly number[];
  readonly appliedIndex?: number;
}
export interface BatchGetXAttrResponse extends Answer {
  xattr: XAttr[];
}

export interface CreatePartitionRequest {
  readonly partition: PartitionInfo;
}
export type CreatePartitionResponse = Answer;

export interface DeletePartitionRequest extends Routed {}
export type DeletePartitionResponse = Answer;

/**
 * metaraft's rename inside one copyset: moves `srcParentInodeId/srcName` to
 * `dstParentInodeId/dstName` in one log entry. Each parent's dentries live in its own
 * partition (`srcPartitionId`, `dstPartitionId`); the renamed and any replaced inode
 * must live in partitions of this copyset too.
 */
export interface RenameRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly srcPartitionId: number;
  readonly srcParentInodeId: number;
  readonly srcName: string;
  readonly dstPartitionId: number;
  readonly dstParentInodeId: number;
  readonly dstName: string;
  readonly create?: Time;
}
export type RenameResponse = Answer;

/** The leader's background step for a DELETING partition: delete up to `maxRecords` of its entries. */
export interface ReclaimPartitionRequest {
  readonly partitionId: number;
  readonly maxRecords?: number;
}
export interface ReclaimPartitionResponse extends Answer {
  /** Records this step deletes; 0 when nothing is left. */
  deleted: number;
}

/** Every call the executor serves: method name → [request, response]. */
export interface MetaMethods {
  GetDentry: [GetDentryRequest, GetDentryResponse];
  ListDentry: [ListDentryRequest, ListDentryResponse];
  CreateDentry: [CreateDentryRequest, CreateDentryResponse];
  DeleteDentry: [DeleteDentryRequest, DeleteDentryResponse];
  GetInode: [GetInodeRequest, GetInodeResponse];
  CreateInode: [CreateInodeRequest, CreateInodeResponse];
  CreateRootInode: [CreateRootInodeRequest, CreateRootInodeResponse];
  CreateManageInode: [CreateManageInodeRequest, CreateManageInodeResponse];
  UpdateInode: [UpdateInodeRequest, UpdateInodeResponse];
  DeleteInode: [DeleteInodeRequest, DeleteInodeResponse];
  BatchGetInodeAttr: [BatchGetInodeAttrRequest, BatchGetInodeAttrResponse];
  BatchGetXAttr: [BatchGetXAttrRequest, BatchGetXAttrResponse];
  CreatePartition: [CreatePartitionRequest, CreatePartitionResponse];
  DeletePartition: [DeletePartitionRequest, DeletePartitionResponse];
  Rename: [RenameRequest, RenameResponse];
  ReclaimPartition: [ReclaimPartitionRequest, ReclaimPartitionResponse];
}
export type MetaMethod = keyof MetaMethods;
export type RequestOf<M extends MetaMethod> = MetaMethods[M][0];
export type ResponseOf<M extends MetaMethod> = MetaMethods[M][1];
