/**
 * metaraft.meta.MetaraftService.Rename over real gRPC against three MetaServers in this
 * process (one copyset, two partitions): POSIX rename inside one copyset in one log
 * entry, and the routing checks in wire.md's order.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FsFileType, MetaStatusCode, PartitionStatus, messageCodec, type Inode } from '../../src/proto/index.ts';
import { GrpcCaller, META, ServerSet, waitFor } from './harness.ts';

const MR = 'metaraft.meta.MetaraftService';
const POOL = 1;
const COPYSET = 1;
const FS = 9;
const P1 = { poolId: POOL, copysetId: COPYSET, partitionId: 1 };
const P2 = { poolId: POOL, copysetId: COPYSET, partitionId: 2 };
const ROOT = 1;
const CREATED = { sec: 1_700_000_000, nsec: 1 };
const RENAMED = { sec: 1_800_000_000, nsec: 7 };

type Partition = typeof P1;

let set: ServerSet;
let leader: GrpcCaller;
let follower: GrpcCaller;
let leaderIndex = 0;

/** Partition of an inode id: P1 holds [0, 999], P2 [1000, 1999]. */
function partitionOf(inodeId: number): Partition {
  return inodeId < 1000 ? P1 : P2;
}

/** Creates an inode in `where` and its dentry (in the parent's partition); returns the inode id. */
async function make(where: Partition, parent: number, name: string, type: FsFileType): Promise<number> {
  const inode = await leader.call(META, 'CreateInode', { ...where, fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o755, type, parent, create: CREATED });
  expect(inode.statusCode).toBe(MetaStatusCode.OK);
  const inodeId = inode.inode!.inodeId;
  const dentry = await leader.call(META, 'CreateDentry', { ...partitionOf(parent), dentry: { fsId: FS, inodeId, parentInodeId: parent, name, type }, create: CREATED });
  expect(dentry.statusCode).toBe(MetaStatusCode.OK);
  return inodeId;
}

async function inode(inodeId: number): Promise<Inode> {
  const answer = await leader.call(META, 'GetInode', { ...partitionOf(inodeId), fsId: FS, inodeId });
  expect(answer.statusCode).toBe(MetaStatusCode.OK);
  return answer.inode!;
}

async function lookup(parent: number, name: string): Promise<number | undefined> {
  const answer = await leader.call(META, 'GetDentry', { ...partitionOf(parent), fsId: FS, parentInodeId: parent, name });
  if (answer.statusCode === MetaStatusCode.NOT_FOUND) return undefined;
  expect(answer.statusCode).toBe(MetaStatusCode.OK);
  return answer.dentry!.inodeId;
}

function rename(caller: GrpcCaller, srcParent: number, srcName: string, dstParent: number, dstName: string) {
  return caller.call(MR, 'Rename', {
    poolId: POOL,
    copysetId: COPYSET,
    fsId: FS,
    srcPartitionId: partitionOf(srcParent).partitionId,
    srcParentInodeId: srcParent,
    srcName,
    dstPartitionId: partitionOf(dstParent).partitionId,
    dstParentInodeId: dstParent,
    dstName,
    create: RENAMED,
  });
}

let dirA = 0; // in P1
let dirB = 0; // in P2

beforeAll(async () => {
  set = await ServerSet.start(3);
  await set.createCopyset(POOL, COPYSET);
  leaderIndex = await set.leaderOf(POOL, COPYSET);
  leader = set.callers[leaderIndex]!;
  follower = set.callers[(leaderIndex + 1) % 3]!;
  for (const [partitionId, start, end] of [[1, 0, 999], [2, 1000, 1999]] as const) {
    const answer = await leader.call(META, 'CreatePartition', { partition: { fsId: FS, poolId: POOL, copysetId: COPYSET, partitionId, start, end, status: PartitionStatus.READWRITE } });
    expect(answer.statusCode).toBe(MetaStatusCode.OK);
  }
  expect((await leader.call(META, 'CreateRootInode', { ...P1, fsId: FS, uid: 0, gid: 0, mode: 0o755, create: CREATED })).statusCode).toBe(MetaStatusCode.OK);
  dirA = await make(P1, ROOT, 'a', FsFileType.TYPE_DIRECTORY);
  dirB = await make(P2, ROOT, 'b', FsFileType.TYPE_DIRECTORY);
  expect(dirA).toBeLessThan(1000);
  expect(dirB).toBeGreaterThanOrEqual(1000);
}, 30_000);

