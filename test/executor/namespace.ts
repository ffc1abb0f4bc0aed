/**
 * POSIX namespace operations for the model-based test, two ways: against a plain
 * reference model, and as a CurveFS client would run them against the executor
 * (lookups, CreateInode + CreateDentry, DeleteDentry + UpdateInode, Rename...), with
 * several partitions in one copyset. Both answer errno-like strings.
 */
import { MetaStatusCode } from '../../src/executor/status.ts';
import { compareNames } from '../../src/metastore/name-order.ts';
import { FsFileType, ROOT_INODE_ID } from '../../src/metastore/types.ts';
import type { Dentry } from '../../src/metastore/types.ts';
import { FS, routed, T0 } from './harness.ts';
import type { TestCopyset } from './harness.ts';

export type Errno = 'OK' | 'EEXIST' | 'ENOENT' | 'ENOTEMPTY' | 'EISDIR' | 'ENOTDIR' | 'EINVAL' | 'EPERM';
export type Kind = 'dir' | 'file' | 'symlink';

// ---------------------------------------------------------------------------------------
// The reference model

export interface ModelNode {
  kind: Kind;
  nlink: number;
  mode: number;
}

export class NamespaceModel {
  readonly nodes = new Map<number, ModelNode>([[ROOT_INODE_ID, { kind: 'dir', nlink: 2, mode: 0o40755 }]]);
  readonly dirs = new Map<number, Map<string, number>>([[ROOT_INODE_ID, new Map()]]);
  readonly parentOf = new Map<number, number>();

  directories(): number[] {
    return [...this.dirs.keys()].sort((a, b) => a - b);
  }

  entries(dir: number): [string, number][] {
    return [...(this.dirs.get(dir) ?? new Map<string, number>()).entries()].sort((a, b) => compareNames(a[0], b[0]));
  }

  lookup(dir: number, name: string): number | undefined {
    return this.dirs.get(dir)?.get(name);
  }

  create(dir: number, name: string, kind: Kind, id: number): void {
    this.nodes.set(id, { kind, nlink: kind === 'dir' ? 2 : 1, mode: 0o644 });
    this.dirs.get(dir)!.set(name, id);
    if (kind === 'dir') {
      this.dirs.set(id, new Map());
      this.parentOf.set(id, dir);
      this.nodes.get(dir)!.nlink++;
    }
  }

  link(target: number, dir: number, name: string): void {
    this.dirs.get(dir)!.set(name, target);
    this.nodes.get(target)!.nlink++;
  }

  unlink(dir: number, name: string): void {
    const id = this.dirs.get(dir)!.get(name)!;
    this.dirs.get(dir)!.delete(name);
    const node = this.nodes.get(id)!;
    if (node.kind === 'dir') {
      node.nlink = 0;
      this.dirs.delete(id);
      this.nodes.get(dir)!.nlink--;
    } else {
      node.nlink--;
    }
  }

  /** What the executor's rename answers, in its order of checks (rename-call.ts). */
  renameOutcome(srcDir: number, srcName: string, dstDir: number, dstName: string): Errno {
    const source = this.lookup(srcDir, srcName);
    if (source === undefined) return 'ENOENT';
    if (srcDir === dstDir && srcName === dstName) return 'OK';
    const target = this.lookup(dstDir, dstName);
    const sourceIsDir = this.nodes.get(source)!.kind === 'dir';
    if (target !== undefined) {
      if (target === source) return 'OK';
      const targetIsDir = this.nodes.get(target)!.kind === 'dir';
      if (sourceIsDir !== targetIsDir) return 'EINVAL';
      if (targetIsDir && this.dirs.get(target)!.size > 0) return 'ENOTEMPTY';
    }
    if (sourceIsDir) {
      for (let at: number | undefined = dstDir; at !== undefined; at = this.parentOf.get(at)) if (at === source) return 'EINVAL';
    }
    return 'OK';
  }

