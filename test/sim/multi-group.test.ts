import { describe, expect, it } from 'vitest';
import { Random } from '../../src/testing/random.ts';
import { Simulator } from '../../src/testing/sim/index.ts';
import { ELECTION_MS, SEEDS, expectLinearizable, settle } from './helpers.ts';

describe('many groups on shared nodes', () => {
  it.each(SEEDS)('runs 4 groups of 3 replicas on 5 nodes through crashes and partitions (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 5, groups: 4, replicasPerGroup: 3, snapshotEveryEntries: 20 });
    const random = new Random(seed).fork('multi');
    expect(sim.runUntil(() => [...sim.groups.keys()].every((g) => sim.stableLeader(g) !== 0), 20 * ELECTION_MS)).toBe(true);
    // Placement: group g lives on nodes g, g+1, g+2 (mod 5).
    expect([...sim.members(4)].sort()).toEqual([1, 4, 5]);
    for (const group of sim.groups.keys()) sim.startWorkload({ group, clients: 2 });
    for (let round = 0; round < 5; round++) {
      const victim = random.int(1, 5);
      if (random.chance(0.5)) sim.crash(victim);
      else sim.network.isolate(victim, [...sim.nodes.keys()]);
      sim.runFor(random.int(2, 6) * ELECTION_MS);
      sim.healAll();
      sim.runFor(2 * ELECTION_MS);
    }
    settle(sim);
    for (const group of sim.groups.keys()) {
      expect(sim.history(group).length, `seed=${seed} group ${group}`).toBeGreaterThan(10);
      expectLinearizable(sim, group);
    }
    // Groups are independent: each has its own terms and log.
    const hashes = new Set([...sim.groups.keys()].map((g) => sim.replica(sim.leader(g), g).state.hash()));
    expect(hashes.size).toBe(4);
  });
});
