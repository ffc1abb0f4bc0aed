/**
 * fsck itself: clean on a namespace made by ordinary single-copyset operations through
 * FsClient, and each rule fires on the corruption it exists for (planted through the
 * log with low-level calls, so the replicas still agree), with nothing else reported.
 * The pure namespace check is also fed hand-made partitions for the cases the server
 * cannot be driven into (a directory cycle, an inode in the wrong partition).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FsClient } from '../../src/client/index.ts';
import { routedTo } from '../../src/client/fs-calls.ts';
import { FsFileType, PartitionStatus, type Dentry, type Inode, type PartitionInfo } from '../../src/metastore/types.ts';
import { inodeKey } from '../../src/metastore/keys.ts';
import { encodeInode } from '../../src/metastore/value-codec.ts';
import { checkNamespace, checkTxState, formatViolations, fsck, type FsckRule, type Violation } from './fsck.ts';
import { TxCluster } from './tx-cluster.ts';

const FILE = { mode: 0o644, uid: 1000, gid: 1000 };
const DIR = { mode: 0o755, uid: 1000, gid: 1000 };
const ROOT = 1;
const GRPC_UNIMPLEMENTED = 12;

function rules(violations: readonly Violation[]): FsckRule[] {
  return [...new Set(violations.map((v) => v.rule))].sort();
}

describe('fsck on a live cluster (one copyset, two partitions)', () => {
  let cluster: TxCluster;
  let fs: FsClient;

  beforeAll(async () => {
    cluster = await TxCluster.start({ servers: 3, copysets: 1, partitions: 2 });
    fs = cluster.client();
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  // link, unlink and rmdir go through TxService, whose records stay a while for retries.
  const expectClean = async (): Promise<void> => {
    const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
    expect(violations, formatViolations(violations)).toEqual([]);
  };

  const expectOnly = async (wanted: FsckRule, mentioning: string): Promise<void> => {
    const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
    expect(rules(violations), formatViolations(violations)).toEqual([wanted]);
    expect(violations.some((v) => v.detail.includes(mentioning)), formatViolations(violations)).toBe(true);
  };

  const inodeCall = (inodeId: number) => ({ ...routedTo(cluster.partitionOfInode(inodeId)), fsId: cluster.fsId, inodeId });

  test('clean after mkdir, create, link, unlink, rename and rmdir', async () => {
    const a = await fs.mkdir(ROOT, 'a', DIR);
    // b's inode in the other partition: renames between a and b cross partitions inside the copyset.
    const b = await cluster.mkdirIn(ROOT, 'b', { partitionId: 2 });
    expect(cluster.partitionOfInode(b.inodeId).partitionId).toBe(2);
    const sub = await fs.mkdir(a.inodeId, 'sub', DIR);
    const f1 = await fs.create(a.inodeId, 'f1', FILE);
    const f2 = await fs.create(b.inodeId, 'f2', FILE);
    await fs.create(sub.inodeId, 'f3', FILE);
    await fs.link(f1.inodeId, b.inodeId, 'f1-link');
    await fs.link(f1.inodeId, a.inodeId, 'f1-again');
    await fs.rename(a.inodeId, 'f1', b.inodeId, 'f1-moved');
    await fs.rename(b.inodeId, 'f2', a.inodeId, 'f2'); // across partitions
    await fs.rename(a.inodeId, 'sub', b.inodeId, 'sub'); // a directory moves to another parent
    const doomed = await fs.create(b.inodeId, 'doomed', FILE);
    await fs.rename(a.inodeId, 'f2', b.inodeId, 'doomed'); // replaces a file: doomed goes to the trash
    await fs.unlink(a.inodeId, 'f1-again');
    const empty = await fs.mkdir(b.inodeId, 'empty', DIR);
    await fs.rmdir(b.inodeId, 'empty');
    expect((await fs.getattr(f1.inodeId)).nlink).toBe(2);
    expect((await fs.getattr(doomed.inodeId)).nlink).toBe(0);
    expect((await fs.getattr(empty.inodeId)).nlink).toBe(0);
    expect((await fs.getattr(b.inodeId)).nlink).toBe(3); // sub moved in
    expect(f2.inodeId).toBeGreaterThan(0);
    await expectClean();
  }, 30_000);

  test('a wrong nlink on a file is FILE_NLINK', async () => {
    const file = await fs.create(ROOT, 'nlink-file', FILE);
    await cluster.admin().updateInode({ ...inodeCall(file.inodeId), nlink: 3 });
    await expectOnly('FILE_NLINK', `inode ${file.inodeId}`);
    await cluster.admin().updateInode({ ...inodeCall(file.inodeId), nlink: 1 });
    await expectClean();
  });

  test('a wrong nlink on a directory is DIR_NLINK', async () => {
    const dir = await fs.mkdir(ROOT, 'nlink-dir', DIR);
    await fs.mkdir(dir.inodeId, 'child', DIR);
    await cluster.admin().updateInode({ ...inodeCall(dir.inodeId), nlink: 2 });
    await expectOnly('DIR_NLINK', `directory ${dir.inodeId}`);
    await cluster.admin().updateInode({ ...inodeCall(dir.inodeId), nlink: 3 });
    await expectClean();
  });

  test('a parent list that disagrees with the names is PARENT_LIST', async () => {
    const file = await fs.create(ROOT, 'parents', FILE);
    const other = await fs.mkdir(ROOT, 'parents-dir', DIR);
    await cluster.admin().updateInode({ ...inodeCall(file.inodeId), parent: [other.inodeId] });
    await expectOnly('PARENT_LIST', `inode ${file.inodeId}`);
    await cluster.admin().updateInode({ ...inodeCall(file.inodeId), parent: [ROOT, ROOT] });
    await expectOnly('PARENT_LIST', `inode ${file.inodeId}`); // a multiset: one name, two parents listed
    await cluster.admin().updateInode({ ...inodeCall(file.inodeId), parent: [ROOT] });
    await expectClean();
  });

  test('a dentry naming a missing inode is DANGLING_DENTRY', async () => {
    const missing = cluster.partitionOfInode(ROOT).start + 999_999;
    await cluster.admin().createDentry({
      ...routedTo(cluster.partitionOfDentry(ROOT)),
      dentry: { fsId: cluster.fsId, inodeId: missing, parentInodeId: ROOT, name: 'dangling', type: FsFileType.TYPE_FILE, flag: 1 },
    });
    await expectOnly('DANGLING_DENTRY', `→ ${missing}`);
    await cluster.admin().deleteDentry({ ...routedTo(cluster.partitionOfDentry(ROOT)), fsId: cluster.fsId, parentInodeId: ROOT, name: 'dangling', type: FsFileType.TYPE_FILE });
    await expectClean();
  });

  test('a dentry naming an inode in the trash is DENTRY_TO_TRASH', async () => {
    const file = await fs.create(ROOT, 'trashed', FILE);
    await cluster.admin().updateInode({ ...inodeCall(file.inodeId), nlink: 0 });
    await expectOnly('DENTRY_TO_TRASH', `→ ${file.inodeId}`);
    await cluster.admin().deleteDentry({ ...routedTo(cluster.partitionOfDentry(ROOT)), fsId: cluster.fsId, parentInodeId: ROOT, name: 'trashed', type: FsFileType.TYPE_FILE });
    await expectClean();
  });

  test('a live inode without a name is ORPHAN_FILE; a live unnamed directory is DIR_NAMES and UNREACHABLE_DIR', async () => {
    const partition = routedTo(cluster.partitionOfInode(ROOT));
    const orphan = (await cluster.admin().createInode({ ...partition, fsId: cluster.fsId, length: 0, uid: 0, gid: 0, mode: 0o100644, type: FsFileType.TYPE_FILE, parent: ROOT })).inode!;
    await expectOnly('ORPHAN_FILE', `inode ${orphan.inodeId}`);
    await cluster.admin().updateInode({ ...inodeCall(orphan.inodeId), nlink: 0 }); // to the trash: no longer live
    await expectClean();
    const lost = (await cluster.admin().createInode({ ...partition, fsId: cluster.fsId, length: 0, uid: 0, gid: 0, mode: 0o40755, type: FsFileType.TYPE_DIRECTORY, parent: ROOT })).inode!;
    const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
    expect(rules(violations), formatViolations(violations)).toEqual(['DIR_NAMES', 'UNREACHABLE_DIR']);
    await cluster.admin().updateInode({ ...inodeCall(lost.inodeId), nlink: 0 });
    await expectClean();
  });

  test('leftover transaction state: intents always, records unless allowed', async () => {
    const leader = await cluster.leaderOf(cluster.poolId, 1);
    const store = leader.copysetOf(cluster.poolId, 1)!.store;
    const own = Object.getOwnPropertyDescriptor(store, 'tx');
    Object.defineProperty(store, 'tx', { value: { intentCount: 1, recordCount: 2 }, configurable: true, writable: true });
    try {
      const noWait = { compareReplicas: false, quiesceMs: 0 };
      expect(rules(await fsck(cluster, cluster.fsId, noWait))).toEqual(['INTENTS_LEFT', 'RECORDS_LEFT']);
      expect(rules(await fsck(cluster, cluster.fsId, { ...noWait, allowRecords: true }))).toEqual(['INTENTS_LEFT']);
      Object.defineProperty(store, 'tx', { value: { intentCount: 0, recordCount: 2 }, configurable: true, writable: true });
      expect(await fsck(cluster, cluster.fsId, { ...noWait, allowRecords: true })).toEqual([]);
    } finally {
      if (own === undefined) delete (store as unknown as { tx?: unknown }).tx;
      else Object.defineProperty(store, 'tx', own);
    }
    expect(checkTxState('x', { intentCount: 0, recordCount: 0 })).toEqual([]);
  });

  test('a replica whose state differs at the same applied index is REPLICA_DIVERGED', async () => {
    const leader = await cluster.leaderOf(cluster.poolId, 1);
    const follower = cluster.replicaStores(cluster.poolId, 1).find((r) => cluster.servers[r.server] !== leader)!.store;
    const partitionId = cluster.partitionOfInode(ROOT).partitionId;
    const root = follower.getInode(partitionId, ROOT)!;
    const key = inodeKey(partitionId, cluster.fsId, ROOT);
    // Behind the log's back, on one replica only (what a nondeterministic apply would do).
    follower.applyRecord({ type: 'set', key, value: encodeInode({ ...root, nlink: root.nlink + 5 }) });
    try {
      const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
      expect(rules(violations), formatViolations(violations)).toEqual(['REPLICA_DIVERGED']);
    } finally {
      follower.applyRecord({ type: 'set', key, value: encodeInode(root) });
    }
    await expectClean();
  });

  test('a stopped replica that missed writes is caught up after restart and compared', async () => {
    const follower = cluster.running().find((i) => cluster.servers[i] !== cluster.leaderNow(cluster.poolId, 1))!;
    const nodeId = cluster.servers[follower]!.nodeId;
    await cluster.stopServer(follower);
    await fs.create(ROOT, 'while-down', FILE);
    const restarted = await cluster.restartServer(follower);
    expect(restarted.nodeId).toBe(nodeId);
    expect(cluster.servers[follower]).toBe(restarted);
    await expectClean();
    expect(cluster.replicaStores(cluster.poolId, 1)).toHaveLength(3);
  }, 30_000);
});

describe('TxCluster: a file system over 3 copysets', () => {
  let cluster: TxCluster;
  let fs: FsClient;

  beforeAll(async () => {
    cluster = await TxCluster.start(); // 3 servers, 3 copysets × 2 partitions
    fs = cluster.client();
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  test('partitions are dealt round robin; every copyset has a leader in this process', async () => {
    expect(cluster.partitions.map((p) => p.copysetId)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(cluster.copysetOfInode(ROOT)).toBe(1);
    expect(cluster.partitionOfDentry(ROOT).partitionId).toBe(1);
    for (const copysetId of cluster.copysetIds) {
      const leader = await cluster.leaderOf(cluster.poolId, copysetId);
      expect(leader.copysetOf(cluster.poolId, copysetId)!.isLeader()).toBe(true);
      expect(cluster.partitionsOfCopyset(copysetId)).toHaveLength(2);
    }
  });

  test('mkdirIn and createIn place inodes in the chosen copyset; the namespace stays clean', async () => {
    const dirs = [];
    for (const copysetId of cluster.copysetIds) {
      const dir = await cluster.mkdirIn(ROOT, `in-${copysetId}`, copysetId);
      expect(cluster.copysetOfInode(dir.inodeId)).toBe(copysetId);
      dirs.push(dir);
    }
    const file = await cluster.createIn(dirs[1]!.inodeId, 'f', 3);
    expect(cluster.copysetOfInode(file.inodeId)).toBe(3);
    expect((await fs.lookup(dirs[1]!.inodeId, 'f')).inodeId).toBe(file.inodeId);
    expect((await fs.getattr(ROOT)).nlink).toBe(2 + 1 + 3); // .recycle and the three
    const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
    expect(violations, formatViolations(violations)).toEqual([]);
  });

  test('a rename across copysets is all or nothing (refused until the servers serve TxService)', async () => {
    const r = await cluster.placeRename({ src: 1, dst: 2, moved: 3, replaced: 2 });
    expect([r.srcParent, r.dstParent, r.moved.inodeId, r.replaced!.inodeId].map((id) => cluster.copysetOfInode(id))).toEqual([1, 2, 3, 2]);
    const outcome = await fs.rename(r.srcParent, r.srcName, r.dstParent, r.dstName).then(
      () => 'ok',
      (error: unknown) => {
        const { code, grpcCode } = error as { code?: string; grpcCode?: number };
        // Before the servers serve TxService: refused by the client, or UNIMPLEMENTED (gRPC 12) by the server.
        return code === 'RPC_FAILED' && grpcCode === GRPC_UNIMPLEMENTED ? 'UNIMPLEMENTED' : (code ?? String(error));
      },
    );
    expect(['ok', 'CROSS_COPYSET', 'UNIMPLEMENTED']).toContain(outcome);
    const done = outcome === 'ok';
    // Either the whole rename (the name moved, the old b in the trash) or nothing of it.
    expect((await fs.lookup(r.dstParent, r.dstName)).inodeId).toBe(done ? r.moved.inodeId : r.replaced!.inodeId);
    if (done) await expect(fs.lookup(r.srcParent, r.srcName)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    else expect((await fs.lookup(r.srcParent, r.srcName)).inodeId).toBe(r.moved.inodeId);
    expect((await fs.getattr(r.moved.inodeId)).parent).toEqual([done ? r.dstParent : r.srcParent]);
    expect((await fs.getattr(r.replaced!.inodeId)).nlink).toBe(done ? 0 : 1);
    const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
    expect(violations, formatViolations(violations)).toEqual([]);
  });

  test("a copyset's leader stopped and restarted: the others take over, replicas converge", async () => {
    const leader = await cluster.leaderOf(cluster.poolId, 2);
    const index = cluster.servers.indexOf(leader);
    await cluster.stopServer(index);
    const dir = await cluster.mkdirIn(ROOT, 'during-failover', 2);
    expect(cluster.servers.indexOf(await cluster.leaderOf(cluster.poolId, 2))).not.toBe(index);
    await cluster.restartServer(index);
    expect((await fs.getattr(dir.inodeId)).nlink).toBe(2);
    const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
    expect(violations, formatViolations(violations)).toEqual([]);
  }, 40_000);
});

describe('checkNamespace on hand-made partitions', () => {
  const info = (partitionId: number, start: number, end: number): PartitionInfo => ({ fsId: 1, poolId: 1, copysetId: 1, partitionId, start, end, status: PartitionStatus.READWRITE });
  const node = (inodeId: number, type: FsFileType, nlink: number, parent: number[], dtime?: number): Inode => ({
    inodeId, fsId: 1, length: 0, ctime: 0, ctime_ns: 0, mtime: 0, mtime_ns: 0, atime: 0, atime_ns: 0, uid: 0, gid: 0,
    mode: type === FsFileType.TYPE_DIRECTORY ? 0o40755 : 0o100644, nlink, type, xattr: {}, parent, ...(dtime === undefined ? {} : { dtime }),
  });
  const entry = (parentInodeId: number, name: string, inodeId: number, type: FsFileType): Dentry => ({ fsId: 1, parentInodeId, name, inodeId, type });
  const D = FsFileType.TYPE_DIRECTORY;
  const F = FsFileType.TYPE_FILE;

  test('a consistent tree is clean; trash inodes are exempt', () => {
    const inodes = [node(1, D, 3, []), node(10, D, 2, [1]), node(11, F, 2, [1, 10]), node(12, F, 0, [10], 1234)];
    const dentries = [entry(1, 'd', 10, D), entry(1, 'f', 11, F), entry(10, 'g', 11, F)];
    expect(checkNamespace([{ info: info(1, 0, 99), inodes, dentries }])).toEqual([]);
  });

  test('two directories naming each other, cut off from the root, are UNREACHABLE_DIR', () => {
    const inodes = [node(1, D, 2, []), node(10, D, 3, [11]), node(11, D, 3, [10])];
    const dentries = [entry(10, 'x', 11, D), entry(11, 'y', 10, D)];
    const violations = checkNamespace([{ info: info(1, 0, 99), inodes, dentries }]);
    expect(rules(violations), formatViolations(violations)).toEqual(['UNREACHABLE_DIR']);
    expect(violations.filter((v) => v.rule === 'UNREACHABLE_DIR')).toHaveLength(2);
  });

  test('an inode or dentry in a partition that does not own its id is MISPLACED_*; nlink 0 without dtime is TRASH_STATE', () => {
    const one = { info: info(1, 0, 99), inodes: [node(1, D, 2, []), node(150, F, 1, [1])], dentries: [entry(1, 'f', 150, F)] };
    const two = { info: info(2, 100, 199), inodes: [node(160, F, 0, [1])], dentries: [entry(1, 'g', 160, F)] };
    const violations = checkNamespace([one, two]);
    expect(rules(violations), formatViolations(violations)).toEqual(['DENTRY_TO_TRASH', 'MISPLACED_DENTRY', 'MISPLACED_INODE', 'TRASH_STATE']);
  });

  test('a directory with two names and an entry whose type differs from its inode', () => {
    const inodes = [node(1, D, 4, []), node(10, D, 2, [1])];
    const dentries = [entry(1, 'a', 10, D), entry(1, 'b', 10, F)];
    const violations = checkNamespace([{ info: info(1, 0, 99), inodes, dentries }]);
    expect(rules(violations), formatViolations(violations)).toEqual(['DENTRY_TYPE', 'DIR_NAMES', 'PARENT_LIST']);
  });
});
