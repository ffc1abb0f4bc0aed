import { describe, expect, it } from 'vitest';
import { Random } from '../../src/testing/random.ts';
import { Simulator } from '../../src/testing/sim/index.ts';
import type { NodeId } from '../../src/raft/types.ts';
import { ELECTION_MS, SEEDS, awaitNewLeader, expectLinearizable, leaderOf, others, settle, writeKeys } from './helpers.ts';

/** Random faults for `rounds` rounds while a workload runs; at most a minority crashed at once when `keepMajority`. */
function churn(sim: Simulator, random: Random, rounds: number, options: { keepMajority: boolean; partitions: boolean }): void {
  const ids = [...sim.nodes.keys()];
  for (let round = 0; round < rounds; round++) {
    const roll = random.next();
    const down = ids.filter((id) => !sim.isUp(id));
    if (roll < 0.3) {
      const target = random.chance(0.5) && sim.leader() !== 0 ? sim.leader() : random.pick(ids);
      if (!options.keepMajority || down.length + 1 < ids.length / 2) sim.crash(target);
    } else if (roll < 0.6 && down.length > 0) {
      sim.restart(random.pick(down));
    } else if (roll < 0.8 && options.partitions) {
      sim.network.heal();
      const shuffled = random.shuffle(ids);
      const cut = random.int(1, Math.floor(ids.length / 2));
      sim.network.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else {
      sim.network.heal();
    }
    sim.runFor(random.int(1, 4) * ELECTION_MS);
  }
}

describe('persistence across crashes', () => {
  it.each(SEEDS)('survives a crash of every node at once (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    leaderOf(sim);
    writeKeys(sim, 10);
    const terms = new Map<NodeId, number>();
    for (const id of sim.nodes.keys()) terms.set(id, sim.status(id).term);
    for (const id of sim.nodes.keys()) sim.crash(id);
    sim.runFor(5 * ELECTION_MS);
    for (const id of sim.nodes.keys()) sim.restart(id);
    // Term and vote are durable: a restarted replica never goes back in time.
    for (const id of sim.nodes.keys()) expect(sim.status(id).term, `seed=${seed}`).toBeGreaterThanOrEqual(terms.get(id)!);
    leaderOf(sim);
    const read = sim.execute({ op: 'get', key: 'k4', value: '' });
    expect(read.output?.value, `seed=${seed}`).toBe('k9');
    writeKeys(sim, 5, 'again');
    settle(sim);
  });

  it.each(SEEDS)('survives repeated crashes of the leader (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 5 });
    for (let round = 0; round < 5; round++) {
      const leader = leaderOf(sim);
      writeKeys(sim, 2, `r${round}-`);
      sim.crash(leader);
      expect(awaitNewLeader(sim, [leader]), `seed=${seed}`).not.toBe(0);
      writeKeys(sim, 1, `s${round}-`);
      sim.restart(leader);
    }
    settle(sim);
    for (const replica of sim.runningReplicas()) expect(replica.state.get('r4-1')).toBe('r4-1');
  });

  it.each(SEEDS)('survives crashes inside a partition (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    writeKeys(sim, 2);
    const [a, b] = others(sim, leader);
    sim.network.isolate(a!, others(sim, a!));
    writeKeys(sim, 2, 'p');
    sim.crash(leader);
    sim.crash(b!);
    sim.network.heal();
    sim.restart(b!);
    // a missed the 'p' writes; b has them, so only b can win: they must survive.
    writeKeys(sim, 1, 'q');
    sim.restart(leader);
    settle(sim);
    for (const replica of sim.runningReplicas()) expect(replica.state.get('p1')).toBe('p1');
  });

  const FIGURE_8_NETWORKS = [
    { name: 'reliable', network: {} },
    { name: 'unreliable', network: { minDelayMs: 1, maxDelayMs: 60, lossProbability: 0.1, duplicateProbability: 0.1 } },
  ];
  it.each(SEEDS.flatMap((seed) => FIGURE_8_NETWORKS.map((n) => ({ seed, ...n }))))('keeps committed entries through Figure 8 churn ($name network, seed $seed)', ({ seed, network }) => {
    const sim = new Simulator({ seed, nodes: 5, network });
    const random = new Random(seed).fork('figure8');
    const encoder = new TextEncoder();
    leaderOf(sim);
    for (let round = 0; round < 60; round++) {
      const leader = sim.leader();
      if (leader !== 0) sim.propose(encoder.encode(`#f8-${round}`));
      sim.runFor(random.chance(0.1) ? random.int(0, 5 * ELECTION_MS) : random.int(0, 13));
      if (leader !== 0 && sim.isUp(leader) && random.chance(0.5)) sim.crash(leader);
      const down = [...sim.nodes.keys()].filter((id) => !sim.isUp(id));
      if (down.length >= 3 || (down.length > 0 && random.chance(0.3))) sim.restart(random.pick(down));
    }
    settle(sim);
    const committed = sim.replica(1).state.opaqueEntries;
    for (const replica of sim.runningReplicas()) expect(replica.state.opaqueEntries).toBe(committed);
    expect(committed).toBeGreaterThan(0);
  });

  it.each(SEEDS)('stays linearizable through churn on an unreliable network (seed %i)', (seed) => {
    const sim = new Simulator({
      seed,
      nodes: 5,
      network: { minDelayMs: 1, maxDelayMs: 30, lossProbability: 0.1, duplicateProbability: 0.05 },
      snapshotEveryEntries: 25,
      keepEntriesAfterSnapshot: 5,
    });
    const random = new Random(seed).fork('churn');
    leaderOf(sim);
    sim.startWorkload({ clients: 5, keys: ['x', 'y', 'z'] });
    churn(sim, random, 30, { keepMajority: false, partitions: true });
    settle(sim);
    expect(sim.history().filter((op) => op.return !== Number.POSITIVE_INFINITY).length).toBeGreaterThan(20);
    expectLinearizable(sim);
  });

  it.each(SEEDS)('recovers from torn writes: a crash keeps only a prefix of the unsynced batch (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, disk: { minSyncMs: 1, maxSyncMs: 8, torn: true } });
    const random = new Random(seed).fork('torn');
    leaderOf(sim);
    sim.startWorkload({ clients: 4 });
    churn(sim, random, 30, { keepMajority: false, partitions: false });
    settle(sim);
    expectLinearizable(sim);
  });
});