  rename(srcDir: number, srcName: string, dstDir: number, dstName: string): void {
    const source = this.lookup(srcDir, srcName)!;
    if (srcDir === dstDir && srcName === dstName) return;
    const target = this.lookup(dstDir, dstName);
    if (target === source) return;
    if (target !== undefined) this.unlink(dstDir, dstName);
    this.dirs.get(srcDir)!.delete(srcName);
    this.dirs.get(dstDir)!.set(dstName, source);
    if (this.nodes.get(source)!.kind === 'dir' && srcDir !== dstDir) {
      this.nodes.get(srcDir)!.nlink--;
      this.nodes.get(dstDir)!.nlink++;
      this.parentOf.set(source, dstDir);
    }
  }

  /** Nodes with no links left (in the trash until reclaimed). */
  unlinked(): number[] {
    return [...this.nodes.entries()].filter(([, node]) => node.nlink === 0).map(([id]) => id);
  }
}

// ---------------------------------------------------------------------------------------
// The same operations through the executor

const TYPE_OF: Record<Kind, FsFileType> = {
  dir: FsFileType.TYPE_DIRECTORY,
  file: FsFileType.TYPE_FILE,
  symlink: FsFileType.TYPE_SYM_LINK,
};

export class NamespaceClient {
  constructor(
    readonly copyset: TestCopyset,
    /** Partition ranges of the copyset: [partitionId, start, end]. */
    readonly partitions: readonly (readonly [number, number, number])[],
  ) {}

  partitionOf(inodeId: number): number {
    const found = this.partitions.find(([, start, end]) => inodeId >= start && inodeId <= end);
    if (found === undefined) throw new Error(`no partition holds inode ${inodeId}`);
    return found[0];
  }

  lookup(dir: number, name: string): Dentry | undefined {
    const response = this.copyset.call('GetDentry', { ...routed(this.partitionOf(dir)), fsId: FS, parentInodeId: dir, name });
    if (response.statusCode === MetaStatusCode.NOT_FOUND) return undefined;
    expectStatus(response.statusCode, MetaStatusCode.OK, 'GetDentry');
    return response.dentry;
  }

  /** Creates an inode in `partitionId` and its entry; returns the new id or an errno. */
  create(dir: number, name: string, kind: Kind, partitionId: number): number | Errno {
    if (this.lookup(dir, name) !== undefined) return 'EEXIST';
    const created = this.copyset.call('CreateInode', {
      ...routed(partitionId),
      fsId: FS,
      length: 0,
      uid: 1,
      gid: 1,
      mode: 0o644,
      type: TYPE_OF[kind],
      parent: dir,
      symlink: kind === 'symlink' ? 'target' : undefined,
      create: T0,
    });
    expectStatus(created.statusCode, MetaStatusCode.OK, 'CreateInode');
    const id = created.inode!.inodeId;
    const entry = this.copyset.call('CreateDentry', {
      ...routed(this.partitionOf(dir)),
      dentry: { fsId: FS, inodeId: id, parentInodeId: dir, name, type: TYPE_OF[kind] },
      create: T0,
    });
    expectStatus(entry.statusCode, MetaStatusCode.OK, 'CreateDentry');
    return id;
  }

  link(srcDir: number, srcName: string, dstDir: number, dstName: string): Errno {
    const source = this.lookup(srcDir, srcName);
    if (source === undefined) return 'ENOENT';
    if (source.type === FsFileType.TYPE_DIRECTORY) return 'EPERM';
    if (this.lookup(dstDir, dstName) !== undefined) return 'EEXIST';
    const inode = this.getInode(source.inodeId);
    const entry = this.copyset.call('CreateDentry', {
      ...routed(this.partitionOf(dstDir)),
      dentry: { fsId: FS, inodeId: source.inodeId, parentInodeId: dstDir, name: dstName, type: source.type },
      create: T0,
    });
    expectStatus(entry.statusCode, MetaStatusCode.OK, 'CreateDentry');
    this.updateInode(source.inodeId, { nlink: inode.nlink + 1, parent: [...inode.parent, dstDir] });
    return 'OK';
  }

