/**
 * The file-system operations end to end over real gRPC against fake copysets, checking
 * the exact RPC sequence each makes (the fakes record every call, across copysets, in
 * arrival order) and the resulting state.
 *
 * Layout: fs 1; copyset 1 holds partition 10 = inodes [0, 9] (root, recycle and only
 * seven more ids: it fills up); copyset 2 holds partition 20 = [10, 999]. The file
 * system spans two copysets; under renameProtocol 'metaraft' (the default) create, mkdir,
 * symlink, link, unlink and rmdir are one TxService call each wherever their keys are
 * (recorded as Tx<Method>), answered by a fake coordinator. A 'curvefs' client over the
 * same table shows CurveFS's sequences (CreateInode + CreateDentry, ...).
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FsClient,
  FsError,
  GrpcPeerTransport,
  MetaClientError,
  MetaServerClient,
  type AtomicRenameRequest,
  type NodeAttributes,
} from '../../src/client/index.ts';
import { DentryFlag, FsFileType, type Time } from '../../src/proto/index.ts';
import { Random } from '../../src/testing/random.ts';
import { FakeCluster, routedPartition, type RecordedCall } from './fake-cluster.ts';
import { FakeTxCoordinator } from './fake-tx-coordinator.ts';

const FS = 1;
const ROOT = 1;
const T: Time = { sec: 1_700_000_000, nsec: 123 };
const ATTRS: NodeAttributes = { mode: 0o755, uid: 1000, gid: 100 };

const calls: RecordedCall[] = [];
let one: FakeCluster;
let two: FakeCluster;
let client: MetaServerClient;
let fs: FsClient;
/** The same operations, renaming by CurveFS's PrepareRenameTx protocol. */
let curvefs: FsClient;
/** Partition 10's row (copyset 1 alone), for a client whose file system lives in one copyset. */
let p10: ReturnType<FakeCluster['partition']>;

beforeAll(async () => {
  one = await FakeCluster.start(2, 1, 1, calls);
  two = await FakeCluster.start(2, 1, 2, calls);
  const coordinator = new FakeTxCoordinator([one, two]);
  one.txHandler = two.txHandler = (method, request) => coordinator.handle(method, request);
  const random = new Random(11);
  client = new MetaServerClient({
    partitions: [...one.routes([(p10 = one.partition(FS, 10, 0, 9))]), ...two.routes([two.partition(FS, 20, 10, 999)])],
    transport: new GrpcPeerTransport(),
    random: () => random.next(),
    retry: { initialBackoffMs: 5, maxBackoffMs: 50, operationTimeoutMs: 5_000 },
  });
  fs = new FsClient({ client, fsId: FS, now: () => T, listPageSize: 3 });
  curvefs = new FsClient({ client, fsId: FS, now: () => T, listPageSize: 3, renameProtocol: 'curvefs' });
  await fs.initRoot(ATTRS);
});

afterAll(async () => {
  client.close();
  await one.stop();
  await two.stop();
});

beforeEach(() => {
  calls.length = 0;
});

/** The MetaServerService calls made, as `Method/partitionId` (leader look-ups left out). */
function sequence(): string[] {
  return calls
    .filter((call) => call.method !== 'GetLeader')
    .map((call) => `${call.method}/${routedPartition(call.request)}`);
}

function requestsOf(method: string): Record<string, any>[] {
  return calls.filter((call) => call.method === method).map((call) => call.request);
}

const inodeOf = (id: number) => (id < 10 ? one : two).state.inode(FS, id)!;

