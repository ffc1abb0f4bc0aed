import { afterEach, describe, expect, it } from 'vitest';
import { sleep, TestCluster, waitFor } from './cluster.ts';
import { encodePut } from './kv-machine.ts';

const NODES = [1, 2, 3];
const GROUPS = [11, 12, 13, 14, 15, 16, 17, 18];

describe('RaftHost: elections and replication', () => {
  let cluster: TestCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('elects one leader per group and replicates writes of many groups to every replica', async () => {
    cluster = await TestCluster.start(NODES);
    for (const g of GROUPS) await cluster.createGroup(g);
    for (const g of GROUPS) await cluster.waitForLeader(g);
    const acked = new Map<number, number>();
    await Promise.all(
      GROUPS.flatMap((g) =>
        Array.from({ length: 10 }, async (_, k) => {
          const index = await cluster!.put(g, `k${k}`, `g${g}v${k}`);
          acked.set(g, Math.max(acked.get(g) ?? 0, index));
        }),
      ),
    );
    for (const g of GROUPS) {
      await cluster.waitForApplied(g, acked.get(g)!);
      for (const id of NODES) {
        const machine = cluster.machine(id, g);
        for (let k = 0; k < 10; k++) expect(machine.get(`k${k}`)).toBe(`g${g}v${k}`);
        // Each entry applied exactly once, in order, from 1.
        expect(machine.appliedLog).toEqual(Array.from({ length: machine.appliedLog.length }, (_, i) => i + 1));
      }
    }
  });

  it('writes the Readies of many groups of one turn with one sync (group commit)', async () => {
    cluster = await TestCluster.start(NODES, { quiesceAfterTicks: 0 });
    for (const g of GROUPS) await cluster.createGroup(g);
    // Make host 1 lead every group so one host's proposals span all groups.
    for (const g of GROUPS) {
      await cluster.waitForLeader(g);
      await waitFor(() => {
        const leader = cluster!.leaderOf(g);
        if (leader === 1) return true;
        if (leader !== null) {
          try {
            cluster!.host(leader).transferLeadership(g, 1);
          } catch {
            // a transfer is already running or leadership moved; retry
          }
        }
        return false;
      }, 10_000, `host 1 leading group ${g}`);
    }
    const leader = cluster.host(1);
    // Let elections settle: every replica applied the leaders' no-ops.
    for (const g of GROUPS) await cluster.waitForApplied(g, leader.status(g).commit);
    const backend = cluster.backends.get(1)!;
    const syncsBefore = backend.syncedWrites;
    const statsBefore = { ...leader.stats };
    const results = await Promise.all(GROUPS.map((g) => leader.propose(g, encodePut('x', `v${g}`))));
    expect(results).toHaveLength(GROUPS.length);
    const syncs = backend.syncedWrites - syncsBefore;
    // One sync for the proposals of all 8 groups (a commit-index update needs none).
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(2);
    expect(leader.stats.syncs - statsBefore.syncs).toBe(syncs);
    expect(leader.stats.readies - statsBefore.readies).toBeGreaterThanOrEqual(GROUPS.length);
  });

  it('the cheap leadership accessors agree with status(), and a proposal appends at lastIndex + 1 at once', async () => {
    cluster = await TestCluster.start(NODES);
    const g = GROUPS[0]!;
    await cluster.createGroup(g);
    await cluster.waitForLeader(g);
    await cluster.put(g, 'a', '1');
    for (const id of NODES) {
      const host = cluster.host(id);
      const status = host.status(g);
      expect(host.leaderTerm(g)).toBe(status.role === 'leader' ? status.term : 0);
      expect(host.knownLeader(g)).toBe(status.leader);
      expect(host.lastIndex(g)).toBe(status.lastIndex);
    }
    const leaderId = cluster.leaderOf(g)!;
    const leader = cluster.host(leaderId);
    expect(leader.leaderTerm(g)).toBeGreaterThan(0);
    const before = leader.lastIndex(g);
    const applied = leader.propose(g, encodePut('b', '2'));
    expect(leader.lastIndex(g)).toBe(before + 1);
    expect((await applied).index).toBe(before + 1);
    const follower = cluster.host(NODES.find((id) => id !== leaderId)!);
    expect(follower.leaderTerm(g)).toBe(0);
    expect(() => leader.leaderTerm(999)).toThrow();
  });

  it('applies committed entries already durable here without waiting for the write of newer ones', async () => {
    cluster = await TestCluster.start(NODES, { quiesceAfterTicks: 0 });
    const g = GROUPS[0]!;
    await cluster.createGroup(g);
    const aIndex = await cluster.put(g, 'a', '1');
    await cluster.waitForApplied(g, aIndex);
    const leaderId = cluster.leaderOf(g)!;
    const leader = cluster.host(leaderId);
    const backend = cluster.backends.get(leaderId)!;
    // Settled: no write of the leader in flight or due (commit-only hard states are written by a tick).
    for (let batches = -1, rounds = 0; leader.stats.batches !== batches; rounds++) {
      expect(rounds).toBeLessThan(100);
      batches = leader.stats.batches;
      await sleep(50);
    }
    // b commits on the followers' acks while the leader's own write of b is held.
    backend.holdWrites();
    let bApplied = false;
    const b = leader.propose(g, encodePut('b', '2')).then((outcome) => {
      bApplied = true;
      return outcome;
    });
    const bIndex = leader.lastIndex(g);
    await waitFor(() => leader.status(g).commit >= bIndex, 10_000, 'b committed by the followers');
    const c = leader.propose(g, encodePut('c', '3'));
    expect(bApplied).toBe(false);
    // b's write lands; the next Ready carries c (to write) and b (committed, now durable here).
    await backend.releaseWrites();
    backend.holdWrites();
    await waitFor(() => backend.heldWrites > 0, 10_000, "the leader's write of c held");
    await waitFor(() => bApplied, 10_000, 'b applied while the write of c is held');
    expect(backend.heldWrites).toBeGreaterThan(0);
    expect(cluster.machine(leaderId, g).get('b')).toBe('2');
    expect(cluster.machine(leaderId, g).get('c')).toBeUndefined();
    await backend.releaseWrites();
    expect((await c).index).toBe(bIndex + 1);
    expect((await b).index).toBe(bIndex);
    expect(cluster.machine(leaderId, g).get('c')).toBe('3');
  });
});