  unlink(dir: number, name: string): Errno {
    const entry = this.lookup(dir, name);
    if (entry === undefined) return 'ENOENT';
    if (entry.type === FsFileType.TYPE_DIRECTORY) return 'EISDIR';
    const inode = this.getInode(entry.inodeId);
    this.deleteDentry(dir, name);
    const parent = [...inode.parent];
    parent.splice(parent.indexOf(dir), 1);
    this.updateInode(entry.inodeId, { nlink: inode.nlink - 1, parent: parent.length > 0 ? parent : undefined });
    return 'OK';
  }

  rmdir(dir: number, name: string): Errno {
    const entry = this.lookup(dir, name);
    if (entry === undefined) return 'ENOENT';
    if (entry.type !== FsFileType.TYPE_DIRECTORY) return 'ENOTDIR';
    if (this.list(entry.inodeId, undefined, 1).length > 0) return 'ENOTEMPTY';
    this.deleteDentry(dir, name);
    this.updateInode(entry.inodeId, { nlink: 0 });
    return 'OK';
  }

  rename(srcDir: number, srcName: string, dstDir: number, dstName: string): Errno {
    const response = this.copyset.call('Rename', {
      poolId: 1,
      copysetId: 1,
      fsId: FS,
      srcPartitionId: this.partitionOf(srcDir),
      srcParentInodeId: srcDir,
      srcName,
      dstPartitionId: this.partitionOf(dstDir),
      dstParentInodeId: dstDir,
      dstName,
      create: T0,
    });
    switch (response.statusCode) {
      case MetaStatusCode.OK:
        return 'OK';
      case MetaStatusCode.NOT_FOUND:
        return 'ENOENT';
      case MetaStatusCode.PARAM_ERROR:
        return 'EINVAL';
      case MetaStatusCode.TARGET_DIRECTORY_EXIST:
        return 'ENOTEMPTY';
      default:
        throw new Error(`Rename answered ${response.statusCode}`);
    }
  }

  /** One page of a directory after `last`. */
  list(dir: number, last: string | undefined, count: number): Dentry[] {
    const response = this.copyset.call('ListDentry', { ...routed(this.partitionOf(dir)), fsId: FS, dirInodeId: dir, last, count });
    expectStatus(response.statusCode, MetaStatusCode.OK, 'ListDentry');
    return response.dentrys;
  }

  /** A whole directory, page by page. */
  listAll(dir: number, pageSize: number): Dentry[] {
    const all: Dentry[] = [];
    for (;;) {
      const page = this.list(dir, all.at(-1)?.name, pageSize);
      if (page.length > pageSize) throw new Error('a page is never longer than asked');
      all.push(...page);
      if (page.length < pageSize) return all;
    }
  }

  getInode(inodeId: number) {
    const response = this.copyset.call('GetInode', { ...routed(this.partitionOf(inodeId)), fsId: FS, inodeId });
    expectStatus(response.statusCode, MetaStatusCode.OK, `GetInode ${inodeId}`);
    return response.inode!;
  }

  updateInode(inodeId: number, fields: { nlink?: number; mode?: number; parent?: number[] | undefined }): void {
    const response = this.copyset.call('UpdateInode', { ...routed(this.partitionOf(inodeId)), fsId: FS, inodeId, ...fields });
    expectStatus(response.statusCode, MetaStatusCode.OK, 'UpdateInode');
  }

  private deleteDentry(dir: number, name: string): void {
    const response = this.copyset.call('DeleteDentry', { ...routed(this.partitionOf(dir)), fsId: FS, parentInodeId: dir, name, create: T0 });
    expectStatus(response.statusCode, MetaStatusCode.OK, 'DeleteDentry');
  }
}

function expectStatus(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new Error(`${what} answered ${actual}, expected ${expected}`);
}
