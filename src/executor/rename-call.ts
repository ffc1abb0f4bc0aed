/**
 * Rename inside one copyset, atomic: every effect is one log entry, so every reader
 * sees the old or the new namespace, never a mix. POSIX semantics:
 *
 * | case | answer |
 * |---|---|
 * | source missing | NOT_FOUND |
 * | same name, or destination already the same inode | OK, nothing changes |
 * | a directory into itself or its own subtree | PARAM_ERROR (EINVAL) |
 * | the moved or the replaced inode held by another copyset | TX_FAILED (needs the cross-copyset protocol, docs/transactions.md) |
 * | a directory to a new parent, in a copyset that does not hold the root, or whose ancestors leave this copyset before the root | TX_FAILED (the same) |
 * | a directory to a new parent while a cross-copyset directory move holds the file system's lock | waits for it (§8) |
 * | a directory over a non-directory / a non-directory over a directory | PARAM_ERROR (ENOTDIR / EISDIR) |
 * | over a non-empty directory | TARGET_DIRECTORY_EXIST (ENOTEMPTY) |
 * | over a file | its nlink − 1 (dtime and trash at 0), its parent list loses the parent |
 * | over an empty directory | its nlink := 0, dtime, trash; the parent loses a subdirectory |
 *
 * The moved inode's ctime and parent list, the parents' nlink/mtime/ctime change in the
 * same entry. Everything the rename changes is in this copyset, or it is refused with
 * TX_FAILED and the caller uses metaraft.tx.TxService.
 */
import { FsFileType, ROOT_INODE_ID } from '../metastore/types.ts';
import type { Dentry, Inode, Time } from '../metastore/types.ts';
import { dirmoveLock, linksLock, nameLock, sealLock } from '../metastore/tx-records.ts';
import { blocked, checkPartition, inRange, lockedBy, newBuilder, status, timeOf, write } from './call-context.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import { touchParent } from './dentry-calls.ts';
import type * as R from './requests.ts';
import { MetaStatusCode } from './status.ts';
import { isTime, isU32, isU64, isValidName } from './validate.ts';
import type { WriteBuilder } from './write-builder.ts';

/** Ancestors walked when checking that a directory is not moved into its own subtree (deeper is refused). */
export const MAX_RENAME_ANCESTRY = 4096;

interface Located {
  readonly partitionId: number;
  readonly inode: Inode;
}