afterAll(async () => {
  await set?.close();
});

describe('Rename', () => {
  test('a file within one directory: one ListDentry answer has the new name and not the old', async () => {
    const file = await make(P1, dirA, 'f', FsFileType.TYPE_FILE);
    const before = await inode(dirA);
    const answer = await rename(leader, dirA, 'f', dirA, 'f2');
    expect(answer.statusCode).toBe(MetaStatusCode.OK);
    expect(answer.appliedIndex).toBeGreaterThan(0);
    const list = await leader.call(META, 'ListDentry', { ...P1, fsId: FS, dirInodeId: dirA, count: 100 });
    expect(list.appliedIndex).toBeGreaterThanOrEqual(answer.appliedIndex!);
    const names = list.dentrys.map((dentry) => dentry.name);
    expect(names).toContain('f2');
    expect(names).not.toContain('f');
    expect(list.dentrys.find((dentry) => dentry.name === 'f2')?.inodeId).toBe(file);
    const after = await inode(dirA);
    expect(after.nlink).toBe(before.nlink);
    expect([after.mtime, after.mtime_ns, after.ctime, after.ctime_ns]).toEqual([RENAMED.sec, RENAMED.nsec, RENAMED.sec, RENAMED.nsec]);
    const moved = await inode(file);
    expect([moved.ctime, moved.ctime_ns]).toEqual([RENAMED.sec, RENAMED.nsec]);
    expect(moved.parent).toEqual([dirA]);
    expect(moved.nlink).toBe(1);
  });

  test('a file and a directory across directories in two partitions: nlink, parent, times', async () => {
    const file = await make(P1, dirA, 'gf', FsFileType.TYPE_FILE);
    const dir = await make(P1, dirA, 'gd', FsFileType.TYPE_DIRECTORY);
    const [aBefore, bBefore] = [await inode(dirA), await inode(dirB)];

    const fileAnswer = await rename(leader, dirA, 'gf', dirB, 'g');
    expect(fileAnswer.statusCode).toBe(MetaStatusCode.OK);
    expect(await lookup(dirA, 'gf')).toBeUndefined();
    expect(await lookup(dirB, 'g')).toBe(file);
    expect((await inode(file)).parent).toEqual([dirB]);
    // A file's move changes no directory's link count.
    expect((await inode(dirA)).nlink).toBe(aBefore.nlink);
    expect((await inode(dirB)).nlink).toBe(bBefore.nlink);

    const dirAnswer = await rename(leader, dirA, 'gd', dirB, 'd');
    expect(dirAnswer.statusCode).toBe(MetaStatusCode.OK);
    expect(dirAnswer.appliedIndex).toBeGreaterThan(fileAnswer.appliedIndex!);
    expect(await lookup(dirA, 'gd')).toBeUndefined();
    expect(await lookup(dirB, 'd')).toBe(dir);
    const [aAfter, bAfter, moved] = [await inode(dirA), await inode(dirB), await inode(dir)];
    // The moved directory's ".." leaves A for B.
    expect(aAfter.nlink).toBe(aBefore.nlink - 1);
    expect(bAfter.nlink).toBe(bBefore.nlink + 1);
    expect(moved.parent).toEqual([dirB]);
    expect([moved.ctime, moved.ctime_ns]).toEqual([RENAMED.sec, RENAMED.nsec]);
    for (const parent of [aAfter, bAfter]) expect([parent.mtime, parent.ctime]).toEqual([RENAMED.sec, RENAMED.sec]);

    // Every replica applies the same entry: the same state, with the new name and not the old.
    await waitFor(() => set.servers.every((server) => server.copysetOf(POOL, COPYSET)!.store.appliedIndex >= dirAnswer.appliedIndex!), 'replicas apply the rename');
    const hashes = set.servers.map((server) => server.copysetOf(POOL, COPYSET)!.store.stateHash());
    expect(new Set(hashes).size).toBe(1);
  });

  test('over an existing file: the replaced inode loses one link and the parent', async () => {
    const source = await make(P1, dirA, 'src', FsFileType.TYPE_FILE);
    const victim = await make(P2, dirB, 'victim', FsFileType.TYPE_FILE);
    // A second link keeps the victim alive, so the decrement is visible.
    expect((await leader.call(META, 'UpdateInode', { ...P2, fsId: FS, inodeId: victim, nlink: 2, parent: [dirB, dirA] })).statusCode).toBe(MetaStatusCode.OK);
    const answer = await rename(leader, dirA, 'src', dirB, 'victim');
    expect(answer.statusCode).toBe(MetaStatusCode.OK);
    expect(await lookup(dirB, 'victim')).toBe(source);
    expect(await lookup(dirA, 'src')).toBeUndefined();
    const replaced = await inode(victim);
    expect(replaced.nlink).toBe(1);
    expect(replaced.parent).toEqual([dirA]);
    expect([replaced.ctime, replaced.ctime_ns]).toEqual([RENAMED.sec, RENAMED.nsec]);
  });

  test('a directory into its own subtree is refused, and nothing changes', async () => {
    const outer = await make(P1, dirA, 'outer', FsFileType.TYPE_DIRECTORY);
    const inner = await make(P2, outer, 'inner', FsFileType.TYPE_DIRECTORY);
    const answer = await rename(leader, dirA, 'outer', inner, 'outer');
    expect(answer.statusCode).toBe(MetaStatusCode.PARAM_ERROR);
    expect(await lookup(dirA, 'outer')).toBe(outer);
    expect(await lookup(inner, 'outer')).toBeUndefined();
    expect((await inode(outer)).parent).toEqual([dirA]);
    expect((await rename(leader, dirA, 'outer', outer, 'self')).statusCode).toBe(MetaStatusCode.PARAM_ERROR);
  });

  test('over a non-empty directory is refused (TARGET_DIRECTORY_EXIST)', async () => {
    await make(P1, dirA, 'mover', FsFileType.TYPE_DIRECTORY);
    const full = await make(P2, dirB, 'full', FsFileType.TYPE_DIRECTORY);
    await make(P2, full, 'child', FsFileType.TYPE_FILE);
    const answer = await rename(leader, dirA, 'mover', dirB, 'full');
    expect(answer.statusCode).toBe(MetaStatusCode.TARGET_DIRECTORY_EXIST);
    expect(await lookup(dirB, 'full')).toBe(full);
    expect(await lookup(dirA, 'mover')).toBeDefined();
  });

  test('a missing source is NOT_FOUND', async () => {
    expect((await rename(leader, dirA, 'nobody', dirB, 'x')).statusCode).toBe(MetaStatusCode.NOT_FOUND);
  });
});