describe('file-system operations: RPC sequences and effects', () => {
  it('initRoot: CreateRootInode then CreateManageInode; again, INODE_EXIST counts as done', async () => {
    await fs.initRoot(ATTRS);
    expect(sequence()).toEqual(['CreateRootInode/10', 'CreateManageInode/10']);
    expect(inodeOf(ROOT).nlink).toBe(2);
    expect(one.state.entriesOf(FS, ROOT).map((d) => d.name)).toEqual(['.recycle']);
  });

  it('mkdir: one TxService.Create to the parent\'s copyset, the inode in the parent\'s partition; the directory entry bumps the parent\'s nlink', async () => {
    const before = inodeOf(ROOT).nlink;
    const dir = await fs.mkdir(ROOT, 'docs', ATTRS);
    expect(sequence()).toEqual(['TxCreate/10']);
    expect(dir.inodeId).toBe(3);
    expect(dir.nlink).toBe(2);
    expect(dir.mode).toBe(0o040755);
    const [create] = requestsOf('TxCreate');
    expect(create).toMatchObject({
      poolId: 1, copysetId: 1, fsId: FS, inodePartitionId: 10, dst: { partitionId: 10, parentInodeId: ROOT, name: 'docs' },
      type: FsFileType.TYPE_DIRECTORY, mode: 0o040755, uid: 1000, gid: 100, time: T,
    });
    expect(create!.symlink).toBeUndefined();
    expect(inodeOf(3)).toMatchObject({ type: FsFileType.TYPE_DIRECTORY, nlink: 2, parent: [ROOT], mode: 0o040755 });
    expect(one.state.entriesOf(FS, ROOT).find((d) => d.name === 'docs')).toMatchObject({ inodeId: 3, type: FsFileType.TYPE_DIRECTORY });
    expect(inodeOf(ROOT).nlink).toBe(before + 1);
  });

  it('create and symlink: one TxService.Create each (symlink: target, its length, mode 0777); lookup: GetDentry then GetInode', async () => {
    const file = await fs.create(3, 'a.txt', { ...ATTRS, mode: 0o644 });
    const link = await fs.symlink(3, 'to-a', 'a.txt', { uid: 0, gid: 0 });
    expect(sequence()).toEqual(['TxCreate/10', 'TxCreate/10']);
    expect(file).toMatchObject({ inodeId: 4, mode: 0o100644, nlink: 1, parent: [3] });
    const [fileCreate, linkCreate] = requestsOf('TxCreate');
    expect(fileCreate).toMatchObject({ inodePartitionId: 10, dst: { partitionId: 10, parentInodeId: 3, name: 'a.txt' }, type: FsFileType.TYPE_FILE, mode: 0o100644 });
    expect(linkCreate).toMatchObject({ inodePartitionId: 10, dst: { partitionId: 10, parentInodeId: 3, name: 'to-a' }, type: FsFileType.TYPE_SYM_LINK, symlink: 'a.txt', length: 5, mode: 0o120777, uid: 0, gid: 0 });
    // Each operation is its own transaction.
    expect(linkCreate!.txId.seq).toBe(fileCreate!.txId.seq + 1);
    expect(link).toMatchObject({ inodeId: 5, symlink: 'a.txt', length: 5 });
    expect(one.state.entriesOf(FS, 3).map((d) => [d.name, d.inodeId])).toEqual([['a.txt', 4], ['to-a', 5]]);
    calls.length = 0;
    const found = await fs.lookup(3, 'a.txt');
    expect(sequence()).toEqual(['GetDentry/10', 'GetInode/10']);
    expect(found.inodeId).toBe(file.inodeId);
    // Reads carry the highest appliedIndex seen from the copyset.
    expect(requestsOf('GetInode')[0]!.appliedIndex).toBeGreaterThan(0);
  });

  it('lookup of a missing name: MetaClientError NOT_FOUND after one GetDentry', async () => {
    const failure = await fs.lookup(3, 'nope').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect((failure as MetaClientError).code).toBe('NOT_FOUND');
    expect(sequence()).toEqual(['GetDentry/10']);
  });

  it('create onto a taken name: TxService.Create answers DENTRY_EXIST, a MetaClientError of Create; no other call, nothing to undo', async () => {
    const failure = await fs.create(3, 'a.txt', ATTRS).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect(failure).toMatchObject({ code: 'DENTRY_EXIST', method: 'Create' });
    expect(sequence()).toEqual(['TxCreate/10']);
    expect(one.state.entriesOf(FS, 3).map((d) => [d.name, d.inodeId])).toEqual([['a.txt', 4], ['to-a', 5]]);
  });

  it('renameProtocol \'curvefs\': create is CreateInode then CreateDentry (file flag and type set)', async () => {
    const file = await curvefs.create(ROOT, 'f6', ATTRS);
    expect(sequence()).toEqual(['CreateInode/10', 'CreateDentry/10']);
    expect(file.inodeId).toBe(6);
    expect(requestsOf('CreateInode')[0]).toMatchObject({ type: FsFileType.TYPE_FILE, parent: ROOT, mode: 0o100755, uid: 1000, gid: 100, create: T });
    expect(requestsOf('CreateDentry')[0]!.dentry).toMatchObject({ fsId: FS, inodeId: 6, parentInodeId: ROOT, name: 'f6', type: FsFileType.TYPE_FILE, flag: DentryFlag.TYPE_FILE_FLAG });
    expect(one.state.entriesOf(FS, ROOT).find((d) => d.name === 'f6')?.inodeId).toBe(6);
  });

  it('a full partition: TxService.Create answers PARTITION_ALLOC_ID_FAIL, the next candidate (another copyset) gets a new one with a new txId; later creates go there directly', async () => {
    // Partition 10 holds ids up to 9; 3..6 are used, so three more fit.
    for (const name of ['f7', 'f8', 'f9']) await fs.create(ROOT, name, ATTRS);
    calls.length = 0;
    const spilled = await fs.create(ROOT, 'f10', ATTRS);
    expect(sequence()).toEqual(['TxCreate/10', 'TxCreate/10']);
    expect(spilled.inodeId).toBe(10);
    const [full, moved] = requestsOf('TxCreate');
    expect(full).toMatchObject({ inodePartitionId: 10, dst: { partitionId: 10, parentInodeId: ROOT, name: 'f10' } });
    expect(moved).toMatchObject({
      poolId: 1, copysetId: 1, fsId: FS, inodePartitionId: 20, dst: { partitionId: 10, parentInodeId: ROOT, name: 'f10' },
      type: FsFileType.TYPE_FILE, mode: 0o100755, uid: 1000, gid: 100, time: T,
    });
    expect(moved!.txId.seq).toBe(full!.txId.seq + 1);
    expect(moved!.routes.map((route: { partitionId: number }) => route.partitionId)).toEqual([10, 20]);
    expect(client.partitions.isWritable(client.partitions.partition(10)!)).toBe(false);
    calls.length = 0;
    // 'curvefs' shares the table: straight to partition 20, the entry with its parent in 10.
    const next = await curvefs.create(ROOT, 'f11', ATTRS);
    expect(sequence()).toEqual(['CreateInode/20', 'CreateDentry/10']);
    expect(next.inodeId).toBe(11);
    calls.length = 0;
    // The inode lives in copyset 2, its entry with the parent in copyset 1.
    expect((await fs.lookup(ROOT, 'f11')).inodeId).toBe(11);
    expect(sequence()).toEqual(['GetDentry/10', 'GetInode/20']);
  });

  it('readdir pages with last/count until a short page; readdirPage returns one page', async () => {
    const names: string[] = [];
    for await (const entry of fs.readdir(ROOT)) names.push(entry.name);
    expect(names).toEqual(['.recycle', 'docs', 'f10', 'f11', 'f6', 'f7', 'f8', 'f9']);
    const lists = requestsOf('ListDentry');
    expect(lists.map((r) => [r.last, r.count])).toEqual([
      [undefined, 3],
      ['f10', 3],
      ['f7', 3],
    ]);
    expect(sequence()).toEqual(['ListDentry/10', 'ListDentry/10', 'ListDentry/10']);
    const page = await fs.readdirPage(ROOT, { last: 'f6', count: 2 });
    expect(page.entries.map((d) => d.name)).toEqual(['f7', 'f8']);
    expect(page).toMatchObject({ last: 'f8', done: false });
    const tail = await fs.readdirPage(ROOT, { last: 'f8', count: 2 });
    expect(tail).toMatchObject({ last: 'f9', done: true });
  });

  it('readdirPlusPage: ListDentry, then one BatchGetInodeAttr per partition holding the entries', async () => {
    const page = await fs.readdirPlusPage(ROOT, { last: 'docs', count: 3 });
    expect(page.entries.map((e) => e.dentry.name)).toEqual(['f10', 'f11', 'f6']);
    expect(page.entries.map((e) => e.attr?.inodeId)).toEqual([10, 11, 6]);
    expect(sequence()).toEqual(['ListDentry/10', 'BatchGetInodeAttr/10', 'BatchGetInodeAttr/20']);
    expect(requestsOf('BatchGetInodeAttr').map((r) => r.inodeId)).toEqual([[6], [10, 11]]);
  });

  it('getattr: GetInode; setattr: GetInode then UpdateInode with the changed fields and ctime', async () => {
    await fs.getattr(11);
    expect(sequence()).toEqual(['GetInode/20']);
    calls.length = 0;
    const updated = await fs.setattr(11, { mode: 0o600, length: 4096 });
    expect(sequence()).toEqual(['GetInode/20', 'UpdateInode/20']);
    const [update] = requestsOf('UpdateInode');
    expect(update).toMatchObject({ inodeId: 11, mode: 0o100600, length: 4096, ctime: T.sec, ctime_ns: T.nsec });
    expect(update!.uid).toBeUndefined();
    expect(update!.nlink).toBeUndefined();
    expect(updated.mode).toBe(0o100600);
    expect(inodeOf(11)).toMatchObject({ mode: 0o100600, length: 4096 });
  });

  it('link: GetInode, then (the inode in another copyset than the new parent) one TxService.Link; a directory is refused', async () => {
    const linked = await fs.link(11, 3, 'hard');
    expect(sequence()).toEqual(['GetInode/20', 'TxLink/10']);
    expect(requestsOf('TxLink')[0]).toMatchObject({ poolId: 1, copysetId: 1, inodeId: 11, dst: { partitionId: 10, parentInodeId: 3, name: 'hard' }, time: T });
    expect(linked.nlink).toBe(2);
    expect(inodeOf(11)).toMatchObject({ nlink: 2, parent: [ROOT, 3] });
    calls.length = 0;
    await expect(fs.link(3, ROOT, 'dirlink')).rejects.toMatchObject({ code: 'IS_DIRECTORY' });
    expect(sequence()).toEqual(['GetInode/10']);
  });

  it('link onto a taken name: TxService.Link answers DENTRY_EXIST; nothing changed', async () => {
    const failure = await fs.link(11, ROOT, 'f6').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'DENTRY_EXIST', method: 'Link' });
    expect(sequence()).toEqual(['GetInode/20', 'TxLink/10']);
    expect(inodeOf(11)).toMatchObject({ nlink: 2, parent: [ROOT, 3] });
  });

  it('unlink: GetDentry, then (the inode in another copyset) one TxService.Unlink; the child loses a link', async () => {
    await fs.unlink(3, 'hard');
    expect(sequence()).toEqual(['GetDentry/10', 'TxUnlink/10']);
    expect(requestsOf('TxUnlink')[0]).toMatchObject({ name: { partitionId: 10, parentInodeId: 3, name: 'hard' }, directory: false, time: T });
    expect(inodeOf(11)).toMatchObject({ nlink: 1, parent: [ROOT] });
    calls.length = 0;
    await fs.unlink(ROOT, 'f11');
    expect(inodeOf(11).nlink).toBe(0); // the server's trash takes it from here
    expect(inodeOf(11).dtime).toBeDefined();
    await expect(fs.unlink(ROOT, 'docs')).rejects.toMatchObject({ code: 'IS_DIRECTORY' });
  });

  it('rmdir, renameProtocol \'curvefs\': a non-empty directory is refused after GetDentry and ListDentry(count 1)', async () => {
    const failure = await curvefs.rmdir(ROOT, 'docs').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FsError);
    expect((failure as FsError).code).toBe('NOT_EMPTY');
    expect(sequence()).toEqual(['GetDentry/10', 'ListDentry/10']);
    expect(requestsOf('ListDentry')[0]).toMatchObject({ dirInodeId: 3, count: 1 });
    await expect(curvefs.rmdir(ROOT, 'f6')).rejects.toMatchObject({ code: 'NOT_DIRECTORY' });
  });

  it('rmdir, \'metaraft\': a non-empty directory in the same copyset as its entry is refused by one TxService.Unlink (the server checks emptiness)', async () => {
    const rootLinks = inodeOf(ROOT).nlink;
    const failure = await fs.rmdir(ROOT, 'docs').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FsError);
    expect((failure as FsError).code).toBe('NOT_EMPTY');
    expect(sequence()).toEqual(['GetDentry/10', 'TxUnlink/10']);
    expect(requestsOf('TxUnlink')[0]).toMatchObject({ name: { partitionId: 10, parentInodeId: ROOT, name: 'docs' }, directory: true });
    expect(one.state.entriesOf(FS, ROOT).map((d) => d.name)).toContain('docs');
    expect(inodeOf(3).nlink).toBe(2);
    expect(inodeOf(ROOT).nlink).toBe(rootLinks);
    calls.length = 0;
    // The type check stays the client's: no TxService call for a file.
    await expect(fs.rmdir(ROOT, 'f6')).rejects.toMatchObject({ code: 'NOT_DIRECTORY' });
    expect(sequence()).toEqual(['GetDentry/10']);
  });

  it('rmdir of an empty directory held by another copyset: GetDentry, then one TxService.Unlink (directory; no ListDentry: the server checks)', async () => {
    const empty = await fs.mkdir(ROOT, 'empty', ATTRS);
    expect(empty.inodeId).toBeGreaterThanOrEqual(10); // partition 10 is full
    // Known full: one TxService.Create, straight to partition 20.
    expect(sequence()).toEqual(['TxCreate/10']);
    expect(requestsOf('TxCreate')[0]).toMatchObject({ inodePartitionId: 20, type: FsFileType.TYPE_DIRECTORY });
    const parentLinks = inodeOf(ROOT).nlink;
    calls.length = 0;
    await fs.rmdir(ROOT, 'empty');
    expect(sequence()).toEqual(['GetDentry/10', 'TxUnlink/10']);
    expect(requestsOf('TxUnlink')[0]).toMatchObject({ name: { partitionId: 10, parentInodeId: ROOT, name: 'empty' }, directory: true });
    expect(inodeOf(ROOT).nlink).toBe(parentLinks - 1);
    expect(inodeOf(empty.inodeId).nlink).toBe(0);
  });
});