export function rename(context: CallContext, request: R.RenameRequest): CallOutcome<R.RenameResponse> {
  const { fsId, srcPartitionId, srcParentInodeId, srcName, dstPartitionId, dstParentInodeId, dstName } = request;
  if (!isU32(fsId) || !isU32(srcPartitionId) || !isU32(dstPartitionId) || !isU64(srcParentInodeId) || !isU64(dstParentInodeId)) {
    return status(MetaStatusCode.PARAM_ERROR);
  }
  if (!isValidName(srcName) || !isValidName(dstName) || (request.create !== undefined && !isTime(request.create))) return status(MetaStatusCode.PARAM_ERROR);
  const builder = newBuilder(context);
  const failed =
    checkPartition(builder.partition(srcPartitionId), fsId, srcParentInodeId) ?? checkPartition(builder.partition(dstPartitionId), fsId, dstParentInodeId);
  if (failed !== undefined) return status(failed);
  // The names first: a committed cross-copyset tx still resolving here may be about to set them.
  const namesHolder = lockedBy(context, true, () => [
    nameLock(srcPartitionId, srcParentInodeId, srcName),
    nameLock(dstPartitionId, dstParentInodeId, dstName),
    sealLock(dstPartitionId, dstParentInodeId),
  ]);
  if (namesHolder !== undefined) return blocked(namesHolder);
  const source = builder.dentry(srcPartitionId, srcParentInodeId, srcName);
  if (source === undefined) return status(MetaStatusCode.NOT_FOUND);
  if (srcParentInodeId === dstParentInodeId && srcName === dstName) return status(MetaStatusCode.OK);
  // POSIX: a destination directory that was removed is ENOENT.
  const destination = builder.inode(dstPartitionId, dstParentInodeId);
  if (destination !== undefined && destination.nlink === 0) return status(MetaStatusCode.NOT_FOUND);
  // An inode held by another copyset cannot join this entry: the cross-copyset protocol does it.
  if (!holds(context, builder, fsId, source.inodeId)) return status(MetaStatusCode.TX_FAILED);
  const moved = locate(context, builder, fsId, source.inodeId);
  const sourceIsDirectory = (source.type ?? moved?.inode.type) === FsFileType.TYPE_DIRECTORY;
  const target = builder.dentry(dstPartitionId, dstParentInodeId, dstName);
  if (target !== undefined && target.inodeId !== source.inodeId && !holds(context, builder, fsId, target.inodeId)) return status(MetaStatusCode.TX_FAILED);
  const replaced = target === undefined ? undefined : locate(context, builder, fsId, target.inodeId);
  if (target !== undefined) {
    if (target.inodeId === source.inodeId) return status(MetaStatusCode.OK);
    const refused = checkTarget(context, target, replaced, sourceIsDirectory);
    if (refused !== undefined) return status(refused);
  }
  if (sourceIsDirectory && srcParentInodeId !== dstParentInodeId) {
    // §8: a directory changes parent in one entry only in the copyset holding the root,
    // and only while no cross-copyset directory move holds the file system's lock.
    if (!holds(context, builder, fsId, ROOT_INODE_ID)) return status(MetaStatusCode.TX_FAILED);
    const holder = lockedBy(context, true, () => [dirmoveLock(fsId)]);
    if (holder !== undefined) return blocked(holder);
    const ancestry = destinationAncestry(context, builder, fsId, dstParentInodeId, source.inodeId);
    if (ancestry === 'inside') return status(MetaStatusCode.PARAM_ERROR);
    // The chain leaves this copyset: the move cannot be proven cycle-free here, so it is
    // refused; such moves need the cross-copyset protocol (docs/transactions.md).
    if (ancestry === 'unknown') return status(MetaStatusCode.TX_FAILED);
  }
  const holder = lockedBy(context, true, () => inodeLocks(source, moved, target, replaced));
  if (holder !== undefined) return blocked(holder);
  const time = timeOf(context, request.create);
  applyRename(context, builder, request, source, moved, target, replaced, sourceIsDirectory, time);
  return write(builder, { statusCode: MetaStatusCode.OK });
}

/**
 * The locks of a prepared cross-group tx on the inodes this rename changes (§10); the
 * names' locks were checked before the names were read, and parent deltas commute.
 */
function inodeLocks(source: Dentry, moved: Located | undefined, target: Dentry | undefined, replaced: Located | undefined): string[] {
  const locks: string[] = [];
  if (moved !== undefined) locks.push(linksLock(moved.partitionId, source.inodeId), sealLock(moved.partitionId, source.inodeId));
  if (target !== undefined && replaced !== undefined) locks.push(linksLock(replaced.partitionId, target.inodeId), sealLock(replaced.partitionId, target.inodeId));
  return locks;
}

function checkTarget(context: CallContext, target: Dentry, replaced: Located | undefined, sourceIsDirectory: boolean): MetaStatusCode | undefined {
  const targetIsDirectory = (target.type ?? replaced?.inode.type) === FsFileType.TYPE_DIRECTORY;
  if (sourceIsDirectory !== targetIsDirectory) return MetaStatusCode.PARAM_ERROR;
  if (!targetIsDirectory) return undefined;
  if (replaced === undefined) return MetaStatusCode.PARAM_ERROR;
  if (context.view.childCount(replaced.partitionId, target.inodeId) > 0) return MetaStatusCode.TARGET_DIRECTORY_EXIST;
  return undefined;
}

