/**
 * rename, by one of two protocols ({@link RenameProtocol}).
 *
 * 'metaraft' (the default): one call. A file system held by ONE copyset: MetaraftService.Rename
 * to it; the server renames atomically in one log entry, parents' nlink and times and
 * the replaced inode included, so every reader sees the old or the new namespace. A file
 * system spread over several copysets: the same call when both parents' entries share a
 * copyset, and TxService.Rename to the copyset of the source parent's entries when they
 * do not or when the server answers TX_FAILED (an inode, or a directory's new ancestry,
 * outside that copyset); its coordinator makes the same changes atomically across
 * copysets (docs/transactions.md; fs-tx.ts).
 *
 * 'curvefs': as CurveFS's first rename design does it (RenameOperator; curve-facts.md),
 * for source and destination entries in one partition, for compatibility with what a
 * CurveFS metaserver expects to see:
 *
 *  1. GetDentry(srcParent, srcName)                     — Precheck: the source exists
 *  2. GetDentry(dstParent, dstName)                     — CheckOverwrite: NOT_FOUND is fine
 *  3. ListDentry(old destination, count 1)              — only if it is a directory: NOT_EMPTY
 *  4. GetInode + UpdateInode(dstParent, nlink + 1)      — LinkDestParentInode: a directory
 *                                                         moving to another parent, nothing replaced
 *  5. PrepareRenameTx([source delete-marked, destination]), both with txId + 1
 *  6. commit (the coordinator's CommitTx in CurveFS; an injected hook here), then the
 *     client records the partition's new txId
 *  7. GetInode + UpdateInode(srcParent, nlink − 1)      — UnlinkSrcParentInode: a directory
 *                                                         left srcParent, or replaced a directory
 *  8. GetInode + UpdateInode(old destination, nlink − 1) — UnlinkOldInode
 *  9. GetInode + UpdateInode(moved inode, parent list srcParent → dstParent, ctime)
 *                                                       — UpdateInodeParent, parents differing
 *
 * Steps 4 and 7 are the client-side parent link counting that CurveFS later moved into
 * the server; they remain here because a prepared rename transaction does not touch the
 * parents on the server. Between these calls a reader can see a half-done rename: that
 * is why 'metaraft' is the default.
 */

import { DentryFlag, FsFileType, type PartitionInfo, type Time } from '../proto/index.ts';
import { FsError, isMetaError } from './client-errors.ts';
import { routedTo, type FsCalls } from './fs-calls.ts';
import type { FsTxCalls } from './fs-tx.ts';
import type { CallOptions } from './meta-server-client.ts';

