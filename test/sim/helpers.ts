import { expect } from 'vitest';
import { checkOperations } from '../../src/testing/linearizability.ts';
import { kvModel } from '../../src/testing/kv-model.ts';
import type { Simulator } from '../../src/testing/sim/index.ts';
import type { GroupId, NodeId } from '../../src/raft/types.ts';

/** Seeds every scenario runs with (each one replays exactly). */
export const SEEDS = [1, 2, 3, 4, 5];

/** Election timeout at the default 10 ticks x 10 ms, and a generous bound for one election. */
export const ELECTION_MS = 100;
export const ELECTION_BOUND_MS = 20 * ELECTION_MS;

/** Asserts the client history of a group is linearizable (the message carries the seed). */
export function expectLinearizable(sim: Simulator, group: GroupId = 1): void {
  const history = sim.history(group);
  const outcome = checkOperations(kvModel, history, { timeoutMs: 20_000 });
  expect(outcome.result, `seed=${sim.seed}: ${outcome.info ?? ''}`).toBe('ok');
}

/** Runs until a stable leader exists and returns it, failing with the seed otherwise. */
export function leaderOf(sim: Simulator, group: GroupId = 1): NodeId {
  const leader = sim.awaitLeader(group, ELECTION_BOUND_MS);
  expect(leader, `seed=${sim.seed}: no leader\n${sim.describe(group)}`).not.toBe(0);
  return leader;
}

/** Writes `count` puts through clients and asserts each was acknowledged. */
export function writeKeys(sim: Simulator, count: number, prefix = 'k', group: GroupId = 1): void {
  for (let i = 0; i < count; i++) {
    const op = sim.execute({ op: 'put', key: `${prefix}${i % 5}`, value: `${prefix}${i}` }, group);
    expect(op.done, `seed=${sim.seed}: write ${i} not acknowledged\n${sim.describe(group)}`).toBe(true);
  }
}

/** All node ids other than the given ones. */
export function others(sim: Simulator, ...except: NodeId[]): NodeId[] {
  return [...sim.nodes.keys()].filter((id) => !except.includes(id));
}

/** The final check every scenario ends with: heal, converge, acknowledged writes present, checks pass. */
export function settle(sim: Simulator): void {
  sim.stopWorkload();
  sim.healAll();
  sim.network.configure({ lossProbability: 0, duplicateProbability: 0 });
  expect(sim.awaitClientsIdle(30_000), `seed=${sim.seed}: clients still waiting`).toBe(true);
  sim.awaitConvergence(30_000);
  sim.checkAcknowledgedWrites();
  sim.check();
}

/** Runs until a stable leader other than the excluded nodes exists; returns it (0: none in time). */
export function awaitNewLeader(sim: Simulator, excluded: readonly NodeId[], group: GroupId = 1, maxMs = ELECTION_BOUND_MS): NodeId {
  let found: NodeId = 0;
  sim.runUntil(() => {
    const leader = sim.stableLeader(group);
    found = leader !== 0 && !excluded.includes(leader) ? leader : 0;
    return found !== 0;
  }, maxMs);
  return found;
}
