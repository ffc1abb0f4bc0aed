/**
 * MetaServerService over real gRPC against three MetaServers in this process (one
 * copyset, three replicas): every method, the routing checks in wire.md's order, and
 * appliedIndex on every answer.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DentryFlag, FsFileType, ManageInodeType, MetaStatusCode, PartitionStatus, messageCodec } from '../../src/proto/index.ts';
import { CLI, GrpcCaller, META, ServerSet, waitFor } from './harness.ts';

const POOL = 1;
const COPYSET = 1;
const FS = 7;
const P1 = { poolId: POOL, copysetId: COPYSET, partitionId: 1 };
const P2 = { poolId: POOL, copysetId: COPYSET, partitionId: 2 };
const TIME = { sec: 1_700_000_000, nsec: 5 };

let set: ServerSet;
let leader: GrpcCaller;
let follower: GrpcCaller;
let leaderIndex = 0;

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
}, 30_000);

afterAll(async () => {
  await set?.close();
});

describe('inodes', () => {
  test('CreateRootInode, CreateManageInode, CreateInode, GetInode, UpdateInode, BatchGet*, DeleteInode', async () => {
    const root = await leader.call(META, 'CreateRootInode', { ...P1, fsId: FS, uid: 10, gid: 20, mode: 0o755, create: TIME });
    expect(root.statusCode).toBe(MetaStatusCode.OK);
    expect(root.appliedIndex).toBeGreaterThan(0);
    expect((await leader.call(META, 'CreateRootInode', { ...P1, fsId: FS, uid: 10, gid: 20, mode: 0o755 })).statusCode).toBe(MetaStatusCode.INODE_EXIST);

    const recycle = await leader.call(META, 'CreateManageInode', { ...P1, fsId: FS, uid: 0, gid: 0, mode: 0o700, manageType: ManageInodeType.TYPE_RECYCLE });
    expect(recycle.statusCode).toBe(MetaStatusCode.OK);
    expect(recycle.inode?.inodeId).toBe(2);
    expect((await leader.call(META, 'CreateManageInode', { ...P1, fsId: FS, uid: 0, gid: 0, mode: 0o700, manageType: ManageInodeType.TYPE_NOT_MANAGE })).statusCode).toBe(MetaStatusCode.PARAM_ERROR);

    const file = await leader.call(META, 'CreateInode', { ...P1, fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1, create: TIME });
    expect(file.statusCode).toBe(MetaStatusCode.OK);
    const fileId = file.inode!.inodeId;
    expect(fileId).toBeGreaterThanOrEqual(3);
    expect(file.inode).toMatchObject({ nlink: 1, parent: [1], mtime: TIME.sec, mtime_ns: TIME.nsec });
    expect(file.appliedIndex).toBeGreaterThan(root.appliedIndex!);
    expect((await leader.call(META, 'CreateInode', { ...P1, fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o777, type: FsFileType.TYPE_SYM_LINK, parent: 1 })).statusCode).toBe(MetaStatusCode.SYM_LINK_EMPTY);

    const got = await leader.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: fileId });
    expect(got.statusCode).toBe(MetaStatusCode.OK);
    expect(got.inode).toMatchObject({ inodeId: fileId, fsId: FS, uid: 1, type: FsFileType.TYPE_FILE });
    expect(got.appliedIndex).toBeGreaterThanOrEqual(file.appliedIndex!);
    const missing = await leader.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: 999 });
    expect(missing.statusCode).toBe(MetaStatusCode.NOT_FOUND);
    expect(missing.appliedIndex).toBeGreaterThan(0);

    const xattr = new Map([['user.tag', Uint8Array.of(1, 2, 3)]]);
    const updated = await leader.call(META, 'UpdateInode', { ...P1, fsId: FS, inodeId: fileId, length: 4096, xattr });
    expect(updated.statusCode).toBe(MetaStatusCode.OK);
    expect((await leader.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: fileId })).inode?.length).toBe(4096);
    expect((await leader.call(META, 'UpdateInode', { ...P1, fsId: FS, inodeId: 998, length: 1 })).statusCode).toBe(MetaStatusCode.NOT_FOUND);

    const attrs = await leader.call(META, 'BatchGetInodeAttr', { ...P1, fsId: FS, inodeId: [1, fileId] });
    expect(attrs.statusCode).toBe(MetaStatusCode.OK);
    expect(attrs.attr.map((attr) => attr.inodeId)).toEqual([1, fileId]);
    const partial = await leader.call(META, 'BatchGetInodeAttr', { ...P1, fsId: FS, inodeId: [1, 997] });
    expect(partial.statusCode).toBe(MetaStatusCode.NOT_FOUND);
    expect(partial.attr).toEqual([]);
    const xattrs = await leader.call(META, 'BatchGetXAttr', { ...P1, fsId: FS, inodeId: [fileId] });
    expect(xattrs.statusCode).toBe(MetaStatusCode.OK);
    expect([...xattrs.xattr[0]!.xAttrInfos]).toEqual([['user.tag', Uint8Array.of(1, 2, 3)]]);
    expect(xattrs.appliedIndex).toBeGreaterThanOrEqual(updated.appliedIndex!);

    expect((await leader.call(META, 'DeleteInode', { ...P1, fsId: FS, inodeId: fileId })).statusCode).toBe(MetaStatusCode.OK);
    expect((await leader.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: fileId })).statusCode).toBe(MetaStatusCode.NOT_FOUND);
    expect((await leader.call(META, 'DeleteInode', { ...P1, fsId: FS, inodeId: fileId })).statusCode).toBe(MetaStatusCode.OK);
    // Partition routing: an id outside the partition's range.
    expect((await leader.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: 1500 })).statusCode).toBe(MetaStatusCode.PARTITION_ID_MISSMATCH);
    expect((await leader.call(META, 'GetInode', { ...P1, partitionId: 9, fsId: FS, inodeId: 1 })).statusCode).toBe(MetaStatusCode.PARTITION_NOT_FOUND);
  });

  test('every replica applies what the leader acknowledged', async () => {
    const answer = await leader.call(META, 'CreateInode', { ...P1, fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o755, type: FsFileType.TYPE_DIRECTORY, parent: 1, create: TIME });
    expect(answer.statusCode).toBe(MetaStatusCode.OK);
    await waitFor(() => set.servers.every((server) => server.copysetOf(POOL, COPYSET)!.store.appliedIndex >= answer.appliedIndex!), 'followers apply the write');
    const hashes = set.servers.map((server) => server.copysetOf(POOL, COPYSET)!.store.stateHash());
    expect(new Set(hashes).size).toBe(1);
    for (const server of set.servers) expect(server.copysetOf(POOL, COPYSET)!.store.getInode(1, answer.inode!.inodeId)?.type).toBe(FsFileType.TYPE_DIRECTORY);
  });
});

describe('dentries', () => {
  test('CreateDentry, GetDentry, ListDentry, DeleteDentry', async () => {
    const dir = await leader.call(META, 'CreateInode', { ...P1, fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o755, type: FsFileType.TYPE_DIRECTORY, parent: 1, create: TIME });
    const dirId = dir.inode!.inodeId;
    for (const name of ['b', 'a', 'c']) {
      const created = await leader.call(META, 'CreateDentry', { ...P1, dentry: { fsId: FS, inodeId: 500 + name.charCodeAt(0), parentInodeId: dirId, name, type: FsFileType.TYPE_FILE }, create: TIME });
      expect(created.statusCode).toBe(MetaStatusCode.OK);
      expect(created.appliedIndex).toBeGreaterThan(0);
    }
    const again = await leader.call(META, 'CreateDentry', { ...P1, dentry: { fsId: FS, inodeId: 600, parentInodeId: dirId, name: 'a' } });
    expect(again.statusCode).toBe(MetaStatusCode.DENTRY_EXIST);

    const got = await leader.call(META, 'GetDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'a' });
    expect(got.statusCode).toBe(MetaStatusCode.OK);
    expect(got.dentry).toMatchObject({ inodeId: 500 + 97, name: 'a', parentInodeId: dirId });
    const list = await leader.call(META, 'ListDentry', { ...P1, fsId: FS, dirInodeId: dirId, last: 'a', count: 10 });
    expect(list.statusCode).toBe(MetaStatusCode.OK);
    expect(list.dentrys.map((dentry) => dentry.name)).toEqual(['b', 'c']);
    expect(list.appliedIndex).toBeGreaterThan(0);

    expect((await leader.call(META, 'DeleteDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'b', type: FsFileType.TYPE_FILE })).statusCode).toBe(MetaStatusCode.OK);
    expect((await leader.call(META, 'DeleteDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'b' })).statusCode).toBe(MetaStatusCode.NOT_FOUND);
    expect((await leader.call(META, 'GetDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'b' })).statusCode).toBe(MetaStatusCode.NOT_FOUND);
    const empty = await leader.call(META, 'ListDentry', { ...P1, fsId: FS, dirInodeId: 900 });
    expect(empty.statusCode).toBe(MetaStatusCode.OK);
    expect(empty.dentrys).toEqual([]);
  });

  test('PrepareRenameTx moves a name inside one partition in one entry; one dentry per call is refused', async () => {
    const dir = await leader.call(META, 'CreateInode', { ...P1, fsId: FS, length: 0, uid: 1, gid: 1, mode: 0o755, type: FsFileType.TYPE_DIRECTORY, parent: 1, create: TIME });
    const dirId = dir.inode!.inodeId;
    const base = { fsId: FS, inodeId: 777, parentInodeId: dirId, txId: 1, txSequence: 1, type: FsFileType.TYPE_FILE };
    expect((await leader.call(META, 'CreateDentry', { ...P1, dentry: { ...base, name: 'old', txId: 0, txSequence: 0 } })).statusCode).toBe(MetaStatusCode.OK);
    const before = dir.appliedIndex!;
    const renamed = await leader.call(META, 'PrepareRenameTx', {
      ...P1,
      dentrys: [
        { ...base, name: 'old', flag: DentryFlag.DELETE_MARK_FLAG | DentryFlag.TRANSACTION_PREPARE_FLAG },
        { ...base, name: 'new', flag: DentryFlag.TRANSACTION_PREPARE_FLAG },
      ],
    });
    expect(renamed.statusCode).toBe(MetaStatusCode.OK);
    expect(renamed.appliedIndex).toBeGreaterThan(before);
    expect((await leader.call(META, 'GetDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'old' })).statusCode).toBe(MetaStatusCode.NOT_FOUND);
    const moved = await leader.call(META, 'GetDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'new' });
    expect(moved.statusCode).toBe(MetaStatusCode.OK);
    expect(moved.dentry?.inodeId).toBe(777);
    expect(moved.dentry?.flag ?? 0).toBe(0); // prepare bits do not survive the commit
    const half = await leader.call(META, 'PrepareRenameTx', { ...P1, dentrys: [{ ...base, name: 'new', flag: DentryFlag.DELETE_MARK_FLAG }] });
    expect(half.statusCode).toBe(MetaStatusCode.TX_FAILED);
    expect((await leader.call(META, 'PrepareRenameTx', { ...P1, dentrys: [] })).statusCode).toBe(MetaStatusCode.PARAM_ERROR);
    expect((await leader.call(META, 'GetDentry', { ...P1, fsId: FS, parentInodeId: dirId, name: 'new' })).statusCode).toBe(MetaStatusCode.OK);
  });
});

describe('partitions', () => {
  test('DeletePartition: DELETING until the leader empties it in the background, then removed', async () => {
    const info = { fsId: FS, poolId: POOL, copysetId: COPYSET, partitionId: 3, start: 2000, end: 2999, status: PartitionStatus.READWRITE };
    expect((await leader.call(META, 'CreatePartition', { partition: info })).statusCode).toBe(MetaStatusCode.OK);
    expect((await leader.call(META, 'CreatePartition', { partition: info })).statusCode).toBe(MetaStatusCode.OK);
    const P3 = { poolId: POOL, copysetId: COPYSET, partitionId: 3 };
    const inode = await leader.call(META, 'CreateInode', { ...P3, fsId: FS, length: 0, uid: 0, gid: 0, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1, create: TIME });
    expect(inode.statusCode).toBe(MetaStatusCode.OK);
    expect((await leader.call(META, 'DeletePartition', P3)).statusCode).toBe(MetaStatusCode.PARTITION_DELETING);
    expect((await leader.call(META, 'GetInode', { ...P3, fsId: FS, inodeId: inode.inode!.inodeId })).statusCode).toBe(MetaStatusCode.PARTITION_DELETING);
    const work = await set.servers[leaderIndex]!.runBackgroundWorkNow();
    expect(work.recordsReclaimed).toBeGreaterThan(0);
    expect((await leader.call(META, 'DeletePartition', P3)).statusCode).toBe(MetaStatusCode.OK);
    expect((await leader.call(META, 'DeletePartition', P3)).statusCode).toBe(MetaStatusCode.PARTITION_NOT_FOUND);
  });
});

describe('routing and checks', () => {
  test('COPYSET_NOTEXIST for a copyset this server does not host', async () => {
    const answer = await leader.call(META, 'GetInode', { poolId: POOL, copysetId: 99, partitionId: 1, fsId: FS, inodeId: 1 });
    expect(answer.statusCode).toBe(MetaStatusCode.COPYSET_NOTEXIST);
    expect(answer.appliedIndex).toBe(0);
  });

  test('REDIRECTED from a follower, whose GetLeader names the leader', async () => {
    const read = await follower.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: 1 });
    expect(read.statusCode).toBe(MetaStatusCode.REDIRECTED);
    expect(read.appliedIndex).toBeGreaterThan(0);
    const write = await follower.call(META, 'CreateInode', { ...P1, fsId: FS, length: 0, uid: 0, gid: 0, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1 });
    expect(write.statusCode).toBe(MetaStatusCode.REDIRECTED);
    const hint = await follower.call(CLI, 'GetLeader', { poolId: POOL, copysetId: COPYSET });
    expect(hint.leader.address).toBe(set.servers[leaderIndex]!.peerAddress);
    expect(hint.leader.id).toBe(set.servers[leaderIndex]!.nodeId);
  });

  test('PARAM_ERROR for a request missing a required field, and for a bad name', async () => {
    // DeletePartitionRequest's bytes are a GetInodeRequest without fsId and inodeId.
    const bytes = Buffer.from(messageCodec('curvefs.metaserver.DeletePartitionRequest').encode(P1));
    const raw = new grpc.Client(set.servers[leaderIndex]!.grpcAddress, grpc.credentials.createInsecure());
    const response = await new Promise<{ statusCode: number; appliedIndex?: number }>((resolve, reject) => {
      raw.makeUnaryRequest(
        '/curvefs.metaserver.MetaServerService/GetInode',
        (value: Buffer) => value,
        (value: Buffer) => messageCodec('curvefs.metaserver.GetInodeResponse').decode(value),
        bytes,
        (error, value) => (error ? reject(error) : resolve(value!)),
      );
    });
    raw.close();
    expect(response.statusCode).toBe(MetaStatusCode.PARAM_ERROR);
    expect(response.appliedIndex).toBe(0);
    for (const name of ['a/b', '', 'x'.repeat(256)]) {
      const answer = await leader.call(META, 'CreateDentry', { ...P2, dentry: { fsId: FS, inodeId: 1001, parentInodeId: 1000, name } });
      expect(answer.statusCode).toBe(MetaStatusCode.PARAM_ERROR);
      expect(answer.appliedIndex).toBeGreaterThan(0);
    }
  });
});

describe('overload', () => {
  let single: ServerSet;
  afterAll(async () => {
    await single?.close();
  });

  test('requests beyond the in-flight limit are answered OVERLOAD', async () => {
    single = await ServerSet.start(1, { maxInFlightRequests: 1, copysets: [{ poolId: 1, copysetId: 1 }] });
    await single.leaderOf(1, 1);
    const caller = single.callers[0]!;
    expect((await caller.call(META, 'CreatePartition', { partition: { fsId: FS, poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 999, status: PartitionStatus.READWRITE } })).statusCode).toBe(MetaStatusCode.OK);
    const answers = await Promise.all(Array.from({ length: 30 }, () => caller.call(META, 'GetInode', { ...P1, fsId: FS, inodeId: 1 })));
    const codes = answers.map((answer) => answer.statusCode);
    expect(codes).toContain(MetaStatusCode.OVERLOAD);
    expect(codes.filter((code) => code !== MetaStatusCode.OVERLOAD).every((code) => code === MetaStatusCode.NOT_FOUND)).toBe(true);
    expect(codes).toContain(MetaStatusCode.NOT_FOUND);
  }, 20_000);
});
