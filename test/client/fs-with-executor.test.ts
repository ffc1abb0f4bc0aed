/**
 * The file-system operations over real gRPC against a fake copyset whose answers come
 * from metaraft's own executor and metastore (no Raft underneath): the client's
 * sequences must leave the server's link counts and entries as POSIX expects. Rename
 * is the default protocol: one MetaraftService.Rename over gRPC, answered by the
 * executor's `Rename`; create, mkdir, symlink, link, unlink and rmdir are one TxService
 * call each, answered by the real coordinator (TxManager) over the same executor. A
 * 'curvefs' client over the same table keeps CurveFS's create sequence.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsClient, FsError, GrpcPeerTransport, MetaClientError, MetaServerClient, type NodeAttributes } from '../../src/client/index.ts';
import { FsFileType } from '../../src/proto/index.ts';
import { Random } from '../../src/testing/random.ts';
import { ExecutorMetaState } from './executor-meta-state.ts';
import { FakeCluster } from './fake-cluster.ts';

const FS = 3;
const ROOT = 1;
const ATTRS: NodeAttributes = { mode: 0o755, uid: 1, gid: 1 };

let cluster: FakeCluster<ExecutorMetaState>;
let client: MetaServerClient;
let fs: FsClient;

beforeAll(async () => {
  cluster = await FakeCluster.startWith(new ExecutorMetaState(), 2, 1, 1);
  cluster.txHandler = (method, request) => cluster.state.handleTx(method, request);
  cluster.leader = cluster.addresses[1]; // the table lists a follower first
  const partitions = [cluster.partition(FS, 10, 0, 99), cluster.partition(FS, 11, 100, 199)];
  const random = new Random(3);
  client = new MetaServerClient({
    partitions: cluster.routes(partitions),
    transport: new GrpcPeerTransport(),
    random: () => random.next(),
    retry: { initialBackoffMs: 5, maxBackoffMs: 50, operationTimeoutMs: 5_000 },
  });
  fs = new FsClient({
    client,
    fsId: FS,
    now: () => ({ sec: 1_700_000_000, nsec: 0 }),
  });
  await fs.initRoot(ATTRS);
});

afterAll(async () => {
  client.close();
  await cluster.stop();
});

const nlinkOf = async (inodeId: number) => (await fs.getattr(inodeId)).nlink;

async function names(dir: number): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of fs.readdir(dir, 2)) found.push(entry.name);
  return found;
}

describe('fs operations against the executor', () => {
  it('mkdir, create, link, readdir, unlink, rmdir, symlink, setattr and rename keep link counts right', async () => {
    const rootLinks = await nlinkOf(ROOT);
    const a = await fs.mkdir(ROOT, 'a', ATTRS);
    expect(await nlinkOf(ROOT)).toBe(rootLinks + 1);
    expect(a.nlink).toBe(2);

    const f = await fs.create(a.inodeId, 'f', ATTRS);
    await fs.link(f.inodeId, ROOT, 'g');
    expect(await nlinkOf(f.inodeId)).toBe(2);
    expect((await fs.lookup(ROOT, 'g')).inodeId).toBe(f.inodeId);
    expect(await names(ROOT)).toEqual(['.recycle', 'a', 'g']);

    await fs.unlink(ROOT, 'g');
    expect(await nlinkOf(f.inodeId)).toBe(1);
    await fs.unlink(a.inodeId, 'f');
    const dead = await fs.getattr(f.inodeId);
    expect(dead.nlink).toBe(0);
    expect(dead.dtime).toBeDefined();
    await expect(fs.lookup(a.inodeId, 'f')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const b = await fs.mkdir(a.inodeId, 'b', ATTRS);
    expect(await nlinkOf(a.inodeId)).toBe(3);
    await expect(fs.rmdir(ROOT, 'a')).rejects.toMatchObject({ code: 'NOT_EMPTY' });

    await fs.rename(a.inodeId, 'b', ROOT, 'c');
    expect(await nlinkOf(a.inodeId)).toBe(2);
    expect(await nlinkOf(ROOT)).toBe(rootLinks + 2);
    expect((await fs.lookup(ROOT, 'c')).inodeId).toBe(b.inodeId);
    expect((await fs.getattr(b.inodeId)).parent).toEqual([ROOT]);

    await fs.rmdir(ROOT, 'a');
    expect(await nlinkOf(ROOT)).toBe(rootLinks + 1);
    expect(await nlinkOf(a.inodeId)).toBe(0);

    const s = await fs.symlink(ROOT, 's', 'c/target', { uid: 1, gid: 1 });
    expect((await fs.lookup(ROOT, 's'))).toMatchObject({ inodeId: s.inodeId, type: FsFileType.TYPE_SYM_LINK, symlink: 'c/target', length: 8 });

    await fs.setattr(s.inodeId, { uid: 42, mtime: { sec: 5, nsec: 6 } });
    expect(await fs.getattr(s.inodeId)).toMatchObject({ uid: 42, mtime: 5, mtime_ns: 6 });
    expect(await names(ROOT)).toEqual(['.recycle', 'c', 's']);
  });

  it('create onto a taken name: one TxCreate answers DENTRY_EXIST, and no inode was allocated or left behind', async () => {
    const store = cluster.state.store;
    const inodesOf = () => [10, 11].map((partitionId) => store.inodeIds(partitionId, Number.MAX_SAFE_INTEGER));
    const nextIdsOf = () => [10, 11].map((partitionId) => store.partitionInfoRaw(partitionId)?.nextId);
    const inodesBefore = inodesOf();
    expect(inodesBefore[0]).toContain(ROOT);
    const nextIdsBefore = nextIdsOf();
    expect(nextIdsBefore[0]).toBeGreaterThan(ROOT);
    const taken = (await fs.lookup(ROOT, 'c')).inodeId;
    cluster.clearCalls();
    const failure = await fs.create(ROOT, 'c', ATTRS).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect(failure).toMatchObject({ code: 'DENTRY_EXIST', method: 'Create' });
    expect(cluster.metaMethods()).toEqual(['TxCreate']);
    expect(inodesOf()).toEqual(inodesBefore);
    expect(nextIdsOf()).toEqual(nextIdsBefore);
    expect((await fs.lookup(ROOT, 'c')).inodeId).toBe(taken);
  });

  it('\'curvefs\': CreateDentry onto a taken name: DENTRY_EXIST, and the new inode is deleted again', async () => {
    const curvefs = new FsClient({ client, fsId: FS, now: () => ({ sec: 1_700_000_000, nsec: 0 }), renameProtocol: 'curvefs' });
    const taken = (await fs.lookup(ROOT, 'c')).inodeId;
    cluster.clearCalls();
    const failure = await curvefs.create(ROOT, 'c', ATTRS).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'DENTRY_EXIST', method: 'CreateDentry' });
    expect(cluster.metaMethods()).toEqual(['CreateInode', 'CreateDentry', 'DeleteInode']);
    const made = cluster.calls.find((call) => call.method === 'CreateDentry')!.request.dentry.inodeId;
    expect(cluster.calls.find((call) => call.method === 'DeleteInode')!.request.inodeId).toBe(made);
    await expect(fs.getattr(made)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await fs.lookup(ROOT, 'c')).inodeId).toBe(taken);
  });

  it('the client read the executor\'s appliedIndex and sends it back on reads', async () => {
    expect(client.caller.appliedIndexOf({ poolId: 1, copysetId: 1 })).toBe(cluster.state.appliedIndex);
    await fs.getattr(ROOT);
    expect(cluster.calls.at(-1)!.request.appliedIndex).toBe(cluster.state.appliedIndex);
  });

  it('rename across two partitions of one copyset: one Rename over gRPC, the replaced file loses a link', async () => {
    const routed = { poolId: 1, copysetId: 1, fsId: FS };
    // A directory in partition 11 (placement would keep it in its parent's partition 10).
    const dir = await client.createInode({ ...routed, partitionId: 11, length: 0, uid: 1, gid: 1, mode: 0o40755, type: FsFileType.TYPE_DIRECTORY, parent: ROOT });
    const far = dir.inode!.inodeId;
    expect(far).toBeGreaterThanOrEqual(100);
    await client.createDentry({ ...routed, partitionId: 10, dentry: { fsId: FS, inodeId: far, parentInodeId: ROOT, name: 'far', type: FsFileType.TYPE_DIRECTORY } });
    const moved = await fs.create(ROOT, 'x', ATTRS);
    const victim = await fs.create(far, 'v', ATTRS);
    await fs.link(victim.inodeId, ROOT, 'v2');
    const farLinks = await nlinkOf(far);
    cluster.clearCalls();

    await fs.rename(ROOT, 'x', far, 'v');
    expect(cluster.metaMethods()).toEqual(['Rename']);
    expect(cluster.calls[0]!.request).toMatchObject({ srcPartitionId: 10, dstPartitionId: 11, srcParentInodeId: ROOT, dstParentInodeId: far });
    expect((await fs.lookup(far, 'v')).inodeId).toBe(moved.inodeId);
    await expect(fs.lookup(ROOT, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await fs.getattr(moved.inodeId)).parent).toEqual([far]);
    const replaced = await fs.getattr(victim.inodeId);
    expect(replaced.nlink).toBe(1);
    expect(replaced.parent).toEqual([ROOT]);
    expect(await nlinkOf(far)).toBe(farLinks);
  });

  it('rename of a directory into its own subtree: MetaClientError PARAM_ERROR, nothing moves', async () => {
    const outer = await fs.mkdir(ROOT, 'outer', ATTRS);
    const inner = await fs.mkdir(outer.inodeId, 'inner', ATTRS);
    const failure = await fs.rename(ROOT, 'outer', inner.inodeId, 'loop').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect(failure).toMatchObject({ code: 'PARAM_ERROR', method: 'Rename' });
    expect((await fs.lookup(ROOT, 'outer')).inodeId).toBe(outer.inodeId);
    expect(await names(inner.inodeId)).toEqual([]);
  });
});

describe('link, unlink and rmdir: one TxService call each, atomic at the real coordinator', () => {
  it('link and unlink: GetInode then TxLink, GetDentry then TxUnlink; nlink and the parent list follow exactly', async () => {
    const dir = await fs.mkdir(ROOT, 'tx', ATTRS);
    const file = await fs.create(dir.inodeId, 'one', ATTRS);
    cluster.clearCalls();
    const linked = await fs.link(file.inodeId, dir.inodeId, 'two');
    expect(cluster.metaMethods()).toEqual(['GetInode', 'TxLink']);
    expect(cluster.calls.at(-1)!.request).toMatchObject({ inodeId: file.inodeId, dst: { partitionId: 10, parentInodeId: dir.inodeId, name: 'two' } });
    expect(linked).toMatchObject({ nlink: 2, parent: [dir.inodeId, dir.inodeId] });
    expect(await fs.getattr(file.inodeId)).toMatchObject({ nlink: 2, parent: [dir.inodeId, dir.inodeId], ctime: 1_700_000_000 });
    expect(await names(dir.inodeId)).toEqual(['one', 'two']);

    cluster.clearCalls();
    await fs.unlink(dir.inodeId, 'one');
    expect(cluster.metaMethods()).toEqual(['GetDentry', 'TxUnlink']);
    expect(await fs.getattr(file.inodeId)).toMatchObject({ nlink: 1, parent: [dir.inodeId] });
    expect(await names(dir.inodeId)).toEqual(['two']);
  });

  it('link onto a name that already names the same inode: DENTRY_EXIST, nothing counted; unlink then leaves nlink exact', async () => {
    const dir = (await fs.lookup(ROOT, 'tx')).inodeId;
    const file = (await fs.lookup(dir, 'two')).inodeId;
    await fs.link(file, ROOT, 'three');
    const before = await fs.getattr(file);
    expect(before).toMatchObject({ nlink: 2, parent: [dir, ROOT] });
    const dirLinks = await nlinkOf(dir);

    // CurveFS's sequence counted this link (UpdateInode nlink + 1) although no entry was added.
    const failure = await fs.link(file, dir, 'two').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect(failure).toMatchObject({ code: 'DENTRY_EXIST', method: 'Link' });
    const after = await fs.getattr(file);
    expect(after.nlink).toBe(2);
    expect(after.parent).toEqual([dir, ROOT]);
    expect(await names(dir)).toEqual(['two']);
    expect(await nlinkOf(dir)).toBe(dirLinks);

    await fs.unlink(dir, 'two');
    expect(await fs.getattr(file)).toMatchObject({ nlink: 1, parent: [ROOT] });
    await fs.unlink(ROOT, 'three');
    const gone = await fs.getattr(file);
    expect(gone.nlink).toBe(0);
    expect(gone.dtime).toBeDefined();
  });

  it('unlink racing a rename onto its name: the entry found at TxUnlink time goes, and the inode it names loses the link', async () => {
    const dir = (await fs.lookup(ROOT, 'tx')).inodeId;
    const first = await fs.create(dir, 'u', ATTRS);
    await fs.link(first.inodeId, dir, 'u2');
    const second = await fs.create(dir, 'w', ATTRS);
    // The rename lands between the client's GetDentry (which saw `first`) and its TxUnlink.
    const plain = cluster.txHandler!;
    let raced = false;
    cluster.txHandler = async (method, request) => {
      if (method === 'Unlink' && !raced) {
        raced = true;
        await fs.rename(dir, 'w', dir, 'u');
      }
      return plain(method, request);
    };
    try {
      await fs.unlink(dir, 'u');
    } finally {
      cluster.txHandler = plain;
    }
    expect(raced).toBe(true);
    expect(await names(dir)).toEqual(['u2']);
    // `first` lost only the link the rename replaced; CurveFS's sequence took a second one (nlink 0, `u2` dangling).
    expect(await fs.getattr(first.inodeId)).toMatchObject({ nlink: 1, parent: [dir] });
    // `second` lost the name the unlink removed; CurveFS's sequence left it at nlink 1 with no name.
    const removed = await fs.getattr(second.inodeId);
    expect(removed.nlink).toBe(0);
    expect(removed.dtime).toBeDefined();
  });

  it('rmdir: one TxUnlink (directory); a non-empty directory is NOT_EMPTY and stays, an empty one goes and its parent loses a link', async () => {
    const dir = (await fs.lookup(ROOT, 'tx')).inodeId;
    const sub = await fs.mkdir(dir, 'sub', ATTRS);
    await fs.create(sub.inodeId, 'inside', ATTRS);
    const dirLinks = await nlinkOf(dir);
    cluster.clearCalls();
    const failure = await fs.rmdir(dir, 'sub').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FsError);
    expect(failure).toMatchObject({ code: 'NOT_EMPTY' });
    expect(cluster.metaMethods()).toEqual(['GetDentry', 'TxUnlink']);
    expect(cluster.calls.at(-1)!.request).toMatchObject({ name: { partitionId: 10, parentInodeId: dir, name: 'sub' }, directory: true });
    expect(await nlinkOf(sub.inodeId)).toBe(2);
    expect(await nlinkOf(dir)).toBe(dirLinks);

    await fs.unlink(sub.inodeId, 'inside');
    await fs.rmdir(dir, 'sub');
    expect(await nlinkOf(dir)).toBe(dirLinks - 1);
    expect(await nlinkOf(sub.inodeId)).toBe(0);
    expect(await names(dir)).toEqual(['u2']);
  });
});

describe('create, mkdir and symlink: one TxService.Create each, atomic at the real coordinator', () => {
  it('the inode in the parent\'s partition and its entry appear together; mkdir adds the parent\'s link, symlink keeps its target and length', async () => {
    const rootLinks = await nlinkOf(ROOT);
    cluster.clearCalls();
    const dir = await fs.mkdir(ROOT, 'made', ATTRS);
    expect(cluster.metaMethods()).toEqual(['TxCreate']);
    expect(cluster.calls[0]!.request).toMatchObject({ inodePartitionId: 10, dst: { partitionId: 10, parentInodeId: ROOT, name: 'made' }, type: FsFileType.TYPE_DIRECTORY });
    expect(dir).toMatchObject({ type: FsFileType.TYPE_DIRECTORY, nlink: 2, parent: [ROOT], mode: 0o040755 });
    expect(await fs.getattr(dir.inodeId)).toMatchObject({ inodeId: dir.inodeId, type: FsFileType.TYPE_DIRECTORY, nlink: 2, parent: [ROOT] });
    expect(await nlinkOf(ROOT)).toBe(rootLinks + 1);
    expect((await fs.lookup(ROOT, 'made')).inodeId).toBe(dir.inodeId);

    cluster.clearCalls();
    const file = await fs.create(dir.inodeId, 'file', { ...ATTRS, mode: 0o600 });
    const link = await fs.symlink(dir.inodeId, 'link', 'file', { uid: 7, gid: 8 });
    expect(cluster.metaMethods()).toEqual(['TxCreate', 'TxCreate']);
    expect(await fs.getattr(file.inodeId)).toMatchObject({ type: FsFileType.TYPE_FILE, mode: 0o100600, nlink: 1, parent: [dir.inodeId] });
    expect(await fs.getattr(link.inodeId)).toMatchObject({ type: FsFileType.TYPE_SYM_LINK, mode: 0o120777, symlink: 'file', length: 4, uid: 7, gid: 8, parent: [dir.inodeId] });
    expect(await names(dir.inodeId)).toEqual(['file', 'link']);
    // Files add no link to their directory.
    expect(await nlinkOf(dir.inodeId)).toBe(2);
  });
});
