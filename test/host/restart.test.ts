import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, waitFor } from './cluster.ts';

const NODES = [1, 2, 3];
const GROUPS = [21, 22, 23];

async function writeKeys(cluster: TestCluster, prefix: string, count: number): Promise<Map<number, number>> {
  const acked = new Map<number, number>();
  await Promise.all(
    GROUPS.map(async (g) => {
      for (let k = 0; k < count; k++) acked.set(g, await cluster.put(g, `${prefix}${k}`, `${g}:${prefix}${k}`));
    }),
  );
  return acked;
}

function expectKeys(cluster: TestCluster, node: number, prefix: string, count: number): void {
  for (const g of GROUPS) {
    const machine = cluster.machine(node, g);
    for (let k = 0; k < count; k++) expect(machine.get(`${prefix}${k}`), `node ${node} group ${g} key ${prefix}${k}`).toBe(`${g}:${prefix}${k}`);
  }
}

describe('RaftHost: restart from disk', () => {
  let cluster: TestCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('a restarted host keeps every acknowledged write and catches up by log', async () => {
    cluster = await TestCluster.start(NODES);
    for (const g of GROUPS) await cluster.createGroup(g);
    await writeKeys(cluster, 'a', 15);
    await cluster.stopHost(3);
    const acked = await writeKeys(cluster, 'b', 15);
    const host3 = await cluster.startHost(3);
    // Groups load in parallel and report progress.
    const loads = cluster.loadEvents.get(3)!;
    expect(loads.map((e) => e.group).sort()).toEqual(GROUPS);
    expect(loads.map((e) => e.loaded)).toEqual([1, 2, 3]);
    expect(loads.every((e) => e.total === GROUPS.length)).toBe(true);
    for (const g of GROUPS) await cluster.waitForApplied(g, acked.get(g)!, [3]);
    expectKeys(cluster, 3, 'a', 15);
    expectKeys(cluster, 3, 'b', 15);
    expect(host3.stats.snapshotsInstalled).toBe(0);
    // A configuration survives the restart (CurveFS once reported no peers after one).
    for (const g of GROUPS) expect([...host3.status(g).config.voters].sort()).toEqual(NODES);

    // Now every host restarts at once: nothing acknowledged may be lost.
    for (const id of NODES) await cluster.stopHost(id);
    for (const id of NODES) await cluster.startHost(id);
    for (const g of GROUPS) await cluster.waitForApplied(g, acked.get(g)!);
    for (const id of NODES) {
      expectKeys(cluster, id, 'a', 15);
      expectKeys(cluster, id, 'b', 15);
    }
    const more = await writeKeys(cluster, 'c', 3);
    for (const g of GROUPS) await cluster.waitForApplied(g, more.get(g)!);
    for (const id of NODES) expectKeys(cluster, id, 'c', 3);
  });

  it('acknowledged writes survive a power loss of every host at once (unsynced writes vanish)', async () => {
    cluster = await TestCluster.start(NODES);
    for (const g of GROUPS) await cluster.createGroup(g);
    const acked: Array<{ g: number; key: string }> = [];
    let stop = false;
    const writers = GROUPS.map(async (g) => {
      for (let k = 0; !stop; k++) {
        try {
          await cluster!.put(g, `p${k}`, `${g}:p${k}`, 2000);
          if (!stop) acked.push({ g, key: `p${k}` });
        } catch {
          return;
        }
      }
    });
    await waitFor(() => acked.length >= 30, 15_000, '30 acknowledged writes');
    // Every host loses power while writes are in flight.
    stop = true;
    const ackedAtCrash = acked.slice();
    await Promise.all(NODES.map((id) => cluster!.crashHost(id)));
    await Promise.allSettled(writers);
    for (const id of NODES) await cluster.startHost(id);
    for (const g of GROUPS) {
      const index = await cluster.put(g, 'final', 'x');
      await cluster.waitForApplied(g, index);
    }
    for (const id of NODES) {
      for (const { g, key } of ackedAtCrash) expect(cluster.machine(id, g).get(key), `node ${id} group ${g} ${key}`).toBe(`${g}:${key}`);
    }
  });

  it('a follower far behind a compacted log gets a snapshot in chunks; a restarted leader loads its own snapshot', async () => {
    cluster = await TestCluster.start(NODES, { snapshotChunkBytes: 64 });
    for (const g of GROUPS) await cluster.createGroup(g);
    await writeKeys(cluster, 'a', 10);
    await cluster.stopHost(3);
    const acked = await writeKeys(cluster, 'b', 30);
    for (const g of GROUPS) {
      await cluster.waitForApplied(g, acked.get(g)!, [1, 2]);
      for (const id of [1, 2]) {
        const index = await cluster.host(id).snapshotNow(g);
        expect(index).toBeGreaterThanOrEqual(acked.get(g)!);
        const status = cluster.host(id).status(g);
        expect(status.snapshotIndex).toBe(index);
        // Compacted through the snapshot: the entries host 3 lacks are gone.
        expect(status.firstIndex).toBe(index + 1);
      }
    }
    const tail = await writeKeys(cluster, 'c', 3);
    const chunksBefore = cluster.hub.delivered.snapshotChunks;
    const host3 = await cluster.startHost(3);
    for (const g of GROUPS) await cluster.waitForApplied(g, tail.get(g)!, [3]);
    expect(host3.stats.snapshotsInstalled).toBe(GROUPS.length);
    // Each snapshot file is several hundred bytes: many 64-byte chunks per transfer.
    expect(cluster.hub.delivered.snapshotChunks - chunksBefore).toBeGreaterThan(GROUPS.length * 3);
    for (const g of GROUPS) expect(cluster.machine(3, g).restores).toBe(1);
    expectKeys(cluster, 3, 'a', 10);
    expectKeys(cluster, 3, 'b', 30);
    expectKeys(cluster, 3, 'c', 3);

    // Restart host 1 (which took a snapshot, then logged more): snapshot + replay.
    await cluster.stopHost(1);
    const host1 = await cluster.startHost(1);
    for (const g of GROUPS) {
      await waitFor(() => cluster!.machine(1, g).appliedIndex() >= tail.get(g)!, 15_000, `host 1 replayed group ${g}`);
      expect(cluster.machine(1, g).restores).toBe(1);
      expect(host1.status(g).snapshotIndex).toBeGreaterThanOrEqual(acked.get(g)!);
    }
    expectKeys(cluster, 1, 'a', 10);
    expectKeys(cluster, 1, 'b', 30);
    expectKeys(cluster, 1, 'c', 3);
  });
});
