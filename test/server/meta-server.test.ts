/**
 * The MetaServer as a user embeds it: configuration errors (typed, one line), start /
 * stop / restart keeping data (log replay and snapshot load), status and events, and
 * the leader's background trash reclaim.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FsFileType, MetaStatusCode, PartitionStatus } from '../../src/proto/index.ts';
import { MetaServer } from '../../src/server/meta-server.ts';
import { ConfigError } from '../../src/server/meta-server-config.ts';
import { groupIdOf } from '../../src/server/peer-id.ts';
import { GrpcCaller, META, TEST_SERVER_OPTIONS, waitFor } from '../service/harness.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'metaraft-server-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration errors', () => {
  test('malformed peer, listen address, advertise and options are refused at construction', () => {
    const dataDir = join(root, 'never');
    const peer = configError(() => new MetaServer({ listen: '127.0.0.1:0', dataDir, peers: ['127.0.0.1:notaport:0'] }));
    expect(peer.code).toBe('BAD_PEER');
    expect(peer.message).not.toContain('\n');
    expect(configError(() => new MetaServer({ listen: '127.0.0.1:0', dataDir, peers: ['example.com:80:0'] })).code).toBe('BAD_PEER');
    expect(configError(() => new MetaServer({ listen: 'localhost', dataDir })).code).toBe('BAD_ADDRESS');
    expect(configError(() => new MetaServer({ listen: '0.0.0.0:7000', dataDir })).code).toBe('BAD_ADDRESS');
    expect(configError(() => new MetaServer({ listen: '127.0.0.1:0', dataDir, tickMs: -1 })).code).toBe('BAD_OPTION');
    expect(configError(() => new MetaServer({ listen: '127.0.0.1:0', dataDir: '' })).code).toBe('BAD_OPTION');
    expect(configError(() => new MetaServer({ listen: '127.0.0.1:0', dataDir, electionTicks: 2 })).code).toBe('BAD_OPTION');
    expect(() => new MetaServer({ listen: '127.0.0.1:0', dataDir, electionTicks: 2, readMode: 'read-index' })).not.toThrow();
  });

  test('a port in use fails start() with PORT_IN_USE and leaves nothing running', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const server = new MetaServer({ ...TEST_SERVER_OPTIONS, listen: `127.0.0.1:${port}`, dataDir: join(root, 'busy') });
      await expect(server.start()).rejects.toMatchObject({ name: 'ConfigError', code: 'PORT_IN_USE' });
      expect(server.status().state).toBe('stopped');
    } finally {
      blocker.close();
    }
  });

  test('an unwritable data folder fails start() with DATA_DIR_UNWRITABLE', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const server = new MetaServer({ ...TEST_SERVER_OPTIONS, listen: '127.0.0.1:0', dataDir: join(file, 'data') });
    const error = await server.start().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('DATA_DIR_UNWRITABLE');
    expect((error as ConfigError).message).toContain(join(file, 'data'));
  });
});

describe('lifecycle', () => {
  const dataDir = () => join(root, 'lifecycle');
  const FS = 3;
  const P = { poolId: 1, copysetId: 1, partitionId: 1 };

  test('start / stop / restart keeps data: snapshot plus log replay; status and events', async () => {
    const first = new MetaServer({ ...TEST_SERVER_OPTIONS, id: 'solo', listen: '127.0.0.1:0', dataDir: dataDir(), copysets: [{ poolId: 1, copysetId: 1 }] });
    const started = first.events.once('started');
    await first.start();
    expect((await started).copysets).toBe(1);
    const port = first.port;
    let caller = new GrpcCaller(first.grpcAddress);
    await waitFor(() => first.copysetOf(1, 1)!.isLeader(), 'the single voter leads');
    expect((await caller.call(META, 'CreatePartition', { partition: { fsId: FS, poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 999, status: PartitionStatus.READWRITE } })).statusCode).toBe(MetaStatusCode.OK);
    expect((await caller.call(META, 'CreateRootInode', { ...P, fsId: FS, uid: 0, gid: 0, mode: 0o755 })).statusCode).toBe(MetaStatusCode.OK);
    const before = await caller.call(META, 'CreateInode', { ...P, fsId: FS, length: 11, uid: 0, gid: 0, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1 });
    // A snapshot, then one more write that only the log holds.
    const snapshotIndex = await first.host.snapshotNow(groupIdOf(1, 1)!);
    expect(snapshotIndex).toBeGreaterThanOrEqual(before.appliedIndex!);
    const after = await caller.call(META, 'CreateInode', { ...P, fsId: FS, length: 22, uid: 0, gid: 0, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1 });
    expect(after.statusCode).toBe(MetaStatusCode.OK);
    const status = first.status();
    expect(status).toMatchObject({ id: 'solo', state: 'running', address: `127.0.0.1:${port}:0` });
    expect(status.copysets[0]).toMatchObject({ poolId: 1, copysetId: 1, role: 'leader', leader: `127.0.0.1:${port}:0`, voters: [`127.0.0.1:${port}:0`], snapshotIndex, partitions: 1 });
    expect(status.copysets[0]!.appliedIndex).toBeGreaterThanOrEqual(after.appliedIndex!);
    const hashBefore = first.copysetOf(1, 1)!.store.stateHash();
    caller.close();
    const stopped = first.events.once('stopped');
    await first.stop();
    await stopped;

    const second = new MetaServer({ ...TEST_SERVER_OPTIONS, id: 'solo', listen: `127.0.0.1:${port}`, dataDir: dataDir() });
    const loads: number[] = [];
    second.events.on('copyset-loaded', ({ loaded, total }) => loads.push(loaded * 100 + total));
    await second.start();
    expect(loads).toEqual([101]);
    expect(second.nodeId).toBe(first.nodeId);
    caller = new GrpcCaller(second.grpcAddress);
    await waitFor(() => second.copysetOf(1, 1)!.isLeader(), 'the restarted voter leads');
    const restored = second.status().copysets[0]!;
    expect(restored.voters).toEqual([`127.0.0.1:${port}:0`]); // configuration restored
    expect(restored.snapshotIndex).toBe(snapshotIndex);
    for (const [answer, length] of [[before, 11], [after, 22]] as const) {
      const got = await caller.call(META, 'GetInode', { ...P, fsId: FS, inodeId: answer.inode!.inodeId });
      expect(got.statusCode).toBe(MetaStatusCode.OK);
      expect(got.inode?.length).toBe(length);
    }
    expect(second.copysetOf(1, 1)!.store.stateHash()).toBe(hashBefore);
    // Ids keep counting from where they were: no reuse after a restart.
    const next = await caller.call(META, 'CreateInode', { ...P, fsId: FS, length: 0, uid: 0, gid: 0, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1 });
    expect(next.inode!.inodeId).toBeGreaterThan(after.inode!.inodeId);

    // Trash: nlink 0 puts the inode in the trash; the leader's background round deletes it.
    expect((await caller.call(META, 'UpdateInode', { ...P, fsId: FS, inodeId: next.inode!.inodeId, nlink: 0 })).statusCode).toBe(MetaStatusCode.OK);
    const work = await second.runBackgroundWorkNow();
    expect(work.trashDeleted).toBe(1);
    expect((await caller.call(META, 'GetInode', { ...P, fsId: FS, inodeId: next.inode!.inodeId })).statusCode).toBe(MetaStatusCode.NOT_FOUND);
    expect((await caller.call(META, 'GetInode', { ...P, fsId: FS, inodeId: after.inode!.inodeId })).statusCode).toBe(MetaStatusCode.OK);
    caller.close();
    await second.stop();
    expect(second.status().state).toBe('stopped');
  }, 30_000);
});