/** The request of metaraft's one-call rename (the executor's RenameRequest). */
export interface AtomicRenameRequest {
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

/** Which rename protocol FsClient speaks (see the module doc). */
export type RenameProtocol = 'metaraft' | 'curvefs';

/** Sends metaraft's rename (MetaServerClient.rename by default); throws MetaClientError on a status other than OK. */
export type AtomicRenameCall = (request: AtomicRenameRequest, options: CallOptions) => Promise<void>;

/** Commits prepared rename transactions: partition → its new committed txId (CurveFS: MDS CommitTx). */
export type RenameTxCommit = (transactions: readonly { partitionId: number; txId: number }[], options: CallOptions) => Promise<void>;

export interface RenameContext {
  readonly calls: FsCalls;
  readonly now: () => Time;
  /** Set: the 'metaraft' protocol, through this call. Undefined: the 'curvefs' protocol. */
  readonly atomicRename: AtomicRenameCall | undefined;
  readonly commitRenameTx: RenameTxCommit | undefined;
  /** Set ('metaraft' protocol, file system over several copysets): rename through TxService. */
  readonly tx?: FsTxCalls | undefined;
}

export interface RenameNames {
  readonly srcParent: number;
  readonly srcName: string;
  readonly dstParent: number;
  readonly dstName: string;
}

export async function renameEntry(context: RenameContext, names: RenameNames, options: CallOptions): Promise<void> {
  const { calls } = context;
  const srcPartition = calls.dentryPartition(names.srcParent);
  const dstPartition = calls.dentryPartition(names.dstParent);
  if (context.atomicRename !== undefined) {
    if (context.tx !== undefined) {
      // Both parents in one copyset: one entry when the inodes are there too (the common
      // case); the server answers TX_FAILED when they are not (or for a directory moving
      // outside the root's copyset), and the rename goes through TxService.
      if (srcPartition.poolId === dstPartition.poolId && srcPartition.copysetId === dstPartition.copysetId) {
        try {
          await metaraftRename(context, context.atomicRename, names, srcPartition, dstPartition, options);
          return;
        } catch (error) {
          if (!isMetaError(error, 'TX_FAILED')) throw error;
        }
      }
      await context.tx.rename(names.srcParent, names.srcName, names.dstParent, names.dstName, context.now(), options);
      return;
    }
    // One copyset holds the whole file system: both parents are in it.
    await metaraftRename(context, context.atomicRename, names, srcPartition, dstPartition, options);
    return;
  }
  if (srcPartition.partitionId !== dstPartition.partitionId) {
    throw new FsError('CROSS_PARTITION', 'CurveFS\'s rename protocol renames inside one partition only (renameProtocol \'metaraft\' renames inside a copyset)');
  }
  await prepareRename(context, names, options);
}

/** The 'metaraft' protocol inside one copyset: one MetaraftService.Rename, routed by the source partition. */
async function metaraftRename(
  context: RenameContext,
  send: AtomicRenameCall,
  names: RenameNames,
  srcPartition: PartitionInfo,
  dstPartition: PartitionInfo,
  options: CallOptions,
): Promise<void> {
  await send(
    {
      poolId: srcPartition.poolId,
      copysetId: srcPartition.copysetId,
      fsId: context.calls.fsId,
      srcPartitionId: srcPartition.partitionId,
      srcParentInodeId: names.srcParent,
      srcName: names.srcName,
      dstPartitionId: dstPartition.partitionId,
      dstParentInodeId: names.dstParent,
      dstName: names.dstName,
      create: context.now(),
    },
    options,
  );
}

async function prepareRename(context: RenameContext, names: RenameNames, options: CallOptions): Promise<void> {
  const { calls } = context;
  const { srcParent, srcName, dstParent, dstName } = names;
  const source = await calls.getDentry(srcParent, srcName, options);
  const old = await calls.findDentry(dstParent, dstName, options);
  if (old !== undefined && old.inodeId === source.inodeId) return; // POSIX: both names one file, nothing to do
  const isDirectory = source.type === FsFileType.TYPE_DIRECTORY;
  if (old !== undefined) await checkOverwrite(calls, isDirectory, old, options);

  const sameParent = srcParent === dstParent;
  if (isDirectory && !sameParent && old === undefined) await adjustNlink(calls, dstParent, +1, context.now(), options);

  const partition = calls.dentryPartition(srcParent);
  const txId = (calls.partitions.txIdOf(partition.partitionId) ?? 0) + 1;
  const prepared = DentryFlag.TRANSACTION_PREPARE_FLAG;
  await calls.client.prepareRenameTx(
    {
      ...routedTo(partition),
      dentrys: [
        { ...source, txId, flag: (source.flag ?? 0) | DentryFlag.DELETE_MARK_FLAG | prepared },
        { ...source, parentInodeId: dstParent, name: dstName, txId, flag: ((source.flag ?? 0) & DentryFlag.TYPE_FILE_FLAG) | prepared },
      ],
    },
    options,
  );
  await context.commitRenameTx?.([{ partitionId: partition.partitionId, txId }], options);
  calls.partitions.setTxId(partition.partitionId, txId);

  if (isDirectory && !(sameParent && old === undefined)) await adjustNlink(calls, srcParent, -1, context.now(), options);
  if (old !== undefined) await calls.unlinkInode(old.inodeId, dstParent, context.now(), options);
  if (!sameParent) await moveParent(calls, source.inodeId, srcParent, dstParent, context.now(), options);
}

/** CheckOverwrite: a directory may replace only an empty directory; a non-directory only a non-directory. */
async function checkOverwrite(calls: FsCalls, sourceIsDirectory: boolean, old: { inodeId: number; type?: FsFileType }, options: CallOptions): Promise<void> {
  const oldIsDirectory = old.type === FsFileType.TYPE_DIRECTORY;
  if (sourceIsDirectory && !oldIsDirectory) throw new FsError('NOT_DIRECTORY', 'a directory cannot replace a non-directory');
  if (!sourceIsDirectory && oldIsDirectory) throw new FsError('IS_DIRECTORY', 'a non-directory cannot replace a directory');
  if (oldIsDirectory) {
    const children = await calls.listDentry(old.inodeId, { count: 1 }, options);
    if (children.length > 0) throw new FsError('NOT_EMPTY', 'the destination directory is not empty');
  }
}

/** GetInode, then UpdateInode with nlink changed by `delta` (never below 0) and ctime/mtime := now. */
async function adjustNlink(calls: FsCalls, inodeId: number, delta: number, time: Time, options: CallOptions): Promise<void> {
  const inode = await calls.getInode(inodeId, options);
  await calls.updateInode(
    inodeId,
    { nlink: Math.max(0, inode.nlink + delta), ctime: time.sec, ctime_ns: time.nsec, mtime: time.sec, mtime_ns: time.nsec },
    options,
  );
}

/** UpdateInodeParent: GetInode, then UpdateInode with `from` replaced by `to` in the parent list. */
async function moveParent(calls: FsCalls, inodeId: number, from: number, to: number, time: Time, options: CallOptions): Promise<void> {
  const inode = await calls.getInode(inodeId, options);
  const at = inode.parent.indexOf(from);
  const parents = at < 0 ? [...inode.parent, to] : inode.parent.map((parent, i) => (i === at ? to : parent));
  await calls.updateInode(inodeId, { parent: parents, ctime: time.sec, ctime_ns: time.nsec }, options);
}