describe('routing and checks', () => {
  test('REDIRECTED from a follower, which changes nothing', async () => {
    await make(P1, dirA, 'stay', FsFileType.TYPE_FILE);
    const answer = await rename(follower, dirA, 'stay', dirA, 'gone');
    expect(answer.statusCode).toBe(MetaStatusCode.REDIRECTED);
    expect(answer.appliedIndex).toBeGreaterThan(0);
    expect(await lookup(dirA, 'stay')).toBeDefined();
    expect(await lookup(dirA, 'gone')).toBeUndefined();
  });

  test('COPYSET_NOTEXIST for a copyset this server does not host', async () => {
    const answer = await leader.call(MR, 'Rename', {
      poolId: POOL, copysetId: 99, fsId: FS, srcPartitionId: 1, srcParentInodeId: dirA, srcName: 'x', dstPartitionId: 1, dstParentInodeId: dirA, dstName: 'y',
    });
    expect(answer.statusCode).toBe(MetaStatusCode.COPYSET_NOTEXIST);
    expect(answer.appliedIndex).toBe(0);
  });

  test('PARAM_ERROR for a request missing required fields, and for a bad name', async () => {
    // A Time's bytes are a RenameRequest with poolId and copysetId only.
    const bytes = Buffer.from(messageCodec('curvefs.metaserver.Time').encode({ sec: POOL, nsec: COPYSET }));
    const raw = new grpc.Client(set.servers[leaderIndex]!.grpcAddress, grpc.credentials.createInsecure());
    const response = await new Promise<{ statusCode: number; appliedIndex?: number }>((resolve, reject) => {
      raw.makeUnaryRequest(
        '/metaraft.meta.MetaraftService/Rename',
        (value: Buffer) => value,
        (value: Buffer) => messageCodec('metaraft.meta.RenameResponse').decode(value),
        bytes,
        (error, value) => (error ? reject(error) : resolve(value!)),
      );
    });
    raw.close();
    expect(response.statusCode).toBe(MetaStatusCode.PARAM_ERROR);
    expect(response.appliedIndex).toBe(0);
    await make(P1, dirA, 'named', FsFileType.TYPE_FILE);
    for (const name of ['a/b', '', 'x'.repeat(256)]) {
      const answer = await rename(leader, dirA, 'named', dirA, name);
      expect(answer.statusCode).toBe(MetaStatusCode.PARAM_ERROR);
    }
    expect(await lookup(dirA, 'named')).toBeDefined();
  });
});

