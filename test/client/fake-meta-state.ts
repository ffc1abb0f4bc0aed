/**
 * An in-memory stand-in for one copyset's metaserver state, map-backed, following the
 * semantics of wire.md closely enough for client tests (routing checks, id allocation,
 * server-side parent nlink on typed dentry calls, trash-free nlink bookkeeping). The
 * real executor replaces it in end-to-end tests of the server.
 *
 * PrepareRenameTx is committed at once here (there is no coordinator to commit it).
 * metaraft's Rename is a simplified one-step move (names, parent lists, parents' and
 * the replaced file's nlink; of the executor's refusals only NOT_FOUND, and TX_FAILED
 * for an inode this copyset does not hold); the executor-backed tests check the real one.
 */

import {
  DentryFlag,
  FsFileType,
  ManageInodeType,
  MetaStatusCode,
  PartitionStatus,
  type Dentry,
  type Inode,
  type PartitionInfo,
  type Time,
} from '../../src/proto/index.ts';

type Answer = { statusCode: MetaStatusCode; appliedIndex?: number; [field: string]: unknown };
type Req = Record<string, any>;

interface PartitionState {
  info: PartitionInfo;
  nextId: number;
  status: PartitionStatus;
}

const FIRST_FREE_ID = 3;

export class FakeMetaState {
  readonly partitions = new Map<number, PartitionState>();
  readonly inodes = new Map<string, Inode>();
  /** `${fsId}:${parent}` → name → dentry. */
  readonly dentries = new Map<string, Map<string, Dentry>>();
  appliedIndex = 0;

  addPartition(info: PartitionInfo): void {
    this.partitions.set(info.partitionId, {
      info,
      nextId: Math.max(FIRST_FREE_ID, info.nextId ?? info.start),
      status: info.status,
    });
  }

  inode(fsId: number, inodeId: number): Inode | undefined {
    return this.inodes.get(`${fsId}:${inodeId}`);
  }

  entriesOf(fsId: number, parent: number): Dentry[] {
    return [...(this.dentries.get(`${fsId}:${parent}`)?.values() ?? [])].sort((a, b) => compareNames(a.name, b.name));
  }

  handle(method: string, request: Req): Answer {
    const answer = this.dispatch(method, request);
    answer.appliedIndex = this.appliedIndex;
    return answer;
  }

  private dispatch(method: string, r: Req): Answer {
    switch (method) {
      case 'CreatePartition':
        this.addPartition(r.partition);
        return this.write({ statusCode: MetaStatusCode.OK });
      case 'CreateRootInode':
        return this.routed(r, r.fsId, 1, () => this.createRoot(r));
      case 'CreateManageInode':
        return this.routed(r, r.fsId, 2, () => this.createManage(r));
      case 'CreateInode':
        return this.routed(r, r.fsId, undefined, (partition) => this.createInode(partition, r));
      case 'GetInode':
        return this.routed(r, r.fsId, r.inodeId, () => {
          const inode = this.inode(r.fsId, r.inodeId);
          return inode ? { statusCode: MetaStatusCode.OK, inode } : { statusCode: MetaStatusCode.NOT_FOUND };
        });
      case 'UpdateInode':
        return this.routed(r, r.fsId, r.inodeId, () => this.updateInode(r));
      case 'DeleteInode':
        return this.routed(r, r.fsId, r.inodeId, () => {
          this.inodes.delete(`${r.fsId}:${r.inodeId}`);
          return this.write({ statusCode: MetaStatusCode.OK });
        });
      case 'GetDentry':
        return this.routed(r, r.fsId, r.parentInodeId, () => {
          const dentry = this.dentries.get(`${r.fsId}:${r.parentInodeId}`)?.get(r.name);
          return dentry ? { statusCode: MetaStatusCode.OK, dentry } : { statusCode: MetaStatusCode.NOT_FOUND };
        });
      case 'ListDentry':
        return this.routed(r, r.fsId, r.dirInodeId, () => {
          let entries = this.entriesOf(r.fsId, r.dirInodeId);
          if (r.last !== undefined) entries = entries.filter((d) => compareNames(d.name, r.last) > 0);
          if (r.onlyDir) entries = entries.filter((d) => d.type === FsFileType.TYPE_DIRECTORY);
          if (r.count) entries = entries.slice(0, r.count);
          return { statusCode: MetaStatusCode.OK, dentrys: entries };
        });
      case 'BatchGetInodeAttr':
        return this.routed(r, r.fsId, undefined, (partition) => {
          const attr: Inode[] = [];
          for (const inodeId of r.inodeId as number[]) {
            const inode = this.inode(r.fsId, inodeId);
            // All or nothing (wire.md): the first failure clears the list.
            if (inode === undefined) return { statusCode: MetaStatusCode.NOT_FOUND, attr: [] };
            if (inodeId < partition.info.start || inodeId > partition.info.end) return { statusCode: MetaStatusCode.PARTITION_ID_MISSMATCH, attr: [] };
            attr.push(inode);
          }
          return { statusCode: MetaStatusCode.OK, attr };
        });
      case 'CreateDentry':
        return this.routed(r, r.dentry.fsId, r.dentry.parentInodeId, () => this.createDentry(r));
      case 'DeleteDentry':
        return this.routed(r, r.fsId, r.parentInodeId, () => this.deleteDentry(r));
      case 'PrepareRenameTx':
        return this.routed(r, r.dentrys[0]?.fsId, r.dentrys[0]?.parentInodeId, () => this.prepareRename(r));
      case 'Rename':
        return this.routed({ partitionId: r.srcPartitionId }, r.fsId, r.srcParentInodeId, () =>
          this.routed({ partitionId: r.dstPartitionId }, r.fsId, r.dstParentInodeId, () => this.rename(r)),
        );
      default:
        return { statusCode: MetaStatusCode.UNKNOWN_ERROR };
    }
  }

