/**
 * The file-system operations a FUSE client performs, each making the same RPCs in the
 * same order as CurveFS's client (curvefs/src/client: FuseClient, InodeWrapper,
 * RenameOperator), so that a metaserver sees what a CurveFS client would send. The
 * sequence is written above each operation. One deadline covers all the RPCs of an
 * operation.
 *
 * Link counts (curve-facts.md): CreateDentry / DeleteDentry with `type` set make the
 * server change the parent's nlink for a subdirectory; the child's own nlink is the
 * client's (UpdateInode), read from a GetInode just before, as CurveFS's InodeWrapper
 * does (CurveFS serves that GetInode from its inode cache when it can; this client has
 * no cache, so it always asks).
 */

import { FsFileType, ManageInodeType, type Dentry, type Inode, type InodeAttr, type Time } from '../proto/index.ts';
import { FsError, isMetaError } from './client-errors.ts';
import { FsCalls, S_IFMT, modeOf, noWritablePartition, routedTo, type InodeChanges, type NewInodeFields } from './fs-calls.ts';
import { renameEntry, type AtomicRenameCall, type RenameProtocol, type RenameTxCommit } from './fs-rename.ts';
import { FsTxCalls, spansCopysets } from './fs-tx.ts';
import type { CallOptions, MetaServerClient } from './meta-server-client.ts';
import { TxIdSource } from './tx-ids.ts';

/** The root directory's inode id (wire.md). */
export const ROOT_INODE_ID = 1;

/**
 * Entries per ListDentry page in readdir: 4096 entries of names up to 255 bytes stay
 * near 1.2 MiB, well under gRPC's default 4 MiB message limit.
 */
export const DEFAULT_LIST_PAGE_SIZE = 4_096;

export interface FsClientOptions {
  readonly client: MetaServerClient;
  readonly fsId: number;
  /** Wall-clock time for the times the client sets (creation, ctime). Default: the system clock. */
  readonly now?: () => Time;
  readonly listPageSize?: number;
  /**
   * 'metaraft' (default): one atomic call per operation: a rename by
   * MetaraftService.Rename when both parents share a copyset (TxService when they do not,
   * or when the server answers TX_FAILED); create, mkdir, symlink, link, unlink and rmdir
   * by TxService (fs-tx.ts). 'curvefs': CurveFS's PrepareRenameTx sequence inside a
   * partition (fs-rename.ts), and CurveFS's single-RPC sequences for everything else.
   */
  readonly renameProtocol?: RenameProtocol;
  /** How the 'metaraft' protocol sends its call inside one copyset; default MetaServerClient.rename (tests may route it elsewhere). */
  readonly atomicRename?: AtomicRenameCall;
  /** 'curvefs' protocol: the coordinator's commit of a prepared rename transaction (CurveFS: the MDS's CommitTx); none by default. */
  readonly commitRenameTx?: RenameTxCommit;
  /**
   * 'metaraft' protocol: names the operations across copysets (TxService). Default: a new
   * source with a random clientId (Math.random, so that a seeded `random` of the
   * MetaServerClient keeps its placement draws).
   */
  readonly txIds?: TxIdSource;
}

export interface NodeAttributes {
  /** Permission bits; the file-type bits are set from the operation. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev?: number;
}

/** What setattr may change. */
export interface AttributeChanges {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly length?: number;
  readonly atime?: Time;
  readonly mtime?: Time;
}

export interface DirectoryPage {
  readonly entries: readonly Dentry[];
  /** Pass as `last` to read the next page. */
  readonly last: string | undefined;
  /** True when the directory has no entries after this page. */
  readonly done: boolean;
}

export interface DirectoryPlusPage {
  readonly entries: readonly { readonly dentry: Dentry; readonly attr?: InodeAttr }[];
  readonly last: string | undefined;
  readonly done: boolean;
}

export function systemTime(): Time {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
}

export class FsClient {
  readonly fsId: number;
  readonly calls: FsCalls;
  private readonly now: () => Time;
  private readonly listPageSize: number;
  /** The 'metaraft' protocol's call; undefined under 'curvefs'. */
  private readonly atomicRename: AtomicRenameCall | undefined;
  /** The 'metaraft' protocol's calls across copysets; undefined under 'curvefs'. */
  private readonly tx: FsTxCalls | undefined;

