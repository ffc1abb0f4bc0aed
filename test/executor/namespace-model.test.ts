/**
 * Model-based test: random sequences of namespace operations run against a plain POSIX
 * model and against executor + apply (three partitions in one copyset), with writes
 * sometimes held in the leader view before being applied, snapshots and restores at
 * random points, and a follower replica that must stay byte-identical (stateHash).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MetaStore } from '../../src/metastore/metastore.ts';
import { compareNames } from '../../src/metastore/name-order.ts';
import { FsFileType, ROOT_INODE_ID } from '../../src/metastore/types.ts';
import { FS, routed, T0, TestCopyset } from './harness.ts';
import { NamespaceClient, NamespaceModel } from './namespace.ts';
import type { Errno, Kind } from './namespace.ts';

/** Three partitions of one copyset; the root's partition starts at 0. */
const PARTITIONS = [
  [1, 0, 999],
  [2, 1000, 1999],
  [3, 2000, 2999],
] as const;
/** Short names with multi-byte and astral characters, so byte order differs from JS order. */
const NAMES = ['a', 'b', 'ab', 'B', 'é', '\u{1F600}', '\uFB01', 'z'];

interface Real {
  copyset: TestCopyset;
  client: NamespaceClient;
  follower: MetaStore;
}

function syncFollower(real: Real): void {
  while (real.follower.appliedIndex < real.copyset.store.appliedIndex) {
    const index = real.follower.appliedIndex + 1;
    real.follower.applyEntry(index, real.copyset.log[index - 1]!);
  }
}

const pick = <T>(items: readonly T[], n: number): T => items[n % items.length]!;

type Command = fc.AsyncCommand<NamespaceModel, Real>;

class CreateCommand implements Command {
  constructor(readonly dir: number, readonly name: string, readonly kind: Kind, readonly partition: number, readonly hold: boolean) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const dir = pick(model.directories(), this.dir);
    if (this.hold) real.copyset.hold();
    const result = real.client.create(dir, this.name, this.kind, pick(PARTITIONS, this.partition)[0]);
    real.copyset.applyAll();
    if (model.lookup(dir, this.name) !== undefined) {
      expect(result).toBe('EEXIST');
      return;
    }
    expect(typeof result).toBe('number');
    expect(model.nodes.has(result as number)).toBe(false);
    model.create(dir, this.name, this.kind, result as number);
  }
  toString = () => `create(${this.dir}, ${this.name}, ${this.kind}, p${this.partition}, hold=${this.hold})`;
}

/** mkdir a, then mkdir a/b, both proposed before either is applied (the second needs the overlay). */
class MkdirChainCommand implements Command {
  constructor(readonly dir: number, readonly first: string, readonly second: string, readonly partition: number) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const dir = pick(model.directories(), this.dir);
    if (model.lookup(dir, this.first) !== undefined) return;
    real.copyset.hold();
    const partitionId = pick(PARTITIONS, this.partition)[0];
    const first = real.client.copyset.call('CreateInode', { ...routed(partitionId), fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o644, type: 1, parent: dir, create: T0 });
    const id = first.inode!.inodeId;
    const dentry = (parent: number, name: string, inodeId: number) =>
      real.client.copyset.call('CreateDentry', { ...routed(real.client.partitionOf(parent)), dentry: { fsId: FS, inodeId, parentInodeId: parent, name, type: 1 }, create: T0 });
    expect(dentry(dir, this.first, id).statusCode).toBe(0);
    const second = real.client.copyset.call('CreateInode', { ...routed(partitionId), fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o644, type: 1, parent: id, create: T0 });
    expect(second.inode!.inodeId).not.toBe(id);
    // The new directory's inode is only in the overlay, yet the entry under it is accepted.
    expect(dentry(id, this.second, second.inode!.inodeId).statusCode).toBe(0);
    expect(real.copyset.executor.view.overlaySize).toBeGreaterThan(0);
    real.copyset.applyAll();
    expect(real.copyset.executor.view.overlaySize).toBe(0);
    model.create(dir, this.first, 'dir', id);
    model.create(id, this.second, 'dir', second.inode!.inodeId);
  }
  toString = () => `mkdirChain(${this.dir}, ${this.first}, ${this.second}, p${this.partition})`;
}

