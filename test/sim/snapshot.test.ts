import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/testing/sim/index.ts';
import type { NodeId } from '../../src/raft/types.ts';
import { SEEDS, expectLinearizable, leaderOf, others, settle, writeKeys } from './helpers.ts';

const SNAPSHOT_EVERY = 10;

/** Counts snapshot messages per receiving node. */
function countSnapshots(sim: Simulator): Map<NodeId, number> {
  const sent = new Map<NodeId, number>();
  sim.network.tap = ({ message }) => {
    if (message.type === 'snapshot') sent.set(message.to, (sent.get(message.to) ?? 0) + 1);
  };
  return sent;
}

describe('snapshots and log compaction', () => {
  it.each(SEEDS)('snapshots bound the log (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, snapshotEveryEntries: SNAPSHOT_EVERY });
    leaderOf(sim);
    writeKeys(sim, 100);
    sim.runFor(200);
    for (const replica of sim.runningReplicas()) {
      const storage = replica.disk.live;
      const kept = storage.lastIndex() - storage.firstIndex() + 1;
      expect(kept, `seed=${seed}: node ${replica.node} keeps ${kept} entries`).toBeLessThanOrEqual(2 * SNAPSHOT_EVERY);
      expect(storage.snapshot().metadata.index).toBeGreaterThan(90);
    }
    // Control: without snapshots the log keeps every entry.
    const control = new Simulator({ seed, nodes: 3 });
    leaderOf(control);
    writeKeys(control, 100);
    expect(control.replica(1).disk.live.firstIndex()).toBe(1);
    settle(sim);
  });

  it.each(SEEDS)('sends a snapshot to a follower that fell behind the compacted log (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, snapshotEveryEntries: SNAPSHOT_EVERY });
    const leader = leaderOf(sim);
    const [follower] = others(sim, leader);
    sim.network.isolate(follower!, others(sim, follower!));
    writeKeys(sim, 60);
    expect(sim.status(leader).firstIndex).toBeGreaterThan(sim.replica(follower!).applied + 1);
    const snapshots = countSnapshots(sim);
    sim.network.heal();
    settle(sim);
    expect(snapshots.get(follower!) ?? 0, `seed=${seed}: no snapshot was sent`).toBeGreaterThanOrEqual(1);
    expect(sim.replica(follower!).state.get('k4')).toBe('k59');
    expect(sim.replica(follower!).state.hash()).toBe(sim.replica(leader).state.hash());
  });

  it.each(SEEDS)('sends a snapshot to a follower that crashed and restarts behind (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, snapshotEveryEntries: SNAPSHOT_EVERY });
    const leader = leaderOf(sim);
    writeKeys(sim, 5, 'a');
    const [follower] = others(sim, leader);
    sim.crash(follower!);
    writeKeys(sim, 60, 'b');
    const snapshots = countSnapshots(sim);
    sim.restart(follower!);
    settle(sim);
    expect(snapshots.get(follower!) ?? 0, `seed=${seed}`).toBeGreaterThanOrEqual(1);
    expect(sim.replica(follower!).state.get('a4')).toBe('a4');
    expect(sim.replica(follower!).state.get('b4')).toBe('b59');
  });

  it.each(SEEDS)('restarts every replica from its snapshot (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, snapshotEveryEntries: SNAPSHOT_EVERY, keepEntriesAfterSnapshot: 3 });
    leaderOf(sim);
    writeKeys(sim, 45);
    sim.runFor(100);
    for (const id of sim.nodes.keys()) sim.crash(id);
    for (const id of sim.nodes.keys()) {
      sim.restart(id);
      const replica = sim.replica(id);
      // The state machine comes back from the snapshot alone, before any entry is re-applied.
      const snapshotIndex = replica.disk.live.snapshot().metadata.index;
      expect(snapshotIndex).toBeGreaterThanOrEqual(40);
      expect(replica.applied).toBe(snapshotIndex);
      expect(replica.state.get('k0')).not.toBe('');
    }
    leaderOf(sim);
    const read = sim.execute({ op: 'get', key: 'k4', value: '' });
    expect(read.output?.value, `seed=${seed}`).toBe('k44');
    writeKeys(sim, 5, 'z');
    settle(sim);
  });

  it.each(SEEDS)('stays linearizable with snapshots, delays, duplicates and a lagging follower (seed %i)', (seed) => {
    const sim = new Simulator({
      seed,
      nodes: 3,
      snapshotEveryEntries: 5,
      network: { minDelayMs: 1, maxDelayMs: 40, duplicateProbability: 0.2, lossProbability: 0.05 },
    });
    const leader = leaderOf(sim);
    sim.startWorkload({ clients: 4 });
    const [follower] = others(sim, leader);
    for (let i = 0; i < 4; i++) {
      sim.network.isolate(follower!, others(sim, follower!));
      sim.runFor(500);
      sim.network.heal();
      sim.runFor(300);
    }
    settle(sim);
    expectLinearizable(sim);
  });
});
