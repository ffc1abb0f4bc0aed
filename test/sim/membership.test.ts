import { describe, expect, it } from 'vitest';
import { RaftError } from '../../src/raft/errors.ts';
import type { ConfigChange } from '../../src/raft/types.ts';
import { Simulator } from '../../src/testing/sim/index.ts';
import { ELECTION_BOUND_MS, ELECTION_MS, SEEDS, awaitNewLeader, expectLinearizable, leaderOf, others, settle, writeKeys } from './helpers.ts';

/** Proposes a change, retrying while the leader refuses (no-op not yet committed, change in flight, learner behind), until applied on the leader. */
function changeConfig(sim: Simulator, change: ConfigChange, maxMs = ELECTION_BOUND_MS * 5): void {
  let done = false;
  const deadline = sim.now + maxMs;
  while (!done && sim.now < deadline) {
    try {
      const at = sim.changeConfig(change);
      done = sim.runUntil(() => {
        const leader = sim.leader();
        return leader !== 0 && sim.replica(leader).applied >= at.index && sim.status(leader).config.epoch > 0;
      }, ELECTION_BOUND_MS);
      if (done) {
        const config = sim.status(sim.leader()).config;
        const applied = change.type === 'remove' ? !config.voters.includes(change.node) && !config.learners.includes(change.node)
          : change.type === 'promote' ? config.voters.includes(change.node) : config.learners.includes(change.node) || config.voters.includes(change.node);
        done = applied;
      }
    } catch (error) {
      if (!(error instanceof RaftError) && !(error instanceof Error && error.message.includes('no leader'))) throw error;
      sim.runFor(ELECTION_MS / 2);
    }
  }
  expect(done, `seed=${sim.seed}: ${change.type} ${change.node} did not take effect\n${sim.describe()}`).toBe(true);
}

const sorted = (ids: readonly number[]): number[] => [...ids].sort((a, b) => a - b);

describe('membership changes', () => {
  it.each(SEEDS)('replaces a peer while writes continue (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 4, replicasPerGroup: 3, snapshotEveryEntries: 20 });
    leaderOf(sim);
    expect(sorted(sim.members())).toEqual([1, 2, 3]);
    sim.startWorkload({ clients: 3 });
    sim.runFor(300);
    changeConfig(sim, { type: 'add-learner', node: 4 });
    // A learner receives the log but does not vote.
    expect(sim.runUntil(() => sim.replica(4).applied >= sim.status(sim.leader()).commit - 5, ELECTION_BOUND_MS)).toBe(true);
    changeConfig(sim, { type: 'promote', node: 4 });
    sim.runFor(200);
    changeConfig(sim, { type: 'remove', node: 3 });
    sim.runFor(1000);
    settle(sim);
    const leader = sim.leader();
    expect(sorted(sim.status(leader).config.voters)).toEqual([1, 2, 4]);
    expect(sim.status(leader).config.learners).toEqual([]);
    expect(sim.hasReplica(3), `seed=${seed}: the removed replica was not retired`).toBe(false);
    expect(sorted(sim.members())).toEqual([1, 2, 4]);
    expectLinearizable(sim);
  });

  it.each(SEEDS)('a removed leader steps down and the rest elect a new one (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3, removedReplicaGraceMs: 10_000 });
    const leader = leaderOf(sim);
    writeKeys(sim, 3);
    changeConfig(sim, { type: 'remove', node: leader });
    const next = awaitNewLeader(sim, [leader]);
    expect(next, `seed=${seed}`).not.toBe(0);
    sim.runFor(5 * ELECTION_MS);
    // Still running (grace period), but no longer leading: it must not block elections.
    expect(sim.status(leader).role).not.toBe('leader');
    expect(sorted(sim.status(next).config.voters)).toEqual(others(sim, leader));
    writeKeys(sim, 3, 'after');
    expect(sim.stableLeader()).toBe(next);
    sim.check();
  });

  it.each(SEEDS)('restarts with the right membership from a snapshot that keeps older entries (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 4, replicasPerGroup: 3, snapshotEveryEntries: 10, keepEntriesAfterSnapshot: 50 });
    leaderOf(sim);
    writeKeys(sim, 3);
    changeConfig(sim, { type: 'add-learner', node: 4 });
    sim.runFor(300);
    changeConfig(sim, { type: 'promote', node: 4 });
    writeKeys(sim, 25, 'z');
    sim.runFor(300);
    const epoch = sim.status(sim.leader()).config.epoch;
    expect(epoch, 'epoch counts the two committed changes').toBe(2);
    for (const id of sim.nodes.keys()) sim.crash(id);
    for (const id of sim.nodes.keys()) sim.restart(id);
    for (const id of sim.nodes.keys()) {
      const replica = sim.replica(id);
      expect(replica.disk.live.snapshot().metadata.index).toBeGreaterThan(replica.disk.live.firstIndex());
      const config = sim.status(id).config;
      expect(sorted(config.voters), `seed=${seed}: node ${id} restarted with the wrong voters`).toEqual([1, 2, 3, 4]);
      expect(config.learners).toEqual([]);
      expect(config.epoch, `seed=${seed}: node ${id} counted a change twice on restart`).toBe(epoch);
    }
    writeKeys(sim, 3, 'after');
    settle(sim);
  });
});

describe('leadership transfer', () => {
  it.each(SEEDS)('hands leadership to the chosen follower within an election timeout or so (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 5 });
    const leader = leaderOf(sim);
    writeKeys(sim, 5);
    const target = others(sim, leader)[seed % 4]!;
    const term = sim.status(leader).term;
    sim.transferLeadership(target);
    expect(sim.runUntil(() => sim.stableLeader() === target, 3 * ELECTION_MS), `seed=${seed}\n${sim.describe()}`).toBe(true);
    expect(sim.status(target).term, 'a transfer takes exactly one new term').toBe(term + 1);
    writeKeys(sim, 3, 'after');
    settle(sim);
  });

  it.each(SEEDS)('catches a lagging target up before handing over (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    const [target] = others(sim, leader);
    sim.network.isolate(target!, others(sim, target!));
    writeKeys(sim, 20);
    sim.network.heal();
    sim.transferLeadership(target!);
    expect(sim.runUntil(() => sim.stableLeader() === target, 10 * ELECTION_MS), `seed=${seed}\n${sim.describe()}`).toBe(true);
    expect(sim.replica(target!).state.get('k4')).toBe('k19');
    settle(sim);
  });
});
