/** Inode calls: CreateRootInode, CreateManageInode, CreateInode, GetInode, UpdateInode, DeleteInode, BatchGet*. */
import { FsFileType, FIRST_ALLOCATABLE_INODE_ID, isFsFileType, ManageInodeType, PartitionStatus, RECYCLE_DIRECTORY_NAME, RECYCLE_INODE_ID, ROOT_INODE_ID } from '../metastore/types.ts';
import type { Inode, PartitionInfo, Time, XAttr } from '../metastore/types.ts';
import { deltaLock, linksLock, sealLock } from '../metastore/tx-records.ts';
import { answer, blocked, checkPartition, lockedBy, newBuilder, status, timeOf, write } from './call-context.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import type { WriteBuilder } from './write-builder.ts';
import type * as R from './requests.ts';
import { InodeOpenStatusChange } from './requests.ts';
import { MetaStatusCode } from './status.ts';
import { isIdList, isOptionalU32, isOptionalU64, isTime, isU32, isU64, isValidSymlink, isValidXattr, MAX_BATCH_GET_IDS, MAX_INODE_PARENTS } from './validate.ts';

const PARAM_ERROR = MetaStatusCode.PARAM_ERROR;
const NLINK_DIRECTORY = 2;
const NLINK_OTHER = 1;

interface NewInodeFields {
  readonly inodeId: number;
  readonly fsId: number;
  readonly type: FsFileType;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly length: number;
  readonly parent: readonly number[];
  readonly time: Time;
  readonly rdev?: number | undefined;
  readonly symlink?: string | undefined;
}

export function newInode(fields: NewInodeFields): Inode {
  const { sec, nsec } = fields.time;
  return {
    inodeId: fields.inodeId,
    fsId: fields.fsId,
    length: fields.length,
    ctime: sec,
    ctime_ns: nsec,
    mtime: sec,
    mtime_ns: nsec,
    atime: sec,
    atime_ns: nsec,
    uid: fields.uid,
    gid: fields.gid,
    mode: fields.mode,
    nlink: fields.type === FsFileType.TYPE_DIRECTORY ? NLINK_DIRECTORY : NLINK_OTHER,
    type: fields.type,
    symlink: fields.symlink,
    rdev: fields.rdev,
    dtime: undefined,
    openmpcount: undefined,
    xattr: {},
    parent: fields.parent,
  };
}

/**
 * Why the partition cannot give a new inode its next id now (PARTITION_ALLOC_ID_FAIL:
 * read-only or exhausted; INODE_EXIST: the id is taken), or undefined when it can.
 */
export function inodeAllocationRefusal(builder: WriteBuilder, info: PartitionInfo): MetaStatusCode | undefined {
  const nextId = nextInodeIdOf(info);
  if (info.status === PartitionStatus.READONLY || nextId > info.end) return MetaStatusCode.PARTITION_ALLOC_ID_FAIL;
  if (builder.inode(info.partitionId, nextId) !== undefined) return MetaStatusCode.INODE_EXIST;
  return undefined;
}

/** The id the partition's next new inode gets. */
export function nextInodeIdOf(info: PartitionInfo): number {
  return info.nextId ?? Math.max(FIRST_ALLOCATABLE_INODE_ID, info.start);
}

/** Moves the partition past `inodeId`: its last id turns it read-only in the same entry (CurveFS: PARTITION_ALLOC_ID_FAIL then). */
export function advancePastInode(builder: WriteBuilder, info: PartitionInfo, inodeId: number): void {
  builder.putPartition(info, inodeId + 1, inodeId + 1 > info.end ? PartitionStatus.READONLY : info.status);
}

function hasOwner(request: { fsId: unknown; uid: unknown; gid: unknown; mode: unknown }): boolean {
  return isU32(request.fsId) && isU32(request.uid) && isU32(request.gid) && isU32(request.mode);
}

