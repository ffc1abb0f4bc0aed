/**
 * The client over real gRPC (127.0.0.1, port 0) against a fake copyset of two peers, of
 * which one leads: redirects, failover after the leader's process dies, OVERLOAD,
 * deadlines. Waits are real but short (a few tens of milliseconds of backoff).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { ClientCallError, GrpcPeerTransport, MetaServerClient, type RetryPolicy } from '../../src/client/index.ts';
import { MetaStatusCode } from '../../src/proto/index.ts';
import { Random } from '../../src/testing/random.ts';
import { FakeCluster } from './fake-cluster.ts';

const FS = 1;
const FAST: Partial<RetryPolicy> = { initialBackoffMs: 5, maxBackoffMs: 50, operationTimeoutMs: 5_000, rpcTimeoutMs: 1_000 };

const open: { cluster: FakeCluster; client: MetaServerClient }[] = [];

async function setup(retry: Partial<RetryPolicy> = FAST) {
  const cluster = await FakeCluster.start(2);
  const partition = cluster.partition(FS, 10, 0, 999);
  cluster.state.handle('CreateRootInode', { poolId: 1, copysetId: 1, partitionId: 10, fsId: FS, uid: 0, gid: 0, mode: 0o40755 });
  const random = new Random(7);
  const transport = new GrpcPeerTransport();
  const client = new MetaServerClient({ partitions: cluster.routes([partition]), transport, random: () => random.next(), retry });
  open.push({ cluster, client });
  return { cluster, client, transport, routed: { poolId: 1, copysetId: 1, partitionId: 10, fsId: FS } };
}

afterEach(async () => {
  for (const { cluster, client } of open.splice(0)) {
    client.close();
    await cluster.stop();
  }
});

describe('MetaServerClient over gRPC against a fake two-peer copyset', () => {
  it('a call sent to the follower is REDIRECTED; the client asks GetLeader and succeeds at the leader', async () => {
    const { cluster, client, transport, routed } = await setup();
    const [first, second] = cluster.addresses as [string, string];
    cluster.leader = second; // the table lists the follower first
    const response = await client.getInode({ ...routed, inodeId: 1 });
    expect(response.inode?.type).toBe(1);
    expect(cluster.calls.map((c) => `${c.method}@${c.peer}`)).toEqual([`GetInode@${first}`, `GetLeader@${first}`, `GetInode@${second}`]);
    expect(client.caller.leaderOf(routed)).toBe(second);
    // The leader is cached: the next call goes straight there, and carries the appliedIndex seen.
    cluster.clearCalls();
    await client.getInode({ ...routed, inodeId: 1 });
    expect(cluster.calls.map((c) => c.peer)).toEqual([second]);
    expect(cluster.calls[0]!.request.appliedIndex).toBe(cluster.state.appliedIndex);
    expect(cluster.state.appliedIndex).toBeGreaterThan(0);
    // One connection per peer process, shared by both services.
    expect(transport.connectionCount).toBe(2);
  });

  it('the leader dies: the client fails over to the new leader within the deadline', async () => {
    const { cluster, client, routed } = await setup();
    const [first, second] = cluster.addresses as [string, string];
    await client.getInode({ ...routed, inodeId: 1 });
    expect(client.caller.leaderOf(routed)).toBe(first);
    cluster.kill(first);
    cluster.leader = second; // the survivor won the election
    cluster.clearCalls();
    const response = await client.createInode({ ...routed, length: 0, uid: 0, gid: 0, mode: 0o100644, type: 2, parent: 1 });
    expect(response.inode?.inodeId).toBe(3);
    expect(client.caller.leaderOf(routed)).toBe(second);
    // The dead peer is never asked who leads; the survivor is asked, then serves the call.
    expect(cluster.calls.map((c) => `${c.method}@${c.peer}`)).toEqual([`GetLeader@${second}`, `CreateInode@${second}`]);
  });

  it('the leader dies before a successor is elected: the client keeps probing until one leads', async () => {
    const { cluster, client, routed } = await setup();
    const [first, second] = cluster.addresses as [string, string];
    await client.getInode({ ...routed, inodeId: 1 });
    cluster.kill(first);
    cluster.leader = undefined; // election in progress: the survivor redirects and knows no leader
    setTimeout(() => (cluster.leader = second), 150);
    const response = await client.getInode({ ...routed, inodeId: 1 });
    expect(response.statusCode).toBe(MetaStatusCode.OK);
    const served = cluster.calls.filter((c) => c.method === 'GetInode').at(-1)!;
    expect(served.peer).toBe(second);
    expect(cluster.calls.filter((c) => c.method === 'GetInode' && c.peer === second).length).toBeGreaterThan(1);
  });

  it('OVERLOAD is retried until the leader takes the call', async () => {
    const { cluster, client, routed } = await setup();
    cluster.overloadNext = 4;
    const response = await client.getInode({ ...routed, inodeId: 1 });
    expect(response.statusCode).toBe(MetaStatusCode.OK);
    expect(cluster.metaMethods()).toEqual(['GetInode', 'GetInode', 'GetInode', 'GetInode', 'GetInode']);
    expect(cluster.overloadNext).toBe(0);
  });

  it('a deadline is respected: a copyset that never answers fails with DEADLINE_EXCEEDED, no attempt outliving it', async () => {
    const { cluster, client, routed, transport } = await setup({ ...FAST, operationTimeoutMs: 300, rpcTimeoutMs: 250 });
    for (const address of cluster.addresses) cluster.silent.add(address);
    // Record each attempt's start and timeout on the client's own clock.
    const attempts: { at: number; timeoutMs: number }[] = [];
    const unary = transport.unary.bind(transport);
    transport.unary = ((address: string, service: never, method: never, request: never, timeoutMs: number) => {
      attempts.push({ at: client.clock.nowMs(), timeoutMs });
      return unary(address, service, method, request, timeoutMs);
    }) as typeof transport.unary;
    const started = client.clock.nowMs();
    const failure = await client.getInode({ ...routed, inodeId: 1 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ClientCallError);
    expect((failure as ClientCallError).code).toBe('DEADLINE_EXCEEDED');
    // It kept trying until the deadline, never giving up early...
    expect(client.clock.nowMs() - started).toBeGreaterThanOrEqual(300);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    // ...and no attempt was given time beyond it (an uncapped 250 ms attempt started late would overshoot by
    // far more than the slack, which only covers the moment between computing a timeout and recording it).
    const slackMs = 50;
    for (const attempt of attempts) expect(attempt.at + attempt.timeoutMs).toBeLessThanOrEqual(started + 300 + slackMs);
  });

  it('both peers dead: DEADLINE_EXCEEDED with the transport failure as cause', async () => {
    const { cluster, client, routed } = await setup({ ...FAST, operationTimeoutMs: 200 });
    for (const address of cluster.addresses) cluster.kill(address);
    const failure = (await client.getInode({ ...routed, inodeId: 1 }).catch((error: unknown) => error)) as ClientCallError;
    expect(failure.code).toBe('DEADLINE_EXCEEDED');
    expect(String((failure.cause as Error).message)).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
    expect(failure.attempts).toBeGreaterThan(1);
  });

  it('TransferLeader goes to the leader and the client finds the new one afterwards', async () => {
    const { cluster, client, routed } = await setup();
    const [first, second] = cluster.addresses as [string, string];
    await client.transferLeader({ poolId: 1, copysetId: 1, transferee: { address: second } });
    expect(cluster.calls.find((c) => c.method === 'TransferLeader')?.peer).toBe(first);
    expect(cluster.leader).toBe(second);
    cluster.clearCalls();
    await client.getInode({ ...routed, inodeId: 1 });
    expect(cluster.calls.at(-1)!.peer).toBe(second);
    expect(await client.findLeader(routed)).toBe(second);
    expect((await client.getLeader({ poolId: 1, copysetId: 1 }, first)).leader.address).toBe(second);
  });

  it('GetCopysetStatus goes to the leader unless a peer is named; ChangePeers updates the table\'s peers', async () => {
    const { cluster, client, routed } = await setup();
    const [first, second] = cluster.addresses as [string, string];
    cluster.leader = second;
    const status = await client.getCopysetStatus({ poolId: 1, copysetId: 1 });
    expect(status.copysetStatus?.peer.address).toBe(second);
    expect(status.copysetStatus?.leader.address).toBe(second);
    const atFollower = await client.getCopysetStatus({ poolId: 1, copysetId: 1 }, first);
    expect(atFollower.copysetStatus?.peer.address).toBe(first);
    const third = '127.0.0.1:1:0';
    const changed = await client.changePeers({ poolId: 1, copysetId: 1, newPeers: [{ address: second }, { address: third }] });
    expect(changed.newPeers.map((p) => p.address)).toEqual([second, third]);
    expect(cluster.calls.filter((c) => c.method === 'ChangePeers').map((c) => c.peer)).toEqual([second]);
    expect(client.partitions.copyset(1, 1).peers).toEqual([second, third]);
    // The cached leader survives the new peer list (it is still a member).
    expect(client.caller.leaderOf(routed)).toBe(second);
  });

  it('close() closes every peer connection; later calls fail CLIENT_CLOSED', async () => {
    const { client, transport, routed } = await setup();
    await client.getInode({ ...routed, inodeId: 1 });
    expect(transport.connectionCount).toBeGreaterThan(0);
    client.close();
    expect(transport.connectionCount).toBe(0);
    await expect(client.getInode({ ...routed, inodeId: 1 })).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });
});
