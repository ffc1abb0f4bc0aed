import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, waitFor } from './cluster.ts';
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
});
