/**
 * A stand-in for the TxService coordinator, for client tests: it applies an operation,
 * whether its keys share one copyset or not, to the fake copysets' states directly (step
 * by step, not atomically: the real protocol is tested with the server), so that the
 * client's calls, retries and results can be checked. It remembers answers by txId, as the real coordinator's
 * record does, and counts how often each txId was executed.
 */

import { DentryFlag, FsFileType, MetaStatusCode, type Dentry, type Inode } from '../../src/proto/index.ts';
import type { FakeMetaState } from './fake-meta-state.ts';

type Answer = { statusCode: number; [field: string]: unknown };
type Req = Record<string, any>;

export class FakeTxCoordinator {
  /** `clientId:seq` → the first answer (a retry gets it again, never a second execution). */
  readonly outcomes = new Map<string, Answer>();
  /** Executions per txId key. */
  readonly executions = new Map<string, number>();
  /** Every request received, retries included. */
  readonly received: { method: string; request: Req }[] = [];

  /** `copysets`: the fake copysets the file system lives in (their states hold its partitions). */
  constructor(private readonly copysets: readonly { readonly state: FakeMetaState }[]) {}

  handle(method: string, request: Req): Answer {
    this.received.push({ method, request });
    const key = `${request.txId.clientId}:${request.txId.seq}`;
    const known = this.outcomes.get(key);
    if (known !== undefined) return known;
    this.executions.set(key, (this.executions.get(key) ?? 0) + 1);
    const answer = this.execute(method, request);
    // Failures are not recorded (docs/transactions.md §12): a retry executes again.
    if (answer.statusCode === MetaStatusCode.OK) this.outcomes.set(key, answer);
    return answer;
  }

  private execute(method: string, r: Req): Answer {
    switch (method) {
      case 'Create':
        return this.create(r);
      case 'Link':
        return this.link(r);
      case 'Unlink':
        return this.unlink(r);
      case 'Rename':
        return this.rename(r);
      default:
        return { statusCode: MetaStatusCode.TX_FAILED };
    }
  }

  /** The state and routing fields of partition `partitionId`. */
  private at(partitionId: number): { state: FakeMetaState; routed: Req } {
    for (const { state } of this.copysets) {
      const partition = state.partitions.get(partitionId)?.info;
      if (partition !== undefined) return { state, routed: { poolId: partition.poolId, copysetId: partition.copysetId, partitionId } };
    }
    throw new Error(`fake coordinator: no partition ${partitionId}`);
  }

  /** The partition holding inode `inodeId`, from the request's route hints. */
  private inodeAt(r: Req, inodeId: number): { state: FakeMetaState; routed: Req } {
    const route = (r.routes as Req[]).find((candidate) => candidate.start <= inodeId && inodeId <= candidate.end);
    if (route === undefined) throw new Error(`fake coordinator: no route for inode ${inodeId}`);
    return this.at(route.partitionId);
  }

  /** A new inode in `inodePartitionId` (the parent's own partition or any other) and its entry; a taken name allocates nothing. */
  private create(r: Req): Answer {
    const home = this.at(r.dst.partitionId);
    const taken = home.state.handle('GetDentry', { ...home.routed, fsId: r.fsId, parentInodeId: r.dst.parentInodeId, name: r.dst.name });
    if (taken.statusCode === MetaStatusCode.OK) return { statusCode: MetaStatusCode.DENTRY_EXIST };
    const target = this.at(r.inodePartitionId);
    const made = target.state.handle('CreateInode', {
      ...target.routed, fsId: r.fsId, length: r.length ?? 0, uid: r.uid, gid: r.gid, mode: r.mode, type: r.type, parent: r.dst.parentInodeId,
      ...(r.symlink === undefined ? {} : { symlink: r.symlink }), create: r.time,
    });
    if (made.statusCode !== MetaStatusCode.OK) return { statusCode: made.statusCode };
    const inode = made.inode as Inode;
    const entry = this.putEntry(r, r.dst, inode.inodeId, r.type);
    if (entry.statusCode !== MetaStatusCode.OK) {
      target.state.handle('DeleteInode', { ...target.routed, fsId: r.fsId, inodeId: inode.inodeId });
      return { statusCode: entry.statusCode };
    }
    return { statusCode: MetaStatusCode.OK, inode, appliedIndex: entry.appliedIndex };
  }

  private link(r: Req): Answer {
    const holder = this.inodeAt(r, r.inodeId);
    const inode = holder.state.inode(r.fsId, r.inodeId);
    if (inode === undefined) return { statusCode: MetaStatusCode.NOT_FOUND };
    const entry = this.putEntry(r, r.dst, inode.inodeId, inode.type);
    if (entry.statusCode !== MetaStatusCode.OK) return { statusCode: entry.statusCode };
    holder.state.handle('UpdateInode', { ...holder.routed, fsId: r.fsId, inodeId: inode.inodeId, nlink: inode.nlink + 1, parent: [...inode.parent, r.dst.parentInodeId], ctime: r.time.sec, ctime_ns: r.time.nsec });
    return { statusCode: MetaStatusCode.OK, appliedIndex: entry.appliedIndex };
  }

