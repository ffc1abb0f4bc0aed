/**
 * The client's rename end to end: FsClient (renameProtocol 'metaraft', the default)
 * over real gRPC against three real MetaServers holding one copyset of two partitions.
 * The client's table lists a follower first, so the first write is REDIRECTED and the
 * client finds the leader itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsClient, GrpcPeerTransport, MetaClientError, MetaServerClient, type NodeAttributes } from '../../src/client/index.ts';
import { MetaStatusCode, PartitionStatus, type PartitionInfo } from '../../src/proto/index.ts';
import { Random } from '../../src/testing/random.ts';
import { META, ServerSet } from '../service/harness.ts';

const FS = 5;
const ROOT = 1;
const ATTRS: NodeAttributes = { mode: 0o755, uid: 1, gid: 1 };
const T = { sec: 1_750_000_000, nsec: 9 };

let set: ServerSet;
let client: MetaServerClient;
let fs: FsClient;
let leaderIndex = 0;

function partition(copysetId: number, partitionId: number, start: number, end: number): PartitionInfo {
  return { fsId: FS, poolId: 1, copysetId, partitionId, start, end, status: PartitionStatus.READWRITE, fileType2inodeNum: new Map() };
}

beforeAll(async () => {
  // Trash kept long: a replaced inode at nlink 0 stays readable for the assertions.
  set = await ServerSet.start(3, { trashKeepSeconds: 3600 });
  await set.createCopyset(1, 1);
  leaderIndex = await set.leaderOf(1, 1);
  const partitions = [partition(1, 1, 0, 999), partition(1, 2, 1000, 1999)];
  for (const info of partitions) {
    expect((await set.callers[leaderIndex]!.call(META, 'CreatePartition', { partition: info })).statusCode).toBe(MetaStatusCode.OK);
  }
  // A follower first: the client must be redirected to the leader.
  const order = [1, 2, 0].map((shift) => set.servers[(leaderIndex + shift) % 3]!.peerAddress);
  // The file system lives in this one copyset: renames are MetaraftService.Rename (across
  // copysets they are TxService calls, tested in fs-operations and fs-tx-client).
  const random = new Random(5);
  client = new MetaServerClient({
    partitions: partitions.map((info) => ({ partition: info, peers: order })),
    transport: new GrpcPeerTransport(),
    random: () => random.next(),
    retry: { initialBackoffMs: 5, maxBackoffMs: 50, operationTimeoutMs: 8_000 },
  });
  fs = new FsClient({ client, fsId: FS, now: () => T });
  await fs.initRoot(ATTRS);
}, 30_000);

afterAll(async () => {
  client?.close();
  await set?.close();
});

describe('FsClient.rename over MetaraftService.Rename (real MetaServers)', () => {
  it('a directory moves to a parent in the other partition: names, nlinks, parent list, times', async () => {
    const a = await fs.mkdir(ROOT, 'a', ATTRS);
    const routed = { poolId: 1, copysetId: 1, fsId: FS };
    // A directory whose inode lives in partition 2 (placement keeps children in the parent's partition).
    const farInode = await client.createInode({ ...routed, partitionId: 2, length: 0, uid: 1, gid: 1, mode: 0o40755, type: 1, parent: ROOT, create: T });
    const far = farInode.inode!.inodeId;
    await client.createDentry({ ...routed, partitionId: 1, dentry: { fsId: FS, inodeId: far, parentInodeId: ROOT, name: 'far', type: 1 }, create: T });
    const sub = await fs.mkdir(a.inodeId, 'sub', ATTRS);
    const [aLinks, farLinks] = [(await fs.getattr(a.inodeId)).nlink, (await fs.getattr(far)).nlink];

    await fs.rename(a.inodeId, 'sub', far, 'moved');
    expect((await fs.lookup(far, 'moved')).inodeId).toBe(sub.inodeId);
    await expect(fs.lookup(a.inodeId, 'sub')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await fs.getattr(a.inodeId)).nlink).toBe(aLinks - 1);
    expect((await fs.getattr(far)).nlink).toBe(farLinks + 1);
    const moved = await fs.getattr(sub.inodeId);
    expect(moved.parent).toEqual([far]);
    expect([moved.ctime, moved.ctime_ns]).toEqual([T.sec, T.nsec]);
    expect(client.caller.leaderOf({ poolId: 1, copysetId: 1 })).toBe(set.servers[leaderIndex]!.peerAddress);
  });

  it('within a directory, over an existing file: the old file loses its link', async () => {
    const dir = await fs.mkdir(ROOT, 'd', ATTRS);
    const source = await fs.create(dir.inodeId, 'new', ATTRS);
    const old = await fs.create(dir.inodeId, 'old', ATTRS);
    await fs.rename(dir.inodeId, 'new', dir.inodeId, 'old');
    expect((await fs.lookup(dir.inodeId, 'old')).inodeId).toBe(source.inodeId);
    const names: string[] = [];
    for await (const entry of fs.readdir(dir.inodeId)) names.push(entry.name);
    expect(names).toEqual(['old']);
    const replaced = await fs.getattr(old.inodeId);
    expect(replaced.nlink).toBe(0);
    expect(replaced.dtime).toBeDefined();
  });

  it('the server refuses a non-empty target directory (TARGET_DIRECTORY_EXIST)', async () => {
    await fs.mkdir(ROOT, 'src', ATTRS);
    const full = await fs.mkdir(ROOT, 'full', ATTRS);
    await fs.create(full.inodeId, 'child', ATTRS);
    const failure = await fs.rename(ROOT, 'src', ROOT, 'full').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect(failure).toMatchObject({ code: 'TARGET_DIRECTORY_EXIST', method: 'Rename' });
    expect((await fs.lookup(ROOT, 'full')).inodeId).toBe(full.inodeId);
  });
});
