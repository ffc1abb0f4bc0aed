import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/testing/sim/index.ts';
import { Random } from '../../src/testing/random.ts';
import { ELECTION_MS, SEEDS, awaitNewLeader, leaderOf, others } from './helpers.ts';

describe('elections on a simulated cluster', () => {
  it.each(SEEDS)('elects one leader at start and keeps it while nothing fails (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    const term = sim.status(leader).term;
    expect(term).toBeGreaterThanOrEqual(1);
    for (const id of sim.nodes.keys()) expect(sim.status(id).term, `seed=${seed}`).toBe(term);
    sim.runFor(50 * ELECTION_MS);
    expect(sim.leader(), `seed=${seed}`).toBe(leader);
    expect(sim.status(leader).term, `seed=${seed}: term changed without a failure`).toBe(term);
    expect(sim.leadersByTerm().size).toBe(1);
    sim.check();
  });

  it.each(SEEDS)('re-elects when the leader is cut off, and not without a majority (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const first = leaderOf(sim);
    const firstTerm = sim.status(first).term;
    sim.network.isolate(first, others(sim, first));
    const second = awaitNewLeader(sim, [first]);
    expect(second, `seed=${seed}`).not.toBe(0);
    expect(second).not.toBe(first);
    expect(sim.status(second).term).toBeGreaterThan(firstTerm);
    // CheckQuorum: the cut-off leader notices it lost its quorum and steps down.
    sim.runFor(3 * ELECTION_MS);
    expect(sim.status(first).role, `seed=${seed}: isolated leader did not step down`).not.toBe('leader');

    // The old leader rejoins: it must not disturb the new one.
    sim.network.heal();
    sim.runFor(10 * ELECTION_MS);
    expect(sim.stableLeader()).toBe(second);

    // Cut off the leader and one follower: no majority anywhere, so no leader at all.
    const [lonely] = others(sim, second);
    sim.network.isolate(second, others(sim, second));
    sim.network.isolate(lonely!, others(sim, lonely!));
    sim.runFor(20 * ELECTION_MS);
    expect(sim.leader(), `seed=${seed}: a leader without a majority\n${sim.describe()}`).toBe(0);

    // One link back: a majority again, a leader again.
    sim.network.reconnect(lonely!, others(sim, lonely!, second)[0]!);
    expect(awaitNewLeader(sim, [second]), `seed=${seed}`).not.toBe(0);
    sim.check();
  });

  it.each(SEEDS)('elects a leader after each of many partitions of 7 nodes (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 7 });
    const random = new Random(seed).fork('churn');
    let current = leaderOf(sim);
    for (let round = 0; round < 10; round++) {
      // Cut the leader and two random others: the remaining four must elect a new one.
      const cut = [current, ...random.shuffle(others(sim, current)).slice(0, 2)];
      for (const id of cut) sim.network.isolate(id, others(sim, id));
      const leader = awaitNewLeader(sim, cut);
      expect(leader, `seed=${seed} round ${round}\n${sim.describe()}`).not.toBe(0);
      expect(cut).not.toContain(leader);
      current = leader;
      sim.network.heal();
      sim.runFor(random.int(0, 5 * ELECTION_MS));
    }
    // Election Safety is checked on every Ready; each round needed a new term's leader.
    expect(sim.leadersByTerm().size).toBeGreaterThanOrEqual(11);
    sim.check();
  });

  it.each(SEEDS)('PreVote: a partitioned follower rejoining does not raise the term (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    const term = sim.status(leader).term;
    const [follower] = others(sim, leader);
    sim.network.isolate(follower!, others(sim, follower!));
    sim.runFor(30 * ELECTION_MS);
    // Pre-votes fail without a majority, so the real term never moves.
    expect(sim.status(follower!).term, `seed=${seed}`).toBe(term);
    sim.network.heal();
    sim.runFor(20 * ELECTION_MS);
    expect(sim.leader()).toBe(leader);
    expect(sim.status(leader).term, `seed=${seed}: the rejoining follower disturbed the leader`).toBe(term);
    expect(sim.status(follower!).leader).toBe(leader);
  });

  it.each(SEEDS)('without PreVote the same rejoin forces a new election (control, seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, raft: { preVote: false, checkQuorum: false } });
    const leader = leaderOf(sim);
    const term = sim.status(leader).term;
    const [follower] = others(sim, leader);
    sim.network.isolate(follower!, others(sim, follower!));
    sim.runFor(30 * ELECTION_MS);
    expect(sim.status(follower!).term).toBeGreaterThan(term);
    sim.network.heal();
    expect(sim.runUntil(() => sim.maxTerm() > term && sim.stableLeader() !== 0 && sim.status(sim.stableLeader()).term > term, 20 * ELECTION_MS)).toBe(true);
    sim.check();
  });
});