describe('overload', () => {
  let single: ServerSet;
  afterAll(async () => {
    await single?.close();
  });

  test('Renames beyond the in-flight limit (shared with MetaServerService) are answered OVERLOAD', async () => {
    single = await ServerSet.start(1, { maxInFlightRequests: 1, copysets: [{ poolId: POOL, copysetId: COPYSET }] });
    await single.leaderOf(POOL, COPYSET);
    const caller = single.callers[0]!;
    expect((await caller.call(META, 'CreatePartition', { partition: { fsId: FS, poolId: POOL, copysetId: COPYSET, partitionId: 1, start: 0, end: 999, status: PartitionStatus.READWRITE } })).statusCode).toBe(MetaStatusCode.OK);
    expect((await caller.call(META, 'CreateRootInode', { ...P1, fsId: FS, uid: 0, gid: 0, mode: 0o755 })).statusCode).toBe(MetaStatusCode.OK);
    expect((await caller.call(META, 'CreateDentry', { ...P1, dentry: { fsId: FS, inodeId: 500, parentInodeId: ROOT, name: 'x', type: FsFileType.TYPE_FILE } })).statusCode).toBe(MetaStatusCode.OK);
    // The one admitted rename holds the slot while its entry commits; the name moves once.
    const request = { poolId: POOL, copysetId: COPYSET, fsId: FS, srcPartitionId: 1, srcParentInodeId: ROOT, srcName: 'x', dstPartitionId: 1, dstParentInodeId: ROOT, dstName: 'y' };
    const answers = await Promise.all(Array.from({ length: 30 }, () => caller.call(MR, 'Rename', request)));
    const codes = answers.map((answer) => answer.statusCode);
    expect(codes).toContain(MetaStatusCode.OVERLOAD);
    expect(codes.filter((code) => code === MetaStatusCode.OK)).toHaveLength(1);
    expect(codes.every((code) => code === MetaStatusCode.OVERLOAD || code === MetaStatusCode.OK || code === MetaStatusCode.NOT_FOUND)).toBe(true);
  }, 20_000);
});