function applyRename(
  context: CallContext,
  builder: WriteBuilder,
  request: R.RenameRequest,
  source: Dentry,
  moved: Located | undefined,
  target: Dentry | undefined,
  replaced: Located | undefined,
  sourceIsDirectory: boolean,
  time: Time,
): void {
  const { fsId, srcPartitionId, srcParentInodeId, dstPartitionId, dstParentInodeId } = request;
  const changesParent = srcParentInodeId !== dstParentInodeId;
  builder.deleteDentry(srcPartitionId, fsId, srcParentInodeId, request.srcName);
  builder.putDentry(dstPartitionId, { ...source, parentInodeId: dstParentInodeId, name: request.dstName });
  const replacedIsDirectory = target !== undefined && sourceIsDirectory;
  updateParent(builder, srcPartitionId, srcParentInodeId, sourceIsDirectory && changesParent ? -1 : 0, time);
  updateParent(builder, dstPartitionId, dstParentInodeId, (sourceIsDirectory && changesParent ? 1 : 0) - (replacedIsDirectory ? 1 : 0), time);
  if (moved !== undefined) {
    const inode = builder.inode(moved.partitionId, moved.inode.inodeId)!;
    const parent = changesParent ? replaceOne(inode.parent, srcParentInodeId, dstParentInodeId) : inode.parent;
    builder.putInode(moved.partitionId, { ...inode, parent, ctime: time.sec, ctime_ns: time.nsec });
  }
  if (replaced !== undefined) {
    const inode = builder.inode(replaced.partitionId, replaced.inode.inodeId)!;
    const nlink = replacedIsDirectory ? 0 : Math.max(0, inode.nlink - 1);
    // nlink reaching 0 starts the trash clock (curve-facts.md, "Deleting files").
    const dtime = inode.nlink !== 0 && nlink === 0 ? context.clock().sec : inode.dtime;
    const parent = removeOne(inode.parent, dstParentInodeId);
    builder.putInode(replaced.partitionId, { ...inode, nlink, dtime, parent, ctime: time.sec, ctime_ns: time.nsec });
  }
}

function updateParent(builder: WriteBuilder, partitionId: number, parentId: number, nlinkDelta: number, time: Time): void {
  const parent = builder.inode(partitionId, parentId);
  if (parent !== undefined) builder.putInode(partitionId, touchParent(parent, nlinkDelta, time));
}

/** True when a partition of this copyset holds the id range of `inodeId` (the inode itself may be missing). */
function holds(context: CallContext, builder: WriteBuilder, fsId: number, inodeId: number): boolean {
  return partitionHolding(context, builder, fsId, inodeId) !== undefined;
}

/** The partition of this copyset whose range holds `inodeId` for the file system, through the builder. */
function partitionHolding(context: CallContext, builder: WriteBuilder, fsId: number, inodeId: number): number | undefined {
  for (const partitionId of context.view.partitionIds()) {
    const info = builder.partition(partitionId);
    if (info !== undefined && info.fsId === fsId && inRange(info, inodeId)) return partitionId;
  }
  return undefined;
}

/** Finds an inode in the partitions of this copyset (by range), through the builder. */
function locate(context: CallContext, builder: WriteBuilder, fsId: number, inodeId: number): Located | undefined {
  const partitionId = partitionHolding(context, builder, fsId, inodeId);
  if (partitionId === undefined) return undefined;
  const inode = builder.inode(partitionId, inodeId);
  return inode === undefined ? undefined : { partitionId, inode };
}

/**
 * Where `directoryId` lies against `ancestorId`, following first parents towards the
 * root: 'inside' when it is `ancestorId` or below it (or the chain is deeper than
 * MAX_RENAME_ANCESTRY, refused as if it were), 'outside' when the root is reached, and
 * 'unknown' when the chain reaches an inode this copyset does not hold (or a directory
 * without a parent that is not the root). 'unknown' is never taken for 'outside': a
 * refused rename is recoverable, a cycle in the namespace is not.
 */
function destinationAncestry(context: CallContext, builder: WriteBuilder, fsId: number, directoryId: number, ancestorId: number): 'inside' | 'outside' | 'unknown' {
  let current = directoryId;
  for (let step = 0; step < MAX_RENAME_ANCESTRY; step++) {
    if (current === ancestorId) return 'inside';
    if (current === ROOT_INODE_ID) return 'outside';
    const up = locate(context, builder, fsId, current)?.inode.parent[0];
    if (up === undefined) return 'unknown';
    current = up;
  }
  return 'inside';
}

function replaceOne(list: readonly number[], from: number, to: number): number[] {
  const copy = [...list];
  const at = copy.indexOf(from);
  if (at >= 0) copy[at] = to;
  else copy.push(to);
  return copy;
}

function removeOne(list: readonly number[], value: number): number[] {
  const copy = [...list];
  const at = copy.indexOf(value);
  if (at >= 0) copy.splice(at, 1);
  return copy;
}