export function createRootInode(context: CallContext, request: R.CreateRootInodeRequest): CallOutcome<R.CreateRootInodeResponse> {
  if (!isU32(request.partitionId) || !hasOwner(request) || (request.create !== undefined && !isTime(request.create))) return status(PARAM_ERROR);
  const builder = newBuilder(context);
  const failed = checkPartition(builder.partition(request.partitionId), request.fsId, ROOT_INODE_ID);
  if (failed !== undefined) return status(failed);
  if (builder.inode(request.partitionId, ROOT_INODE_ID) !== undefined) return status(MetaStatusCode.INODE_EXIST);
  const time = timeOf(context, request.create);
  builder.putInode(request.partitionId, newInode({ ...request, inodeId: ROOT_INODE_ID, type: FsFileType.TYPE_DIRECTORY, length: 0, parent: [], time }));
  return write(builder, { statusCode: MetaStatusCode.OK });
}

export function createManageInode(context: CallContext, request: R.CreateManageInodeRequest): CallOutcome<R.CreateManageInodeResponse> {
  if (!isU32(request.partitionId) || !hasOwner(request)) return status(PARAM_ERROR);
  if (request.manageType !== ManageInodeType.TYPE_RECYCLE) return status(PARAM_ERROR);
  const builder = newBuilder(context);
  const info = builder.partition(request.partitionId);
  // The recycle inode and its entry under the root live in the same partition.
  const failed = checkPartition(info, request.fsId, RECYCLE_INODE_ID) ?? checkPartition(info, request.fsId, ROOT_INODE_ID);
  if (failed !== undefined) return status(failed);
  const partitionId = request.partitionId;
  if (builder.inode(partitionId, RECYCLE_INODE_ID) !== undefined) return status(MetaStatusCode.INODE_EXIST);
  const root = builder.inode(partitionId, ROOT_INODE_ID);
  if (root === undefined) return status(MetaStatusCode.NOT_FOUND);
  if (builder.dentry(partitionId, ROOT_INODE_ID, RECYCLE_DIRECTORY_NAME) !== undefined) return status(MetaStatusCode.DENTRY_EXIST);
  const time = context.clock();
  const inode = newInode({ ...request, inodeId: RECYCLE_INODE_ID, type: FsFileType.TYPE_DIRECTORY, length: 0, parent: [ROOT_INODE_ID], time });
  builder.putInode(partitionId, inode);
  builder.putDentry(partitionId, {
    fsId: request.fsId,
    inodeId: RECYCLE_INODE_ID,
    parentInodeId: ROOT_INODE_ID,
    name: RECYCLE_DIRECTORY_NAME,
    type: FsFileType.TYPE_DIRECTORY,
  });
  builder.putInode(partitionId, { ...root, nlink: root.nlink + 1, mtime: time.sec, mtime_ns: time.nsec, ctime: time.sec, ctime_ns: time.nsec });
  return write(builder, { statusCode: MetaStatusCode.OK, inode });
}

export function createInode(context: CallContext, request: R.CreateInodeRequest): CallOutcome<R.CreateInodeResponse> {
  if (!isU32(request.partitionId) || !hasOwner(request) || !isU64(request.length) || !isU64(request.parent)) return status(PARAM_ERROR);
  if (!isFsFileType(request.type) || !isOptionalU64(request.rdev) || (request.create !== undefined && !isTime(request.create))) return status(PARAM_ERROR);
  const builder = newBuilder(context);
  const info = builder.partition(request.partitionId);
  const failed = checkPartition(info, request.fsId);
  if (failed !== undefined) return status(failed);
  let symlink: string | undefined;
  if (request.type === FsFileType.TYPE_SYM_LINK) {
    if (request.symlink === undefined || request.symlink === '') return status(MetaStatusCode.SYM_LINK_EMPTY);
    if (!isValidSymlink(request.symlink)) return status(PARAM_ERROR);
    symlink = request.symlink;
  }
  const refused = inodeAllocationRefusal(builder, info!);
  if (refused !== undefined) return status(refused);
  const nextId = nextInodeIdOf(info!);
  const time = timeOf(context, request.create);
  // Fields listed, not spread from the request: a create's hot path (see WriteBuilder.putPartition).
  const inode = newInode({
    inodeId: nextId,
    fsId: request.fsId,
    type: request.type,
    uid: request.uid,
    gid: request.gid,
    mode: request.mode,
    length: request.length,
    parent: [request.parent],
    rdev: request.rdev ?? undefined,
    symlink,
    time,
  });
  builder.putInode(request.partitionId, inode);
  advancePastInode(builder, info!, nextId);
  return write(builder, { statusCode: MetaStatusCode.OK, inode });
}