  constructor(private readonly options: FsClientOptions) {
    this.fsId = options.fsId;
    const protocol = options.renameProtocol ?? 'metaraft';
    if (protocol !== 'metaraft' && protocol !== 'curvefs') throw new RangeError(`renameProtocol must be 'metaraft' or 'curvefs', not ${String(protocol)}`);
    // A rename call given with the CurveFS protocol would be silently unused.
    if (protocol === 'curvefs' && options.atomicRename !== undefined) throw new RangeError("atomicRename applies to renameProtocol 'metaraft' only");
    this.atomicRename = protocol === 'curvefs' ? undefined : (options.atomicRename ?? (async (request, callOptions) => void (await options.client.rename(request, callOptions))));
    this.calls = new FsCalls(options.client, options.fsId);
    if (protocol === 'curvefs' && options.txIds !== undefined) throw new RangeError("txIds applies to renameProtocol 'metaraft' only");
    this.tx = protocol === 'curvefs' ? undefined : new FsTxCalls(this.calls, options.txIds ?? new TxIdSource());
    this.now = options.now ?? systemTime;
    this.listPageSize = options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
    if (!Number.isSafeInteger(this.listPageSize) || this.listPageSize < 1) throw new RangeError('listPageSize must be a positive integer');
  }

  private get client(): MetaServerClient {
    return this.options.client;
  }

  private opOptions(): CallOptions {
    return { deadlineMs: this.client.deadline() };
  }

  /**
   * The TxService calls when an operation may need them: protocol 'metaraft' and a file
   * system over several copysets (read per operation: the table may be reloaded).
   */
  private acrossCopysets(): FsTxCalls | undefined {
    return this.tx !== undefined && spansCopysets(this.calls) ? this.tx : undefined;
  }

  /**
   * The TxService calls for link, unlink and rmdir under protocol 'metaraft', wherever the
   * inode lives: one call whose name, link count and parent list change in one step (in
   * one entry when everything is in one copyset). CurveFS's sequence of two or three calls
   * is not atomic: a link over an existing name of the same inode counted a link twice,
   * and an unlink racing a rename onto its name removed the new entry.
   */
  private atomicCalls(): FsTxCalls | undefined {
    return this.tx;
  }

  /**
   * Creates the root directory (inode 1) and the recycle directory (inode 2), as the MDS
   * does when a file system is created: CreateRootInode, then CreateManageInode
   * (TYPE_RECYCLE). INODE_EXIST counts as done, so this may be repeated.
   */
  async initRoot(attributes: NodeAttributes): Promise<void> {
    const options = this.opOptions();
    const partition = this.calls.inodePartition(ROOT_INODE_ID);
    const fields = { ...routedTo(partition), fsId: this.fsId, uid: attributes.uid, gid: attributes.gid };
    for (const step of [
      () => this.client.createRootInode({ ...fields, mode: modeOf(FsFileType.TYPE_DIRECTORY, attributes.mode), create: this.now() }, options),
      () => this.client.createManageInode({ ...fields, mode: modeOf(FsFileType.TYPE_DIRECTORY, attributes.mode), manageType: ManageInodeType.TYPE_RECYCLE }, options),
    ]) {
      try {
        await step();
      } catch (error) {
        if (!isMetaError(error, 'INODE_EXIST')) throw error;
      }
    }
  }

  /**
   * mkdir. 'metaraft': one TxService.Create (the directory, its name and the parent's
   * nlink + 1 in one step). 'curvefs' (FuseOpMkDir → MakeNode): CreateInode (directory)
   * in the placed partition; CreateDentry (type directory) in the parent's partition, the
   * server adding 1 to the parent's nlink; if CreateDentry fails, DeleteInode of the new inode.
   */
  mkdir(parent: number, name: string, attributes: NodeAttributes): Promise<Inode> {
    return this.makeNode(parent, name, FsFileType.TYPE_DIRECTORY, attributes);
  }