class LinkCommand implements Command {
  constructor(readonly srcDir: number, readonly srcName: string, readonly dstDir: number, readonly dstName: string) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const srcDir = pick(model.directories(), this.srcDir);
    const dstDir = pick(model.directories(), this.dstDir);
    const result = real.client.link(srcDir, this.srcName, dstDir, this.dstName);
    const source = model.lookup(srcDir, this.srcName);
    let expected: Errno = 'OK';
    if (source === undefined) expected = 'ENOENT';
    else if (model.nodes.get(source)!.kind === 'dir') expected = 'EPERM';
    else if (model.lookup(dstDir, this.dstName) !== undefined) expected = 'EEXIST';
    expect(result).toBe(expected);
    if (expected === 'OK') model.link(source!, dstDir, this.dstName);
  }
  toString = () => `link(${this.srcDir}/${this.srcName} -> ${this.dstDir}/${this.dstName})`;
}

class UnlinkCommand implements Command {
  constructor(readonly dir: number, readonly name: string, readonly directory: boolean) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const dir = pick(model.directories(), this.dir);
    const result = this.directory ? real.client.rmdir(dir, this.name) : real.client.unlink(dir, this.name);
    const id = model.lookup(dir, this.name);
    let expected: Errno = 'OK';
    if (id === undefined) expected = 'ENOENT';
    else if (this.directory && model.nodes.get(id)!.kind !== 'dir') expected = 'ENOTDIR';
    else if (this.directory && model.dirs.get(id)!.size > 0) expected = 'ENOTEMPTY';
    else if (!this.directory && model.nodes.get(id)!.kind === 'dir') expected = 'EISDIR';
    expect(result).toBe(expected);
    if (expected === 'OK') model.unlink(dir, this.name);
  }
  toString = () => `${this.directory ? 'rmdir' : 'unlink'}(${this.dir}, ${this.name})`;
}

class RenameCommand implements Command {
  constructor(readonly srcDir: number, readonly srcName: string, readonly dstDir: number, readonly dstName: string) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const srcDir = pick(model.directories(), this.srcDir);
    const dstDir = pick(model.directories(), this.dstDir);
    const expected = model.renameOutcome(srcDir, this.srcName, dstDir, this.dstName);
    expect(real.client.rename(srcDir, this.srcName, dstDir, this.dstName)).toBe(expected);
    if (expected === 'OK') model.rename(srcDir, this.srcName, dstDir, this.dstName);
  }
  toString = () => `rename(${this.srcDir}/${this.srcName} -> ${this.dstDir}/${this.dstName})`;
}

class SetattrCommand implements Command {
  constructor(readonly node: number, readonly mode: number) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const ids = [...model.nodes.keys()].sort((a, b) => a - b);
    const id = pick(ids, this.node);
    real.client.updateInode(id, { mode: this.mode });
    model.nodes.get(id)!.mode = this.mode;
    expect(real.client.getInode(id).mode).toBe(this.mode);
  }
  toString = () => `setattr(${this.node}, mode=${this.mode.toString(8)})`;
}

class ReaddirCommand implements Command {
  constructor(readonly dir: number, readonly pageSize: number) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const dir = pick(model.directories(), this.dir);
    const listed = real.client.listAll(dir, this.pageSize).map((d) => [d.name, d.inodeId]);
    expect(listed).toEqual(model.entries(dir));
  }
  toString = () => `readdir(${this.dir}, page=${this.pageSize})`;
}

class LookupCommand implements Command {
  constructor(readonly dir: number, readonly name: string) {}
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const dir = pick(model.directories(), this.dir);
    expect(real.client.lookup(dir, this.name)?.inodeId).toBe(model.lookup(dir, this.name));
  }
  toString = () => `lookup(${this.dir}, ${this.name})`;
}

/** The leader reclaims every unlinked inode through DeleteInode. */
class ReclaimCommand implements Command {
  check = () => true;
  async run(model: NamespaceModel, real: Real): Promise<void> {
    const requests = real.copyset.executor.expiredTrash(real.copyset.now.sec, 0, 1000);
    expect(requests.map((r) => r.inodeId).sort((a, b) => a - b)).toEqual(model.unlinked().sort((a, b) => a - b));
    for (const request of requests) expect(real.copyset.call('DeleteInode', request).statusCode).toBe(0);
    for (const id of model.unlinked()) model.nodes.delete(id);
  }
  toString = () => 'reclaim()';
}