  /** The routing checks of wire.md, in order: partition exists, fs and id match, not deleting. */
  private routed(r: Req, fsId: number, id: number | undefined, body: (p: PartitionState) => Answer): Answer {
    const partition = this.partitions.get(r.partitionId);
    if (partition === undefined) return { statusCode: MetaStatusCode.PARTITION_NOT_FOUND };
    const { info } = partition;
    if (info.fsId !== fsId || (id !== undefined && (id < info.start || id > info.end))) {
      return { statusCode: MetaStatusCode.PARTITION_ID_MISSMATCH };
    }
    if (partition.status === PartitionStatus.DELETING) return { statusCode: MetaStatusCode.PARTITION_DELETING };
    return body(partition);
  }

  private write(answer: Answer): Answer {
    this.appliedIndex++;
    return answer;
  }

  private newInode(fsId: number, inodeId: number, r: Req, type: FsFileType, parent: number): Inode {
    const time: Time = r.create ?? { sec: 0, nsec: 0 };
    return {
      inodeId,
      fsId,
      length: r.length ?? 0,
      ctime: time.sec,
      ctime_ns: time.nsec,
      mtime: time.sec,
      mtime_ns: time.nsec,
      atime: time.sec,
      atime_ns: time.nsec,
      uid: r.uid,
      gid: r.gid,
      mode: r.mode,
      nlink: type === FsFileType.TYPE_DIRECTORY ? 2 : 1,
      type,
      ...(r.symlink === undefined ? {} : { symlink: r.symlink }),
      xattr: new Map(),
      parent: [parent],
    };
  }

  private createRoot(r: Req): Answer {
    if (this.inode(r.fsId, 1)) return { statusCode: MetaStatusCode.INODE_EXIST };
    this.inodes.set(`${r.fsId}:1`, this.newInode(r.fsId, 1, r, FsFileType.TYPE_DIRECTORY, 0));
    return this.write({ statusCode: MetaStatusCode.OK });
  }

  private createManage(r: Req): Answer {
    if (r.manageType !== ManageInodeType.TYPE_RECYCLE) return { statusCode: MetaStatusCode.PARAM_ERROR };
    if (this.inode(r.fsId, 2)) return { statusCode: MetaStatusCode.INODE_EXIST };
    const inode = this.newInode(r.fsId, 2, r, FsFileType.TYPE_DIRECTORY, 1);
    this.inodes.set(`${r.fsId}:2`, inode);
    this.putDentry({ fsId: r.fsId, inodeId: 2, parentInodeId: 1, name: '.recycle', type: FsFileType.TYPE_DIRECTORY });
    return this.write({ statusCode: MetaStatusCode.OK, inode });
  }

  private createInode(partition: PartitionState, r: Req): Answer {
    if (r.type === FsFileType.TYPE_SYM_LINK && !r.symlink) return { statusCode: MetaStatusCode.SYM_LINK_EMPTY };
    if (partition.nextId > partition.info.end) {
      partition.status = PartitionStatus.READONLY;
      return { statusCode: MetaStatusCode.PARTITION_ALLOC_ID_FAIL };
    }
    const inodeId = partition.nextId++;
    const inode = this.newInode(r.fsId, inodeId, r, r.type, r.parent);
    this.inodes.set(`${r.fsId}:${inodeId}`, inode);
    return this.write({ statusCode: MetaStatusCode.OK, inode });
  }

  private updateInode(r: Req): Answer {
    const key = `${r.fsId}:${r.inodeId}`;
    const old = this.inodes.get(key);
    if (old === undefined) return { statusCode: MetaStatusCode.NOT_FOUND };
    const updated: Record<string, unknown> = { ...old };
    for (const field of ['length', 'ctime', 'ctime_ns', 'mtime', 'mtime_ns', 'atime', 'atime_ns', 'uid', 'gid', 'mode', 'nlink']) {
      if (r[field] !== undefined) updated[field] = r[field];
    }
    if (r.parent?.length > 0) updated.parent = [...r.parent];
    if (old.nlink !== 0 && updated.nlink === 0) updated.dtime = 1;
    this.inodes.set(key, updated as unknown as Inode);
    return this.write({ statusCode: MetaStatusCode.OK });
  }

