import { describe, expect, it } from 'vitest';
import { Random } from '../../src/testing/random.ts';
import { Simulator, type ReplicaReply } from '../../src/testing/sim/index.ts';
import { ELECTION_MS, SEEDS, awaitNewLeader, expectLinearizable, leaderOf, others, settle } from './helpers.ts';

const READ_MODES = ['read-index', 'lease'] as const;

describe.each(READ_MODES)('linearizable reads (%s)', (readMode) => {
  it.each(SEEDS)('keeps reads linearizable while leaders are cut off and crash (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 5, raft: { readMode }, network: { minDelayMs: 1, maxDelayMs: 10 } });
    const random = new Random(seed).fork('reads');
    leaderOf(sim);
    sim.startWorkload({ clients: 6, readFraction: 0.5, keys: ['r', 's'] });
    for (let round = 0; round < 8; round++) {
      const leader = sim.leader();
      // Clients still reach a cut-off leader: it must not answer from stale state.
      if (leader !== 0 && random.chance(0.7)) sim.network.isolate(leader, others(sim, leader));
      else if (leader !== 0) sim.crash(leader);
      sim.runFor(random.int(2, 6) * ELECTION_MS);
      sim.healAll();
      sim.runFor(random.int(1, 3) * ELECTION_MS);
    }
    settle(sim);
    const reads = sim.history().filter((op) => op.input.op === 'get');
    expect(reads.length, `seed=${seed}`).toBeGreaterThan(20);
    expectLinearizable(sim);
  });

  it.each(SEEDS)('a deposed leader does not serve a read after a newer write (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, raft: { readMode } });
    const old = leaderOf(sim);
    expect(sim.execute({ op: 'put', key: 'x', value: 'old' }).done).toBe(true);
    sim.network.isolate(old, others(sim, old));
    expect(awaitNewLeader(sim, [old]), `seed=${seed}`).not.toBe(0);
    expect(sim.execute({ op: 'put', key: 'x', value: 'new' }).done).toBe(true);
    const replies: ReplicaReply[] = [];
    sim.replica(old).submitRead('x', (reply) => replies.push(reply));
    sim.runFor(10 * ELECTION_MS);
    const served = replies.filter((r) => r.kind === 'ok');
    expect(served, `seed=${seed}: the cut-off old leader served a stale read`).toEqual([]);
    settle(sim);
  });
});
