import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClientCallError,
  DEFAULT_RETRY_POLICY,
  MetaClientError,
  MetaServerClient,
  backoffDelayMs,
  type RetryPolicy,
} from '../../src/client/index.ts';
import { MetaStatusCode, PartitionStatus } from '../../src/proto/index.ts';
import { Random } from '../../src/testing/random.ts';
import { FakeClock, ScriptedTransport } from './scripted-transport.ts';

const A = '10.0.0.1:6700:0';
const B = '10.0.0.2:6700:0';
const C = '10.0.0.3:6700:0';

const POLICY: RetryPolicy = {
  initialBackoffMs: 10,
  maxBackoffMs: 400,
  backoffMultiplier: 2,
  jitter: 0.5,
  operationTimeoutMs: 5_000,
  rpcTimeoutMs: 1_000,
};

const PARTITION = {
  fsId: 1,
  poolId: 1,
  copysetId: 7,
  partitionId: 3,
  start: 0,
  end: 1_000,
  status: PartitionStatus.READWRITE,
  fileType2inodeNum: new Map(),
};
const GET_INODE = { poolId: 1, copysetId: 7, partitionId: 3, fsId: 1, inodeId: 5 };
const INODE = {
  inodeId: 5, fsId: 1, length: 0, ctime: 0, ctime_ns: 0, mtime: 0, mtime_ns: 0, atime: 0, atime_ns: 0,
  uid: 0, gid: 0, mode: 0o100644, nlink: 1, type: 2, xattr: new Map(), parent: [1],
};

function setup(seed = 1, policy: Partial<RetryPolicy> = {}) {
  const clock = new FakeClock();
  const transport = new ScriptedTransport(clock);
  const random = new Random(seed);
  const client = new MetaServerClient({
    partitions: [{ partition: PARTITION, peers: [A, B, C] }],
    transport,
    clock,
    random: () => random.next(),
    retry: { ...POLICY, ...policy },
  });
  return { clock, transport, client };
}

/** A copyset where `leader` leads: followers redirect, everyone names the leader. */
function copysetLedBy(transport: ScriptedTransport, leader: string, appliedIndex = 10) {
  for (const peer of [A, B, C]) {
    transport.peers.set(peer, (method) => {
      if (method === 'GetLeader') return { leader: { address: leader } };
      if (peer !== leader) return { statusCode: MetaStatusCode.REDIRECTED };
      return { statusCode: MetaStatusCode.OK, inode: INODE, appliedIndex };
    });
  }
}

describe('backoffDelayMs', () => {
  it('grows exponentially, stays within [base·(1−jitter), base] and never above the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 80 }), (seed, retry) => {
        const random = new Random(seed);
        const delay = backoffDelayMs(POLICY, retry, () => random.next());
        const base = Math.min(POLICY.maxBackoffMs, POLICY.initialBackoffMs * 2 ** Math.min(retry, 30));
        expect(delay).toBeLessThanOrEqual(base);
        expect(delay).toBeGreaterThan(base * (1 - POLICY.jitter) - 1e-9);
        expect(Number.isFinite(delay)).toBe(true);
      }),
    );
  });

  it('is a pure function of the random source: one seed, one schedule', () => {
    const schedule = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 8 }, (_, retry) => backoffDelayMs(DEFAULT_RETRY_POLICY, retry, () => random.next()));
    };
    expect(schedule(42)).toEqual(schedule(42));
    expect(schedule(42)).not.toEqual(schedule(43));
    // Without jitter the schedule is the plain capped doubling.
    const flat = Array.from({ length: 6 }, (_, retry) => backoffDelayMs({ ...POLICY, jitter: 0 }, retry, () => 0.9));
    expect(flat).toEqual([10, 20, 40, 80, 160, 320]);
  });
});

