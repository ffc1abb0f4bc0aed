import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, sleep, waitFor } from './cluster.ts';

const NODES = [1, 2, 3];
const GROUPS = [71, 72];

describe('RaftHost: snapshots by log size', () => {
  let cluster: TestCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('snapshots every replica once enough bytes were applied, compacts the log, keeps one file, and restarts from it', async () => {
    cluster = await TestCluster.start(NODES, { snapshotLogBytes: 200 });
    const taken: Array<{ node: number; group: number; index: number }> = [];
    for (const id of NODES) cluster.host(id).events.on('snapshot-taken', (e) => taken.push({ node: id, group: e.group, index: e.index }));
    for (const g of GROUPS) await cluster.createGroup(g);
    const last = new Map<number, number>();
    for (const g of GROUPS) for (let k = 0; k < 40; k++) last.set(g, await cluster.put(g, `key${k}`, `value-${g}-${k}`));
    for (const g of GROUPS) await cluster.waitForApplied(g, last.get(g)!);
    // About 20 bytes per entry: a snapshot roughly every 10 entries on every replica.
    await waitFor(() => NODES.every((id) => GROUPS.every((g) => cluster!.host(id).status(g).snapshotIndex >= last.get(g)! - 15)), 10_000, 'recent snapshots everywhere');
    for (const id of NODES) {
      expect(cluster.host(id).stats.snapshotsTaken).toBeGreaterThanOrEqual(GROUPS.length * 2);
      for (const g of GROUPS) {
        const status = cluster.host(id).status(g);
        expect(status.firstIndex).toBe(status.snapshotIndex + 1);
        expect(status.snapshotAgeMs).toBeGreaterThanOrEqual(0);
      }
    }
    // Snapshot indexes only grow, per replica and group.
    for (const id of NODES) {
      for (const g of GROUPS) {
        const indexes = taken.filter((t) => t.node === id && t.group === g).map((t) => t.index);
        expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
      }
    }
    for (const g of GROUPS) {
      // Old files are removed once a newer one is recorded (cleanup runs in the background).
      let files = 0;
      for (let attempt = 0; attempt < 200; attempt++) {
        files = (await readdir(`${cluster.snapshotDirOf(2)}/${g}`)).filter((n) => n.endsWith('.snap')).length;
        if (files === 1) break;
        await sleep(10);
      }
      expect(files).toBe(1);
    }
    await cluster.stopHost(2);
    await cluster.startHost(2);
    for (const g of GROUPS) {
      await cluster.waitForApplied(g, last.get(g)!, [2]);
      expect(cluster.machine(2, g).restores).toBe(1);
      for (let k = 0; k < 40; k++) expect(cluster.machine(2, g).get(`key${k}`)).toBe(`value-${g}-${k}`);
    }
  });
});