  /** create / mknod. 'metaraft': one TxService.Create. 'curvefs' (FuseOpCreate → MakeNode): CreateInode (file); CreateDentry (type file); DeleteInode if that fails. */
  create(parent: number, name: string, attributes: NodeAttributes): Promise<Inode> {
    return this.makeNode(parent, name, FsFileType.TYPE_FILE, attributes);
  }

  /**
   * symlink: the inode has `symlink` = target, length = its bytes, mode 0777.
   * 'metaraft': one TxService.Create. 'curvefs' (FuseOpSymlink): CreateInode; CreateDentry
   * (type symlink); DeleteInode if that fails.
   */
  symlink(parent: number, name: string, target: string, attributes: Omit<NodeAttributes, 'mode'>): Promise<Inode> {
    return this.makeNode(parent, name, FsFileType.TYPE_SYM_LINK, { ...attributes, mode: 0o777 }, target);
  }

  /** lookup (FuseOpLookup): GetDentry in the parent's partition; GetInode of its inode. */
  async lookup(parent: number, name: string): Promise<Inode> {
    const options = this.opOptions();
    const dentry = await this.calls.getDentry(parent, name, options);
    return this.calls.getInode(dentry.inodeId, options);
  }

  /** getattr (FuseOpGetAttr): GetInode. */
  getattr(inodeId: number): Promise<Inode> {
    return this.calls.getInode(inodeId, this.opOptions());
  }

  /**
   * setattr (FuseOpSetAttr): GetInode; UpdateInode with the changed fields and ctime :=
   * now. Only changed fields are sent (CurveFS sends the whole attribute set, nlink
   * included, which races with concurrent link/unlink). Returns the inode as updated.
   */
  async setattr(inodeId: number, changes: AttributeChanges): Promise<Inode> {
    const options = this.opOptions();
    const inode = await this.calls.getInode(inodeId, options);
    const ctime = this.now();
    const update: InodeChanges = {
      ...(changes.mode === undefined ? {} : { mode: (inode.mode & S_IFMT) | (changes.mode & ~S_IFMT) }),
      ...(changes.uid === undefined ? {} : { uid: changes.uid }),
      ...(changes.gid === undefined ? {} : { gid: changes.gid }),
      ...(changes.length === undefined ? {} : { length: changes.length }),
      ...(changes.atime === undefined ? {} : { atime: changes.atime.sec, atime_ns: changes.atime.nsec }),
      ...(changes.mtime === undefined ? {} : { mtime: changes.mtime.sec, mtime_ns: changes.mtime.nsec }),
      ctime: ctime.sec,
      ctime_ns: ctime.nsec,
    };
    await this.calls.updateInode(inodeId, update, options);
    return { ...inode, ...update } as Inode;
  }

  /**
   * One page of a directory (FuseOpReadDir): ListDentry in the directory's partition,
   * names after `last` (exclusive), at most `count`.
   */
  async readdirPage(dirInodeId: number, page: { last?: string; count?: number } = {}): Promise<DirectoryPage> {
    const count = page.count ?? this.listPageSize;
    const entries = await this.calls.listDentry(dirInodeId, { ...(page.last === undefined ? {} : { last: page.last }), count }, this.opOptions());
    const last = entries.length > 0 ? entries[entries.length - 1]!.name : page.last;
    return { entries, last, done: entries.length < count };
  }

  /**
   * Every entry of a directory in name order (FuseOpReadDir): ListDentry pages of
   * `pageSize`, each starting after the last name of the one before, until a page comes
   * back short (as CurveFS's DentryCacheManager::ListDentry loops).
   */
  async *readdir(dirInodeId: number, pageSize = this.listPageSize): AsyncGenerator<Dentry> {
    let last: string | undefined;
    for (;;) {
      const page = await this.readdirPage(dirInodeId, { ...(last === undefined ? {} : { last }), count: pageSize });
      yield* page.entries;
      if (page.done) return;
      last = page.last;
    }
  }