describe('CopysetCaller: leader cache, redirects, failover, deadline (fake clock)', () => {
  it('a follower\'s REDIRECTED sends the client to GetLeader, then straight to the leader, which is cached', async () => {
    const { transport, client, clock } = setup();
    copysetLedBy(transport, B);
    const response = await client.getInode(GET_INODE);
    expect(response.inode?.inodeId).toBe(5);
    // First try A (the first peer), asked A who leads (it answered, so it is alive), then B at once.
    expect(transport.trace()).toEqual([`GetInode@${A}`, `GetLeader@${A}`, `GetInode@${B}`]);
    expect(clock.sleeps).toEqual([]);
    expect(client.caller.leaderOf(PARTITION)).toBe(B);
    transport.sent.length = 0;
    await client.getInode(GET_INODE);
    expect(transport.trace()).toEqual([`GetInode@${B}`]);
  });

  it('sends the highest appliedIndex seen on reads, never on writes', async () => {
    const { transport, client } = setup();
    copysetLedBy(transport, A, 41);
    await client.getInode(GET_INODE);
    expect(transport.sent[0]!.request.appliedIndex).toBeUndefined();
    await client.getInode(GET_INODE);
    expect(transport.sent[1]!.request.appliedIndex).toBe(41);
    copysetLedBy(transport, A, 17); // a lower index never lowers what the client holds
    await client.getInode(GET_INODE);
    await client.getInode(GET_INODE);
    expect(transport.sent[3]!.request.appliedIndex).toBe(41);
    await client.updateInode({ ...GET_INODE, nlink: 2 });
    expect(transport.sent[4]!.method).toBe('UpdateInode');
    expect(transport.sent[4]!.request.appliedIndex).toBeUndefined();
    expect(client.caller.appliedIndexOf(PARTITION)).toBe(41);
  });

  it('a dead leader: UNAVAILABLE, ask the others (not the dead one), fail over to the new leader', async () => {
    const { transport, client } = setup();
    copysetLedBy(transport, A);
    await client.getInode(GET_INODE);
    transport.peers.delete(A); // A's process is gone
    copysetLedBy(transport, C);
    transport.peers.delete(A);
    transport.sent.length = 0;
    const response = await client.getInode(GET_INODE);
    expect(response.statusCode).toBe(MetaStatusCode.OK);
    expect(transport.trace()).toEqual([`GetInode@${A}`, `GetLeader@${B}`, `GetInode@${C}`]);
    expect(client.caller.leaderOf(PARTITION)).toBe(C);
  });

  it('no leader elected yet: rotates peers with growing, jittered, seeded backoff until one leads', async () => {
    const run = async (seed: number) => {
      const { transport, client, clock } = setup(seed);
      let electedAt = 3; // the third MetaServerService attempt finds a leader
      for (const peer of [A, B, C]) {
        transport.peers.set(peer, (method) => {
          if (method === 'GetLeader') return { leader: { address: electedAt > 0 ? '' : C } };
          if (--electedAt > 0 || peer !== C) return { statusCode: MetaStatusCode.REDIRECTED };
          return { statusCode: MetaStatusCode.OK, inode: INODE };
        });
      }
      await client.getInode(GET_INODE);
      return { sleeps: clock.sleeps, trace: transport.trace() };
    };
    const first = await run(9);
    expect(first).toEqual(await run(9));
    expect(first.sleeps.length).toBeGreaterThanOrEqual(2);
    first.sleeps.forEach((ms, retry) => {
      const base = Math.min(POLICY.maxBackoffMs, POLICY.initialBackoffMs * 2 ** retry);
      expect(ms).toBeLessThanOrEqual(base);
      expect(ms).toBeGreaterThanOrEqual(base / 2);
    });
    // Each MetaServerService attempt after a redirect goes to a different peer than the one before.
    const attempts = first.trace.filter((t) => t.startsWith('GetInode')).map((t) => t.split('@')[1]);
    for (let i = 1; i < attempts.length; i++) expect(attempts[i]).not.toBe(attempts[i - 1]);
    expect(attempts.at(-1)).toBe(C);
  });

  it('OVERLOAD is retried on the same peer after a backoff, without a leader search', async () => {
    const { transport, client, clock } = setup();
    let overloaded = 3;
    copysetLedBy(transport, A);
    transport.peers.set(A, (method) => (method === 'GetInode' && overloaded-- > 0 ? { statusCode: MetaStatusCode.OVERLOAD } : { statusCode: MetaStatusCode.OK, inode: INODE }));
    const response = await client.getInode(GET_INODE);
    expect(response.statusCode).toBe(MetaStatusCode.OK);
    expect(transport.trace()).toEqual([`GetInode@${A}`, `GetInode@${A}`, `GetInode@${A}`, `GetInode@${A}`]);
    expect(clock.sleeps).toHaveLength(3);
    expect(clock.sleeps[1]!).toBeGreaterThanOrEqual(10); // second wait: base 20, jitter 0.5
  });

  it('respects the operation deadline whatever the peers do, and says why it gave up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.constantFrom('unavailable', 'hang', 'redirect', 'overload', 'no-leader'), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 100, max: 4_000 }),
        async (seed, behaviours, operationTimeoutMs) => {
          const { transport, client, clock } = setup(seed, { operationTimeoutMs });
          [A, B, C].forEach((peer, i) => {
            const behaviour = behaviours[i]!;
            transport.peers.set(peer, (method) => {
              if (behaviour === 'unavailable' || behaviour === 'hang') return behaviour;
              if (method === 'GetLeader') return { leader: { address: behaviour === 'no-leader' ? '0.0.0.0:0:0' : peer } };
              return { statusCode: behaviour === 'overload' ? MetaStatusCode.OVERLOAD : MetaStatusCode.REDIRECTED };
            });
          });
          const failure = await client.getInode(GET_INODE).catch((error: unknown) => error);
          expect(failure).toBeInstanceOf(ClientCallError);
          expect((failure as ClientCallError).code).toBe('DEADLINE_EXCEEDED');
          expect((failure as ClientCallError).cause).toBeDefined();
          // Never past the deadline: every attempt's timeout was cut to what was left.
          expect(clock.now).toBeLessThanOrEqual(operationTimeoutMs);
          for (const call of transport.sent) expect(call.at + call.timeoutMs).toBeLessThanOrEqual(operationTimeoutMs);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a hung peer costs one RPC timeout, then the client moves on', async () => {
    const { transport, client, clock } = setup();
    copysetLedBy(transport, B);
    transport.peers.set(A, () => 'hang');
    const response = await client.getInode(GET_INODE);
    expect(response.statusCode).toBe(MetaStatusCode.OK);
    expect(transport.trace()).toEqual([`GetInode@${A}`, `GetLeader@${B}`, `GetInode@${B}`]);
    expect(clock.now).toBe(POLICY.rpcTimeoutMs);
  });

  it('every other status is final: returned as a MetaClientError with code and status', async () => {
    const { transport, client } = setup();
    copysetLedBy(transport, A);
    transport.peers.set(A, () => ({ statusCode: MetaStatusCode.NOT_FOUND }));
    const failure = await client.getInode(GET_INODE).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect((failure as MetaClientError).code).toBe('NOT_FOUND');
    expect((failure as MetaClientError).status).toBe(MetaStatusCode.NOT_FOUND);
    expect(transport.sent).toHaveLength(1);
    // send() hands back any final status as a value instead.
    const response = await client.send('GetInode', GET_INODE);
    expect(response.statusCode).toBe(MetaStatusCode.NOT_FOUND);
  });

  it('a gRPC failure that retrying cannot fix (e.g. UNIMPLEMENTED) is RPC_FAILED at once', async () => {
    const { transport, client } = setup();
    transport.unary = async (address) => {
      const { TransportError } = await import('../../src/client/index.ts');
      throw new TransportError('RPC_FAILED', address, 'unimplemented', { grpcCode: 12 });
    };
    const failure = await client.getInode(GET_INODE).catch((error: unknown) => error);
    expect((failure as ClientCallError).code).toBe('RPC_FAILED');
    expect((failure as ClientCallError).grpcCode).toBe(12);
  });

  it('a GetLeader answer naming a new peer (membership changed) is followed and kept', async () => {
    const D = '10.0.0.4:6700:0';
    const { transport, client } = setup();
    copysetLedBy(transport, D);
    transport.peers.set(D, (method) => (method === 'GetLeader' ? { leader: { address: D } } : { statusCode: MetaStatusCode.OK, inode: INODE }));
    await client.getInode(GET_INODE);
    expect(transport.trace().at(-1)).toBe(`GetInode@${D}`);
    expect(client.caller.leaderOf(PARTITION)).toBe(D);
  });

  it('close() stops further calls with CLIENT_CLOSED', async () => {
    const { transport, client } = setup();
    copysetLedBy(transport, A);
    client.close();
    const failure = await client.getInode(GET_INODE).catch((error: unknown) => error);
    expect((failure as ClientCallError).code).toBe('CLIENT_CLOSED');
  });

  it('COPYSET_NOTEXIST (the copyset left that peer) is handled like REDIRECTED', async () => {
    const { transport, client } = setup();
    copysetLedBy(transport, B);
    transport.peers.set(A, (method) => (method === 'GetLeader' ? { leader: { address: B } } : { statusCode: MetaStatusCode.COPYSET_NOTEXIST }));
    const response = await client.getInode(GET_INODE);
    expect(response.statusCode).toBe(MetaStatusCode.OK);
    expect(transport.trace()).toEqual([`GetInode@${A}`, `GetLeader@${A}`, `GetInode@${B}`]);
  });

  it('two peers naming each other (stale views) cost one immediate retry, then backoff: no busy loop', async () => {
    const { transport, client, clock } = setup(2, { operationTimeoutMs: 200 });
    transport.peers.set(A, (method) => (method === 'GetLeader' ? { leader: { address: B } } : { statusCode: MetaStatusCode.REDIRECTED }));
    transport.peers.set(B, (method) => (method === 'GetLeader' ? { leader: { address: A } } : { statusCode: MetaStatusCode.REDIRECTED }));
    const failure = (await client.getInode(GET_INODE).catch((error: unknown) => error)) as ClientCallError;
    expect(failure.code).toBe('DEADLINE_EXCEEDED');
    const attempts = transport.sent.filter((call) => call.method === 'GetInode');
    // Between two waits at most two attempts (the one that failed and one at the leader just learned).
    expect(attempts.length).toBeLessThanOrEqual(2 * (clock.sleeps.length + 1));
    expect(clock.sleeps.length).toBeGreaterThan(2);
  });
});