export function getInode(context: CallContext, request: R.GetInodeRequest): CallOutcome<R.GetInodeResponse> {
  if (!isU32(request.partitionId) || !isU32(request.fsId) || !isU64(request.inodeId)) return status(PARAM_ERROR);
  const failed = checkPartition(context.store.partitionInfoRaw(request.partitionId), request.fsId, request.inodeId);
  if (failed !== undefined) return status(failed);
  const holder = lockedBy(context, false, () => inodeLocks(request.partitionId, request.inodeId));
  if (holder !== undefined) return blocked(holder);
  const inode = context.store.getInode(request.partitionId, request.inodeId);
  if (inode === undefined) return status(MetaStatusCode.NOT_FOUND);
  return answer({ statusCode: MetaStatusCode.OK, inode });
}

function isValidUpdate(request: R.UpdateInodeRequest): boolean {
  const { length, ctime, mtime, atime, ctime_ns, mtime_ns, atime_ns, uid, gid, mode, nlink } = request;
  if (![length, ctime, mtime, atime].every(isOptionalU64)) return false;
  if (![ctime_ns, mtime_ns, atime_ns, uid, gid, mode, nlink].every(isOptionalU32)) return false;
  const open = request.inodeOpenStatusChange;
  if (open !== undefined && open !== null && open !== 0 && open !== 1 && open !== 2) return false;
  if (request.xattr !== undefined && request.xattr !== null && !isValidXattr(request.xattr)) return false;
  if (request.parent !== undefined && request.parent !== null && !isIdList(request.parent, MAX_INODE_PARENTS)) return false;
  return true;
}

/** Every field present overwrites; a non-empty parent list or xattr map replaces the old one. */
export function updateInode(context: CallContext, request: R.UpdateInodeRequest): CallOutcome<R.UpdateInodeResponse> {
  if (!isU32(request.partitionId) || !isU32(request.fsId) || !isU64(request.inodeId) || !isValidUpdate(request)) return status(PARAM_ERROR);
  const builder = newBuilder(context);
  const failed = checkPartition(builder.partition(request.partitionId), request.fsId, request.inodeId);
  if (failed !== undefined) return status(failed);
  // Link counts and parent lists belong to a prepared tx until it resolves (§10); other fields do not.
  const touchesLinks = (request.nlink !== undefined && request.nlink !== null) || (request.parent !== undefined && request.parent !== null && request.parent.length > 0);
  const holder = touchesLinks ? lockedBy(context, true, () => inodeLocks(request.partitionId, request.inodeId)) : undefined;
  if (holder !== undefined) return blocked(holder);
  const old = builder.inode(request.partitionId, request.inodeId);
  if (old === undefined) return status(MetaStatusCode.NOT_FOUND);
  const updated: { -readonly [K in keyof Inode]: Inode[K] } = { ...old };
  for (const field of ['length', 'ctime', 'ctime_ns', 'mtime', 'mtime_ns', 'atime', 'atime_ns', 'uid', 'gid', 'mode', 'nlink'] as const) {
    const value = request[field];
    if (value !== undefined && value !== null) updated[field] = value;
  }
  if (request.xattr && Object.keys(request.xattr).length > 0) updated.xattr = { ...request.xattr };
  if (request.parent && request.parent.length > 0) updated.parent = [...request.parent];
  if (request.inodeOpenStatusChange === InodeOpenStatusChange.OPEN) updated.openmpcount = (old.openmpcount ?? 0) + 1;
  if (request.inodeOpenStatusChange === InodeOpenStatusChange.CLOSE) updated.openmpcount = Math.max(0, (old.openmpcount ?? 0) - 1);
  // nlink reaching 0 starts the trash clock (curve-facts.md, "Deleting files").
  if (old.nlink !== 0 && updated.nlink === 0) updated.dtime = context.clock().sec;
  builder.putInode(request.partitionId, updated);
  return write(builder, { statusCode: MetaStatusCode.OK });
}