  private unlink(r: Req): Answer {
    const home = this.at(r.name.partitionId);
    const found = home.state.handle('GetDentry', { ...home.routed, fsId: r.fsId, parentInodeId: r.name.parentInodeId, name: r.name.name });
    if (found.statusCode !== MetaStatusCode.OK) return { statusCode: found.statusCode };
    const dentry = found.dentry as Dentry;
    const isDirectory = dentry.type === FsFileType.TYPE_DIRECTORY;
    if (isDirectory !== r.directory) return { statusCode: MetaStatusCode.PARAM_ERROR };
    const holder = this.inodeAt(r, dentry.inodeId);
    if (isDirectory && holder.state.entriesOf(r.fsId, dentry.inodeId).length > 0) return { statusCode: MetaStatusCode.TARGET_DIRECTORY_EXIST };
    const deleted = home.state.handle('DeleteDentry', { ...home.routed, fsId: r.fsId, parentInodeId: r.name.parentInodeId, name: r.name.name, type: dentry.type, create: r.time });
    this.dropLink(holder, r, dentry.inodeId, r.name.parentInodeId);
    return { statusCode: MetaStatusCode.OK, appliedIndex: deleted.appliedIndex };
  }

  private rename(r: Req): Answer {
    const src = this.at(r.src.partitionId);
    const dst = this.at(r.dst.partitionId);
    const found = src.state.handle('GetDentry', { ...src.routed, fsId: r.fsId, parentInodeId: r.src.parentInodeId, name: r.src.name });
    if (found.statusCode !== MetaStatusCode.OK) return { statusCode: found.statusCode };
    const source = found.dentry as Dentry;
    const old = dst.state.handle('GetDentry', { ...dst.routed, fsId: r.fsId, parentInodeId: r.dst.parentInodeId, name: r.dst.name });
    const replaced = old.statusCode === MetaStatusCode.OK ? (old.dentry as Dentry) : undefined;
    if (replaced?.inodeId === source.inodeId) return { statusCode: MetaStatusCode.OK };
    if (replaced !== undefined) {
      dst.state.handle('DeleteDentry', { ...dst.routed, fsId: r.fsId, parentInodeId: r.dst.parentInodeId, name: r.dst.name, type: replaced.type, create: r.time });
      this.dropLink(this.inodeAt(r, replaced.inodeId), r, replaced.inodeId, r.dst.parentInodeId);
    }
    src.state.handle('DeleteDentry', { ...src.routed, fsId: r.fsId, parentInodeId: r.src.parentInodeId, name: r.src.name, type: source.type, create: r.time });
    const entry = this.putEntry(r, r.dst, source.inodeId, source.type ?? FsFileType.TYPE_FILE);
    const holder = this.inodeAt(r, source.inodeId);
    const moved = holder.state.inode(r.fsId, source.inodeId);
    if (moved !== undefined && r.src.parentInodeId !== r.dst.parentInodeId) {
      const parent = moved.parent.map((p) => (p === r.src.parentInodeId ? r.dst.parentInodeId : p));
      holder.state.handle('UpdateInode', { ...holder.routed, fsId: r.fsId, inodeId: moved.inodeId, parent, ctime: r.time.sec, ctime_ns: r.time.nsec });
    }
    return { statusCode: MetaStatusCode.OK, appliedIndex: entry.appliedIndex };
  }

  private putEntry(r: Req, name: Req, inodeId: number, type: FsFileType): Answer {
    const home = this.at(name.partitionId);
    const dentry: Dentry = { fsId: r.fsId, inodeId, parentInodeId: name.parentInodeId, name: name.name, type, flag: type === FsFileType.TYPE_DIRECTORY ? 0 : DentryFlag.TYPE_FILE_FLAG };
    return home.state.handle('CreateDentry', { ...home.routed, dentry, create: r.time });
  }

  /** nlink − 1 (a directory → 0), one `parent` entry removed, ctime. */
  private dropLink(holder: { state: FakeMetaState; routed: Req }, r: Req, inodeId: number, parent: number): void {
    const inode = holder.state.inode(r.fsId, inodeId);
    if (inode === undefined || inode.nlink === 0) return;
    const nlink = inode.type === FsFileType.TYPE_DIRECTORY ? 0 : inode.nlink - 1;
    const at = inode.parent.indexOf(parent);
    const parents = at < 0 ? inode.parent : [...inode.parent.slice(0, at), ...inode.parent.slice(at + 1)];
    holder.state.handle('UpdateInode', { ...holder.routed, fsId: r.fsId, inodeId, nlink, ...(parents.length > 0 ? { parent: parents } : {}), ctime: r.time.sec, ctime_ns: r.time.nsec });
  }
}