describe('rename, renameProtocol \'curvefs\' (CurveFS\'s PrepareRenameTx sequence)', () => {
  it('within one directory: GetDentry, GetDentry (absent), PrepareRenameTx with both dentries at txId + 1', async () => {
    await curvefs.rename(3, 'a.txt', 3, 'b.txt');
    expect(sequence()).toEqual(['GetDentry/10', 'GetDentry/10', 'PrepareRenameTx/10']);
    const [prepare] = requestsOf('PrepareRenameTx');
    const [source, destination] = prepare!.dentrys;
    expect(source).toMatchObject({ parentInodeId: 3, name: 'a.txt', inodeId: 4, txId: 1 });
    expect(source.flag & DentryFlag.DELETE_MARK_FLAG).toBeTruthy();
    expect(source.flag & DentryFlag.TRANSACTION_PREPARE_FLAG).toBeTruthy();
    expect(destination).toMatchObject({ parentInodeId: 3, name: 'b.txt', inodeId: 4, txId: 1, flag: DentryFlag.TYPE_FILE_FLAG | DentryFlag.TRANSACTION_PREPARE_FLAG });
    expect(one.state.entriesOf(FS, 3).map((d) => d.name)).toEqual(['b.txt', 'to-a']);
    // The partition's committed txId is now 1, and dentry reads carry it.
    expect(client.partitions.txIdOf(10)).toBe(1);
    calls.length = 0;
    await fs.lookup(3, 'b.txt');
    expect(requestsOf('GetDentry')[0]!.txId).toBe(1);
  });

  it('over an existing file: the replaced inode loses a link (GetInode, UpdateInode nlink − 1)', async () => {
    await curvefs.rename(3, 'to-a', 3, 'b.txt');
    expect(sequence()).toEqual(['GetDentry/10', 'GetDentry/10', 'PrepareRenameTx/10', 'GetInode/10', 'UpdateInode/10']);
    expect(requestsOf('UpdateInode')[0]).toMatchObject({ inodeId: 4, nlink: 0 });
    expect(requestsOf('PrepareRenameTx')[0]!.dentrys[0].txId).toBe(2);
    expect(one.state.entriesOf(FS, 3).map((d) => [d.name, d.inodeId])).toEqual([['b.txt', 5]]);
  });

  it('a directory to another parent: the parents\' nlinks and the moved inode\'s parent list follow', async () => {
    const docsBefore = inodeOf(3).nlink;
    // CurveFS's mkdir: CreateInode (partition 10 is full: 20), CreateDentry with type directory, which bumps the parent's nlink.
    const sub = await curvefs.mkdir(3, 'sub', ATTRS);
    expect(sequence()).toEqual(['CreateInode/20', 'CreateDentry/10']);
    expect(requestsOf('CreateInode')[0]).toMatchObject({ type: FsFileType.TYPE_DIRECTORY, parent: 3, mode: 0o040755 });
    expect(requestsOf('CreateDentry')[0]!.dentry).toMatchObject({ inodeId: sub.inodeId, parentInodeId: 3, name: 'sub', type: FsFileType.TYPE_DIRECTORY });
    expect(inodeOf(3).nlink).toBe(docsBefore + 1);
    const rootLinks = inodeOf(ROOT).nlink;
    const docsLinks = inodeOf(3).nlink;
    calls.length = 0;
    await curvefs.rename(3, 'sub', ROOT, 'moved');
    const where = sub.inodeId < 10 ? 10 : 20;
    expect(sequence()).toEqual([
      'GetDentry/10',
      'GetDentry/10',
      'GetInode/10', // LinkDestParentInode: the new parent
      'UpdateInode/10',
      'PrepareRenameTx/10',
      'GetInode/10', // UnlinkSrcParentInode: the old parent
      'UpdateInode/10',
      `GetInode/${where}`, // UpdateInodeParent: the moved directory
      `UpdateInode/${where}`,
    ]);
    expect(inodeOf(ROOT).nlink).toBe(rootLinks + 1);
    expect(inodeOf(3).nlink).toBe(docsLinks - 1);
    expect(inodeOf(sub.inodeId).parent).toEqual([ROOT]);
  });

  it('over a non-empty directory: NOT_EMPTY after GetDentry, GetDentry, ListDentry; nothing written', async () => {
    await fs.mkdir(ROOT, 'src-dir', ATTRS);
    calls.length = 0;
    await expect(curvefs.rename(ROOT, 'src-dir', ROOT, 'docs')).rejects.toMatchObject({ code: 'NOT_EMPTY' });
    expect(sequence()).toEqual(['GetDentry/10', 'GetDentry/10', 'ListDentry/10']);
  });

  it('parents in different partitions: CROSS_PARTITION, no RPC', async () => {
    const far = await fs.mkdir(ROOT, 'far', ATTRS); // partition 10 is full: lives in 20
    expect(far.inodeId).toBeGreaterThanOrEqual(10);
    calls.length = 0;
    await expect(curvefs.rename(ROOT, 'f6', far.inodeId, 'f6')).rejects.toMatchObject({ code: 'CROSS_PARTITION' });
    expect(sequence()).toEqual([]);
  });

  it('an atomicRename call given replaces MetaServerClient.rename as the sender of the one call (file system in one copyset)', async () => {
    const sent: AtomicRenameRequest[] = [];
    const single = new MetaServerClient({ partitions: one.routes([p10]), transport: new GrpcPeerTransport() });
    try {
      const seamed = new FsClient({ client: single, fsId: FS, now: () => T, atomicRename: async (request) => void sent.push(request) });
      await seamed.rename(ROOT, 'f6', 3, 'f6-moved');
      expect(sequence()).toEqual([]);
      expect(sent).toEqual([
        { poolId: 1, copysetId: 1, fsId: FS, srcPartitionId: 10, srcParentInodeId: ROOT, srcName: 'f6', dstPartitionId: 10, dstParentInodeId: 3, dstName: 'f6-moved', create: T },
      ]);
    } finally {
      single.close();
    }
  });
});