/** Removes an inode; a missing one is OK (idempotent, so the trash may retry). */
export function deleteInode(context: CallContext, request: R.DeleteInodeRequest): CallOutcome<R.DeleteInodeResponse> {
  if (!isU32(request.partitionId) || !isU32(request.fsId) || !isU64(request.inodeId)) return status(PARAM_ERROR);
  const builder = newBuilder(context);
  const failed = checkPartition(builder.partition(request.partitionId), request.fsId, request.inodeId);
  if (failed !== undefined) return status(failed);
  const holder = lockedBy(context, true, () => inodeLocks(request.partitionId, request.inodeId));
  if (holder !== undefined) return blocked(holder);
  if (builder.inode(request.partitionId, request.inodeId) === undefined) return status(MetaStatusCode.OK);
  builder.deleteInode(request.partitionId, request.fsId, request.inodeId);
  return write(builder, { statusCode: MetaStatusCode.OK });
}

/** Every lock a prepared tx may hold on an inode. */
function inodeLocks(partitionId: number, inodeId: number): string[] {
  return [linksLock(partitionId, inodeId), deltaLock(partitionId, inodeId), sealLock(partitionId, inodeId)];
}

/** Looks up every id, all or nothing: the first failure answers alone. */
function batchGet<T>(context: CallContext, request: R.BatchGetInodeAttrRequest, map: (inode: Inode) => T): { statusCode: MetaStatusCode; items: T[] } | { holder: string } {
  if (!isU32(request.partitionId) || !isU32(request.fsId) || !isIdList(request.inodeId, MAX_BATCH_GET_IDS)) return { statusCode: PARAM_ERROR, items: [] };
  const info = context.store.partitionInfoRaw(request.partitionId);
  const failed = checkPartition(info, request.fsId);
  if (failed !== undefined) return { statusCode: failed, items: [] };
  const items: T[] = [];
  for (const inodeId of request.inodeId) {
    const idFailed = checkPartition(info, request.fsId, inodeId);
    if (idFailed !== undefined) return { statusCode: idFailed, items: [] };
    const holder = lockedBy(context, false, () => inodeLocks(request.partitionId, inodeId));
    if (holder !== undefined) return { holder };
    const inode = context.store.getInode(request.partitionId, inodeId);
    if (inode === undefined) return { statusCode: MetaStatusCode.NOT_FOUND, items: [] };
    items.push(map(inode));
  }
  return { statusCode: MetaStatusCode.OK, items };
}

export function batchGetInodeAttr(context: CallContext, request: R.BatchGetInodeAttrRequest): CallOutcome<R.BatchGetInodeAttrResponse> {
  const result = batchGet(context, request, (inode) => inode);
  if ('holder' in result) return blocked(result.holder);
  return answer({ statusCode: result.statusCode, attr: result.items });
}

export function batchGetXAttr(context: CallContext, request: R.BatchGetXAttrRequest): CallOutcome<R.BatchGetXAttrResponse> {
  const result = batchGet(context, request, (inode): XAttr => ({ inodeId: inode.inodeId, fsId: inode.fsId, xAttrInfos: inode.xattr }));
  if ('holder' in result) return blocked(result.holder);
  return answer({ statusCode: result.statusCode, xattr: result.items });
}
