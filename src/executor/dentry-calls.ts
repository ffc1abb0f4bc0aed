/** Dentry calls: CreateDentry, DeleteDentry, GetDentry, ListDentry. */
import { FsFileType, isFsFileType } from '../metastore/types.ts';
import type { Dentry, Inode, Time } from '../metastore/types.ts';
import { nameLock, sealLock, underLock } from '../metastore/tx-records.ts';
import { answer, blocked, checkPartition, lockedBy, newBuilder, status, timeOf, write } from './call-context.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import type * as R from './requests.ts';
import { MetaStatusCode } from './status.ts';
import { isOptionalU32, isOptionalU64, isTime, isU32, isU64, isValidName } from './validate.ts';

const PARAM_ERROR = MetaStatusCode.PARAM_ERROR;

function isValidDentry(dentry: Dentry | undefined): dentry is Dentry {
  if (typeof dentry !== 'object' || dentry === null) return false;
  const { fsId, inodeId, parentInodeId, name, txId, flag, type, txSequence } = dentry;
  if (!isU32(fsId) || !isU64(inodeId) || !isU64(parentInodeId) || !isValidName(name)) return false;
  if (!isOptionalU64(txId) || !isOptionalU32(flag) || !isOptionalU64(txSequence)) return false;
  return type === undefined || type === null || isFsFileType(type);
}

/** The parent's change when an entry comes or goes: nlink ± 1 for a directory, mtime/ctime := time. */
export function touchParent(parent: Inode, nlinkDelta: number, time: Time): Inode {
  return {
    ...parent,
    nlink: Math.max(0, parent.nlink + nlinkDelta),
    mtime: time.sec,
    mtime_ns: time.nsec,
    ctime: time.sec,
    ctime_ns: time.nsec,
  };
}

export function createDentry(context: CallContext, request: R.CreateDentryRequest): CallOutcome<R.CreateDentryResponse> {
  const dentry = request.dentry;
  if (!isU32(request.partitionId) || !isValidDentry(dentry) || (request.create !== undefined && !isTime(request.create))) return status(PARAM_ERROR);
  const partitionId = request.partitionId;
  const builder = newBuilder(context);
  const failed = checkPartition(builder.partition(partitionId), dentry.fsId, dentry.parentInodeId);
  if (failed !== undefined) return status(failed);
  const holder = lockedBy(context, true, () => [nameLock(partitionId, dentry.parentInodeId, dentry.name), sealLock(partitionId, dentry.parentInodeId)]);
  if (holder !== undefined) return blocked(holder);
  const existing = builder.dentry(partitionId, dentry.parentInodeId, dentry.name);
  if (existing !== undefined) return status(existing.inodeId === dentry.inodeId ? MetaStatusCode.OK : MetaStatusCode.DENTRY_EXIST);
  // The parent lives with its entries (docs/wire.md, "Placement").
  const parent = builder.inode(partitionId, dentry.parentInodeId);
  // A removed directory (nlink 0, waiting in the trash) takes no new entries: ENOENT.
  if (parent === undefined || parent.nlink === 0) return status(MetaStatusCode.NOT_FOUND);
  if (parent.type !== FsFileType.TYPE_DIRECTORY) return status(PARAM_ERROR);
  builder.putDentry(partitionId, {
    fsId: dentry.fsId,
    inodeId: dentry.inodeId,
    parentInodeId: dentry.parentInodeId,
    name: dentry.name,
    type: dentry.type ?? undefined,
    flag: dentry.flag ?? undefined,
    txId: dentry.txId ?? undefined,
    txSequence: dentry.txSequence ?? undefined,
  });
  if (dentry.type !== undefined && dentry.type !== null) {
    const delta = dentry.type === FsFileType.TYPE_DIRECTORY ? 1 : 0;
    builder.putInode(partitionId, touchParent(parent, delta, timeOf(context, request.create)));
  }
  return write(builder, { statusCode: MetaStatusCode.OK });
}

export function deleteDentry(context: CallContext, request: R.DeleteDentryRequest): CallOutcome<R.DeleteDentryResponse> {
  if (!isU32(request.partitionId) || !isU32(request.fsId) || !isU64(request.parentInodeId) || !isValidName(request.name)) return status(PARAM_ERROR);
  if ((request.type !== undefined && request.type !== null && !isFsFileType(request.type)) || (request.create !== undefined && !isTime(request.create))) {
    return status(PARAM_ERROR);
  }
  const partitionId = request.partitionId;
  const builder = newBuilder(context);
  const failed = checkPartition(builder.partition(partitionId), request.fsId, request.parentInodeId);
  if (failed !== undefined) return status(failed);
  const holder = lockedBy(context, true, () => [nameLock(partitionId, request.parentInodeId, request.name)]);
  if (holder !== undefined) return blocked(holder);
  const existing = builder.dentry(partitionId, request.parentInodeId, request.name);
  if (existing === undefined) return status(MetaStatusCode.NOT_FOUND);
  builder.deleteDentry(partitionId, request.fsId, request.parentInodeId, request.name);
  const type = existing.type ?? request.type ?? undefined;
  const parent = builder.inode(partitionId, request.parentInodeId);
  if (type !== undefined && parent !== undefined) {
    const delta = type === FsFileType.TYPE_DIRECTORY ? -1 : 0;
    builder.putInode(partitionId, touchParent(parent, delta, timeOf(context, request.create)));
  }
  return write(builder, { statusCode: MetaStatusCode.OK });
}

export function getDentry(context: CallContext, request: R.GetDentryRequest): CallOutcome<R.GetDentryResponse> {
  if (!isU32(request.partitionId) || !isU32(request.fsId) || !isU64(request.parentInodeId) || !isValidName(request.name)) return status(PARAM_ERROR);
  const failed = checkPartition(context.store.partitionInfoRaw(request.partitionId), request.fsId, request.parentInodeId);
  if (failed !== undefined) return status(failed);
  const holder = lockedBy(context, false, () => [nameLock(request.partitionId, request.parentInodeId, request.name)]);
  if (holder !== undefined) return blocked(holder);
  const dentry = context.store.getDentry(request.partitionId, request.parentInodeId, request.name);
  if (dentry === undefined) return status(MetaStatusCode.NOT_FOUND);
  return answer({ statusCode: MetaStatusCode.OK, dentry });
}

export function listDentry(context: CallContext, request: R.ListDentryRequest): CallOutcome<R.ListDentryResponse> {
  const { partitionId, fsId, dirInodeId, last, count, onlyDir } = request;
  const validLast = last === undefined || last === null || last === '' || isValidName(last);
  const validOnlyDir = onlyDir === undefined || onlyDir === null || typeof onlyDir === 'boolean';
  if (!isU32(partitionId) || !isU32(fsId) || !isU64(dirInodeId) || !validLast || !isOptionalU32(count) || !validOnlyDir) {
    return answer({ statusCode: PARAM_ERROR, dentrys: [] });
  }
  const failed = checkPartition(context.store.partitionInfoRaw(partitionId), fsId, dirInodeId);
  if (failed !== undefined) return answer({ statusCode: failed, dentrys: [] });
  const holder = lockedBy(context, false, () => [underLock(partitionId, dirInodeId)]);
  if (holder !== undefined) return blocked(holder);
  const after = last === undefined || last === null || last === '' ? undefined : last;
  const dentrys = context.store.listDentries(partitionId, dirInodeId, after, count ?? 0, onlyDir === true);
  return answer({ statusCode: MetaStatusCode.OK, dentrys });
}