describe('rename, renameProtocol \'metaraft\' (the default): one MetaraftService.Rename', () => {
  it('a file system in ONE copyset: exactly one Rename, routed by the source partition; refusals are MetaClientError of Rename', async () => {
    // A second partition of copyset 1 with ids left (partition 10 is full by now): the file system of `single` is copyset 1 alone.
    const p30 = one.partition(FS, 30, 1000, 1999);
    const single = new MetaServerClient({ partitions: one.routes([p10, p30]), transport: new GrpcPeerTransport(), retry: { initialBackoffMs: 5, maxBackoffMs: 50, operationTimeoutMs: 5_000 } });
    try {
      const solo = new FsClient({ client: single, fsId: FS, now: () => T });
      const file = await solo.create(ROOT, 'solo', ATTRS);
      calls.length = 0;
      await solo.rename(ROOT, 'solo', 3, 'solo2');
      expect(sequence()).toEqual(['Rename/10']);
      expect(requestsOf('Rename')).toEqual([
        { poolId: 1, copysetId: 1, fsId: FS, srcPartitionId: 10, srcParentInodeId: ROOT, srcName: 'solo', dstPartitionId: 10, dstParentInodeId: 3, dstName: 'solo2', create: T },
      ]);
      expect(one.state.entriesOf(FS, ROOT).map((d) => d.name)).not.toContain('solo');
      expect(one.state.entriesOf(FS, 3).find((d) => d.name === 'solo2')?.inodeId).toBe(file.inodeId);

      calls.length = 0;
      const failure = await solo.rename(ROOT, 'no-such-name', 3, 'x').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MetaClientError);
      expect(failure).toMatchObject({ code: 'NOT_FOUND', method: 'Rename' });
      expect(sequence()).toEqual(['Rename/10']);
    } finally {
      single.close();
    }
  });

  it('a file system over several copysets, parents in one: MetaraftService.Rename, TX_FAILED (the inodes are elsewhere), then one TxService.Rename with every route', async () => {
    const moved = await fs.create(ROOT, 'm1', ATTRS); // partition 10 is full: inode in 20 (copyset 2)
    const old = await fs.create(3, 'm2', ATTRS);
    expect([moved.inodeId, old.inodeId].every((id) => id >= 10)).toBe(true);
    calls.length = 0;
    await fs.rename(ROOT, 'm1', 3, 'm2');
    expect(sequence()).toEqual(['Rename/10', 'TxRename/10']);
    const [rename] = requestsOf('TxRename');
    expect(rename).toMatchObject({ poolId: 1, copysetId: 1, fsId: FS, src: { partitionId: 10, parentInodeId: ROOT, name: 'm1' }, dst: { partitionId: 10, parentInodeId: 3, name: 'm2' }, time: T });
    expect(rename!.routes).toEqual([
      { poolId: 1, copysetId: 1, partitionId: 10, start: 0, end: 9, peers: one.addresses },
      { poolId: 1, copysetId: 2, partitionId: 20, start: 10, end: 999, peers: two.addresses },
    ]);
    expect(Number.isSafeInteger(rename!.txId.clientId)).toBe(true);
    expect(rename!.ackedBelow).toBe(rename!.txId.seq);
    expect(one.state.entriesOf(FS, ROOT).map((d) => d.name)).not.toContain('m1');
    expect(one.state.entriesOf(FS, 3).find((d) => d.name === 'm2')?.inodeId).toBe(moved.inodeId);
    expect(inodeOf(moved.inodeId).parent).toEqual([3]);
    expect(inodeOf(old.inodeId).nlink).toBe(0);
  });

  it('parents in different copysets: one TxService.Rename to the source parent\'s copyset', async () => {
    const far = await fs.mkdir(ROOT, 'far2', ATTRS);
    expect(far.inodeId).toBeGreaterThanOrEqual(10); // in partition 20, copyset 2
    const file = await fs.create(ROOT, 'm3', ATTRS);
    calls.length = 0;
    await fs.rename(ROOT, 'm3', far.inodeId, 'm3');
    expect(sequence()).toEqual(['TxRename/10']);
    expect(requestsOf('TxRename')[0]).toMatchObject({ poolId: 1, copysetId: 1, src: { partitionId: 10, name: 'm3' }, dst: { partitionId: 20, parentInodeId: far.inodeId, name: 'm3' } });
    expect(two.state.entriesOf(FS, far.inodeId).map((d) => [d.name, d.inodeId])).toEqual([['m3', file.inodeId]]);
    expect(one.state.entriesOf(FS, ROOT).map((d) => d.name)).not.toContain('m3');
  });

  it('options: an unknown protocol, or atomicRename with the CurveFS protocol, are refused', () => {
    expect(() => new FsClient({ client, fsId: FS, renameProtocol: 'posix' as never })).toThrow(RangeError);
    expect(() => new FsClient({ client, fsId: FS, renameProtocol: 'curvefs', atomicRename: async () => undefined })).toThrow(RangeError);
  });
});