  /**
   * One page of a directory with each entry's attributes (FuseOpReadDirPlus): ListDentry
   * as readdirPage, then BatchGetInodeAttr once per partition holding the entries'
   * inodes. An entry whose inode is gone meanwhile comes back without `attr`.
   */
  async readdirPlusPage(dirInodeId: number, page: { last?: string; count?: number } = {}): Promise<DirectoryPlusPage> {
    const listed = await this.readdirPage(dirInodeId, page);
    const attributes = await this.calls.batchGetInodeAttr(
      listed.entries.map((entry) => entry.inodeId),
      this.opOptions(),
    );
    const entries = listed.entries.map((dentry) => {
      const attr = attributes.get(dentry.inodeId);
      return attr === undefined ? { dentry } : { dentry, attr };
    });
    return { entries, last: listed.last, done: listed.done };
  }

  /**
   * unlink (FuseOpUnlink → RemoveNode): GetDentry; DeleteDentry (with the entry's type);
   * GetInode of the child; UpdateInode of the child with nlink − 1, its parent list
   * without this parent and ctime := now (InodeWrapper::UnLink). At nlink 0 the server
   * sets dtime and puts the inode in its trash.
   *
   * 'metaraft' protocol: GetDentry, then one TxService.Unlink (name, parent and inode
   * change atomically, in one entry when one copyset holds them all).
   */
  async unlink(parent: number, name: string): Promise<void> {
    const options = this.opOptions();
    const dentry = await this.calls.getDentry(parent, name, options);
    if (dentry.type === FsFileType.TYPE_DIRECTORY) throw new FsError('IS_DIRECTORY', `${name} is a directory`);
    const tx = this.atomicCalls();
    if (tx !== undefined) return tx.unlink(parent, name, false, this.now(), options);
    await this.calls.deleteDentry(parent, name, dentry.type, this.now(), options);
    await this.unlinkInode(dentry.inodeId, parent, options);
  }

  /**
   * rmdir (FuseOpRmDir → RemoveNode): GetDentry; ListDentry of the directory with count 1
   * (an entry → NOT_EMPTY); DeleteDentry with type directory, the server taking 1 from
   * the parent's nlink; GetInode; UpdateInode of the directory with nlink 0 (a directory
   * at 2 drops straight to 0, InodeWrapper::UnLink), which puts it in the trash. CurveFS
   * sends no DeleteInode: the trash reclaims it.
   *
   * 'metaraft' protocol: GetDentry, then one TxService.Unlink (directory); the server
   * checks emptiness in the same atomic step (TARGET_DIRECTORY_EXIST → FsError NOT_EMPTY).
   */
  async rmdir(parent: number, name: string): Promise<void> {
    const options = this.opOptions();
    const dentry = await this.calls.getDentry(parent, name, options);
    if (dentry.type !== undefined && dentry.type !== FsFileType.TYPE_DIRECTORY) throw new FsError('NOT_DIRECTORY', `${name} is not a directory`);
    // Across copysets the server checks emptiness in the same atomic step (no ListDentry).
    const tx = this.atomicCalls();
    if (tx !== undefined) return tx.unlink(parent, name, true, this.now(), options);
    const children = await this.calls.listDentry(dentry.inodeId, { count: 1 }, options);
    if (children.length > 0) throw new FsError('NOT_EMPTY', `${name} is not empty`);
    await this.calls.deleteDentry(parent, name, FsFileType.TYPE_DIRECTORY, this.now(), options);
    await this.unlinkInode(dentry.inodeId, parent, options);
  }

  /**
   * link (FuseOpLink): GetInode (a directory → IS_DIRECTORY); UpdateInode with nlink + 1,
   * the new parent appended to its parent list and ctime := now (InodeWrapper::Link);
   * CreateDentry under the new parent. If CreateDentry fails, UpdateInode puts nlink and
   * the parent list back. Returns the inode as updated.
   *
   * 'metaraft' protocol: GetInode, then one TxService.Link (a name that exists already,
   * even one naming this inode, answers DENTRY_EXIST).
   */
  async link(inodeId: number, newParent: number, newName: string): Promise<Inode> {
    const options = this.opOptions();
    const inode = await this.calls.getInode(inodeId, options);
    if (inode.type === FsFileType.TYPE_DIRECTORY) throw new FsError('IS_DIRECTORY', `inode ${inodeId} is a directory`);
    const time = this.now();
    const linked = { nlink: inode.nlink + 1, parent: [...inode.parent, newParent], ctime: time.sec, ctime_ns: time.nsec };
    const tx = this.atomicCalls();
    if (tx !== undefined) {
      await tx.link(inodeId, newParent, newName, time, options);
      return { ...inode, ...linked };
    }
    await this.calls.updateInode(inodeId, linked, options);
    try {
      await this.calls.createDentry(newParent, newName, inodeId, inode.type, time, options);
    } catch (error) {
      await this.calls.updateInode(inodeId, { nlink: inode.nlink, parent: inode.parent }, options).catch(() => undefined);
      throw error;
    }
    return { ...inode, ...linked };
  }