/** A snapshot of the leader, restored into the follower, which then goes on applying. */
class SnapshotRestoreCommand implements Command {
  check = () => true;
  async run(_model: NamespaceModel, real: Real): Promise<void> {
    const leader = real.copyset.store;
    const restored = await MetaStore.fromPairs(leader.appliedIndex, leader.pairs());
    expect(restored.stateHash()).toBe(leader.stateHash());
    real.follower.replaceWith(restored);
  }
  toString = () => 'snapshotRestore()';
}

const index = fc.nat(50);
const name = fc.constantFrom(...NAMES);
const commands = [
  fc.tuple(index, name, fc.constantFrom<Kind>('dir', 'file', 'symlink'), fc.nat(2), fc.boolean()).map(([d, n, k, p, h]) => new CreateCommand(d, n, k, p, h)),
  fc.tuple(index, name, name, fc.nat(2)).map(([d, a, b, p]) => new MkdirChainCommand(d, a, b, p)),
  fc.tuple(index, name, index, name).map(([a, b, c, d]) => new LinkCommand(a, b, c, d)),
  fc.tuple(index, name, fc.boolean()).map(([d, n, isDir]) => new UnlinkCommand(d, n, isDir)),
  fc.tuple(index, name, index, name).map(([a, b, c, d]) => new RenameCommand(a, b, c, d)),
  fc.tuple(fc.nat(100), fc.constantFrom(0o644, 0o600, 0o755)).map(([n, m]) => new SetattrCommand(n, m)),
  fc.tuple(index, fc.integer({ min: 1, max: 4 })).map(([d, p]) => new ReaddirCommand(d, p)),
  fc.tuple(index, name).map(([d, n]) => new LookupCommand(d, n)),
  fc.constant(new ReclaimCommand()),
  fc.constant(new SnapshotRestoreCommand()),
];

function setUp(): Real {
  const copyset = new TestCopyset();
  for (const [id, start, end] of PARTITIONS) expect(copyset.createPartition(id, start, end).statusCode).toBe(0);
  expect(copyset.call('CreateRootInode', { ...routed(1), fsId: FS, uid: 0, gid: 0, mode: 0o40755, create: T0 }).statusCode).toBe(0);
  return { copyset, client: new NamespaceClient(copyset, PARTITIONS), follower: new MetaStore() };
}

/** Everything the model knows, compared with the executor's answers. */
function checkWhole(model: NamespaceModel, real: Real): void {
  for (const dir of model.directories()) {
    expect(real.client.listAll(dir, 3).map((d) => [d.name, d.inodeId])).toEqual(model.entries(dir));
    for (const entry of real.client.listAll(dir, 100)) {
      const kind = model.nodes.get(entry.inodeId)!.kind;
      expect(entry.type).toBe(kind === 'dir' ? FsFileType.TYPE_DIRECTORY : kind === 'file' ? FsFileType.TYPE_FILE : FsFileType.TYPE_SYM_LINK);
    }
  }
  for (const [id, node] of model.nodes) {
    const inode = real.client.getInode(id);
    expect(inode.nlink).toBe(node.nlink);
    expect(inode.mode).toBe(node.mode);
  }
  const stored = PARTITIONS.reduce((sum, [id]) => sum + real.copyset.store.partitionInfo(id)!.inodeNum!, 0);
  expect(stored).toBe(model.nodes.size);
  expect(real.copyset.store.trashSize()).toBe(model.unlinked().length);
  syncFollower(real);
  expect(real.follower.stateHash()).toBe(real.copyset.store.stateHash());
}

describe('namespace model', () => {
  test('executor + apply behave as a POSIX namespace, replicas stay identical', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 100, size: 'large' }), async (cmds) => {
        const model = new NamespaceModel();
        const real = setUp();
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        checkWhole(model, real);
        expect(model.nodes.get(ROOT_INODE_ID)!.kind).toBe('dir');
      }),
      { numRuns: 150 },
    );
  });

  test('names list in UTF-8 byte order, not JS order', () => {
    const sorted = [...NAMES].sort(compareNames);
    expect(sorted.indexOf('\uFB01')).toBeLessThan(sorted.indexOf('\u{1F600}'));
    expect([...NAMES].sort().indexOf('\uFB01')).toBeGreaterThan([...NAMES].sort().indexOf('\u{1F600}'));
  });
});