  private putDentry(dentry: Dentry): void {
    const key = `${dentry.fsId}:${dentry.parentInodeId}`;
    const names = this.dentries.get(key) ?? new Map<string, Dentry>();
    names.set(dentry.name, dentry);
    this.dentries.set(key, names);
  }

  private adjustParent(fsId: number, parent: number, delta: number, time: Time | undefined): void {
    const key = `${fsId}:${parent}`;
    const inode = this.inodes.get(key);
    if (inode === undefined) return;
    const changed = { ...inode, nlink: Math.max(0, inode.nlink + delta) };
    if (time) Object.assign(changed, { mtime: time.sec, mtime_ns: time.nsec, ctime: time.sec, ctime_ns: time.nsec });
    this.inodes.set(key, changed);
  }

  private createDentry(r: Req): Answer {
    const dentry: Dentry = r.dentry;
    if (!dentry.name || dentry.name.includes('/')) return { statusCode: MetaStatusCode.PARAM_ERROR };
    const existing = this.dentries.get(`${dentry.fsId}:${dentry.parentInodeId}`)?.get(dentry.name);
    if (existing) {
      return { statusCode: existing.inodeId === dentry.inodeId ? MetaStatusCode.OK : MetaStatusCode.DENTRY_EXIST };
    }
    this.putDentry(dentry);
    if (dentry.type !== undefined) {
      this.adjustParent(dentry.fsId, dentry.parentInodeId, dentry.type === FsFileType.TYPE_DIRECTORY ? 1 : 0, r.create);
    }
    return this.write({ statusCode: MetaStatusCode.OK });
  }

  private deleteDentry(r: Req): Answer {
    const names = this.dentries.get(`${r.fsId}:${r.parentInodeId}`);
    if (!names?.has(r.name)) return { statusCode: MetaStatusCode.NOT_FOUND };
    names.delete(r.name);
    if (r.type !== undefined) {
      this.adjustParent(r.fsId, r.parentInodeId, r.type === FsFileType.TYPE_DIRECTORY ? -1 : 0, r.create);
    }
    return this.write({ statusCode: MetaStatusCode.OK });
  }

  private rename(r: Req): Answer {
    const source = this.dentries.get(`${r.fsId}:${r.srcParentInodeId}`)?.get(r.srcName);
    if (source === undefined) return { statusCode: MetaStatusCode.NOT_FOUND };
    const replaced = this.dentries.get(`${r.fsId}:${r.dstParentInodeId}`)?.get(r.dstName);
    // As the executor: an inode held by another copyset cannot join the entry.
    const held = (inodeId: number) => [...this.partitions.values()].some(({ info }) => info.fsId === r.fsId && inodeId >= info.start && inodeId <= info.end);
    if (!held(source.inodeId) || (replaced !== undefined && !held(replaced.inodeId))) return { statusCode: MetaStatusCode.TX_FAILED };
    this.dentries.get(`${r.fsId}:${r.srcParentInodeId}`)!.delete(r.srcName);
    this.putDentry({ ...source, parentInodeId: r.dstParentInodeId, name: r.dstName });
    const moves = r.srcParentInodeId !== r.dstParentInodeId;
    if (moves && source.type === FsFileType.TYPE_DIRECTORY) {
      this.adjustParent(r.fsId, r.srcParentInodeId, -1, r.create);
      this.adjustParent(r.fsId, r.dstParentInodeId, 1, r.create);
    }
    const moved = this.inode(r.fsId, source.inodeId);
    if (moved !== undefined && moves) this.inodes.set(`${r.fsId}:${moved.inodeId}`, { ...moved, parent: moved.parent.map((p) => (p === r.srcParentInodeId ? r.dstParentInodeId : p)) });
    const old = replaced === undefined ? undefined : this.inode(r.fsId, replaced.inodeId);
    if (old !== undefined) this.inodes.set(`${r.fsId}:${old.inodeId}`, { ...old, nlink: Math.max(0, old.nlink - 1) });
    return this.write({ statusCode: MetaStatusCode.OK });
  }

  private prepareRename(r: Req): Answer {
    const dentrys: Dentry[] = r.dentrys;
    if (dentrys.length < 1 || dentrys.length > 2) return { statusCode: MetaStatusCode.PARAM_ERROR };
    for (const dentry of dentrys) {
      const flag = dentry.flag ?? 0;
      if (flag & DentryFlag.DELETE_MARK_FLAG) {
        this.dentries.get(`${dentry.fsId}:${dentry.parentInodeId}`)?.delete(dentry.name);
      } else {
        const { txId: _txId, ...rest } = dentry;
        this.putDentry({ ...rest, flag: flag & DentryFlag.TYPE_FILE_FLAG });
      }
    }
    return this.write({ statusCode: MetaStatusCode.OK });
  }
}

/** Byte order of UTF-8 names, as the metaserver lists them. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