  /**
   * rename; the protocols are in fs-rename.ts. 'metaraft' (default): one atomic call,
   * MetaraftService.Rename (file system in one copyset) or TxService.Rename (several).
   * 'curvefs' (FuseOpRename → RenameOperator): parents in different partitions →
   * FsError CROSS_PARTITION.
   */
  rename(srcParent: number, srcName: string, dstParent: number, dstName: string): Promise<void> {
    return renameEntry(
      { calls: this.calls, now: this.now, atomicRename: this.atomicRename, commitRenameTx: this.options.commitRenameTx, tx: this.acrossCopysets() },
      { srcParent, srcName, dstParent, dstName },
      this.opOptions(),
    );
  }

  /**
   * Protocol 'metaraft': one TxService.Create in the first placement candidate with ids
   * left: the inode and its name appear together in one step (one entry when the
   * candidate shares the parent's copyset), so a crash never leaves an unnamed inode.
   * PARTITION_ALLOC_ID_FAIL marks a candidate full and tries the next with a new txId.
   * Protocol 'curvefs': CreateInode, then CreateDentry; DeleteInode of the new inode if
   * the entry cannot be made (CurveFS's MakeNode).
   */
  private async makeNode(parent: number, name: string, type: FsFileType, attributes: NodeAttributes, symlink?: string): Promise<Inode> {
    const options = this.opOptions();
    const time = this.now();
    const fields: NewInodeFields = {
      type,
      parent,
      mode: attributes.mode,
      uid: attributes.uid,
      gid: attributes.gid,
      ...(attributes.rdev === undefined ? {} : { rdev: attributes.rdev }),
      ...(symlink === undefined ? {} : { symlink, length: Buffer.byteLength(symlink) }),
    };
    if (this.tx !== undefined) return this.makeNodeAtomic(this.tx, name, fields, time, options);
    const inode = await this.calls.createInode(fields, time, options);
    await this.createEntryOf(inode, name, fields, time, options);
    return inode;
  }

  /** One TxService.Create per placement candidate until one has ids left. */
  private async makeNodeAtomic(tx: FsTxCalls, name: string, fields: NewInodeFields, time: Time, options: CallOptions): Promise<Inode> {
    for (const partition of this.calls.placementCandidates(fields.parent)) {
      try {
        return await tx.create(partition, name, fields, time, options);
      } catch (error) {
        if (!isMetaError(error, 'PARTITION_ALLOC_ID_FAIL')) throw error;
        this.calls.partitions.markFull(partition.partitionId);
      }
    }
    throw noWritablePartition(this.fsId);
  }

  /** CreateDentry of a new inode; DeleteInode of it if the entry cannot be made. */
  private async createEntryOf(inode: Inode, name: string, fields: NewInodeFields, time: Time, options: CallOptions): Promise<void> {
    try {
      await this.calls.createDentry(fields.parent, name, inode.inodeId, fields.type, time, options);
    } catch (error) {
      await this.calls.deleteInode(inode.inodeId, options).catch(() => undefined);
      throw error;
    }
  }

  /** InodeWrapper::UnLink: GetInode; UpdateInode with nlink − 1 (a directory at 2 → 0), the parent list without `parent`, ctime. */
  private async unlinkInode(inodeId: number, parent: number, options: CallOptions): Promise<void> {
    await this.calls.unlinkInode(inodeId, parent, this.now(), options);
  }
}
