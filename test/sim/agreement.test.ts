import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/testing/sim/index.ts';
import type { NodeId } from '../../src/raft/types.ts';
import { ELECTION_MS, SEEDS, awaitNewLeader, leaderOf, others, settle, writeKeys } from './helpers.ts';

const encoder = new TextEncoder();

/** Opaque test data (not a KV command): the state machine folds it into its hash. */
function tag(text: string): Uint8Array {
  return encoder.encode(`#${text}`);
}

/** Every replica's log entry at `index` carries `data`. */
function expectEntryEverywhere(sim: Simulator, index: number, data: Uint8Array): void {
  for (const replica of sim.runningReplicas()) {
    const storage = replica.disk.live;
    if (index < storage.firstIndex()) continue;
    const [entry] = storage.entries(index, index + 1);
    expect(entry?.data, `seed=${sim.seed}: node ${replica.node} index ${index}`).toEqual(data);
  }
}

/** Proposes at `node` directly and returns the index it got. */
function proposeAt(sim: Simulator, node: NodeId, data: Uint8Array): number {
  return sim.withCore(node, 1, (core) => core.propose(data)).index;
}

/** Whether any replica holds an entry with exactly this data anywhere in its log. */
function anyLogHolds(sim: Simulator, data: Uint8Array): boolean {
  return sim.runningReplicas().some((replica) => {
    const storage = replica.disk.live;
    const entries = storage.lastIndex() >= storage.firstIndex() ? storage.entries(storage.firstIndex(), storage.lastIndex() + 1) : [];
    return entries.some((e) => e.data.length === data.length && e.data.every((b, i) => b === data[i]));
  });
}

describe('log agreement on a simulated cluster', () => {
  it.each(SEEDS)('agrees on consecutive entries (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    let previous = sim.status(leader).lastIndex;
    for (let i = 0; i < 5; i++) {
      const data = tag(`basic-${i}`);
      const at = proposeAt(sim, leader, data);
      expect(at, `seed=${seed}: indexes must be consecutive`).toBe(previous + 1);
      previous = at;
      expect(sim.runUntil(() => sim.appliedEverywhere(at), 10 * ELECTION_MS), `seed=${seed}`).toBe(true);
      expectEntryEverywhere(sim, at, data);
    }
    for (const replica of sim.runningReplicas()) expect(replica.state.opaqueEntries).toBe(5);
    sim.check();
  });

  it.each(SEEDS)('agrees with a follower cut off, which catches up on return (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    const [follower] = others(sim, leader);
    sim.network.isolate(follower!, others(sim, follower!));
    writeKeys(sim, 10);
    const commit = sim.status(leader).commit;
    expect(sim.replica(follower!).applied).toBeLessThan(commit);
    sim.network.heal();
    expect(sim.runUntil(() => sim.appliedEverywhere(commit), 20 * ELECTION_MS), `seed=${seed}`).toBe(true);
    expect(sim.replica(follower!).state.get('k4')).toBe('k9');
    settle(sim);
  });

  it.each(SEEDS)('agrees after the leader crashes, and the old leader catches up on restart (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const leader = leaderOf(sim);
    writeKeys(sim, 3, 'a');
    sim.crash(leader);
    writeKeys(sim, 5, 'b');
    expect(sim.leader()).not.toBe(leader);
    sim.restart(leader);
    settle(sim);
    expect(sim.replica(leader).state.get('b4')).toBe('b4');
    expect(sim.replica(leader).state.get('a2')).toBe('a2');
  });

  it.each(SEEDS)('commits nothing without a majority (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 5 });
    const leader = leaderOf(sim);
    writeKeys(sim, 2);
    const cut = others(sim, leader).slice(0, 3);
    for (const id of cut) sim.network.isolate(id, others(sim, id));
    const commitBefore = sim.status(leader).commit;
    const at = proposeAt(sim, leader, tag('minority'));
    sim.runFor(20 * ELECTION_MS);
    for (const replica of sim.runningReplicas()) {
      expect(replica.raft.status().commit, `seed=${seed}: node ${replica.node} committed without a majority`).toBeLessThan(at);
    }
    expect(sim.status(leader).commit).toBe(commitBefore);
    sim.network.heal();
    writeKeys(sim, 3, 'after');
    settle(sim);
  });

  it.each(SEEDS)('a partitioned old leader rejoins and its conflicting entries are discarded (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 3 });
    const first = leaderOf(sim);
    writeKeys(sim, 1);
    // The old leader, cut off, accepts entries it can never commit.
    sim.network.isolate(first, others(sim, first));
    const orphans = [tag('orphan-1'), tag('orphan-2'), tag('orphan-3')];
    for (const data of orphans) proposeAt(sim, first, data);
    const second = awaitNewLeader(sim, [first]);
    expect(second, `seed=${seed}`).not.toBe(0);
    writeKeys(sim, 3, 'new');
    // Now the new leader is cut off and the old one comes back.
    sim.network.heal();
    sim.network.isolate(second, others(sim, second));
    const third = awaitNewLeader(sim, [second]);
    expect(third, `seed=${seed}`).not.toBe(0);
    writeKeys(sim, 2, 'third');
    sim.network.heal();
    settle(sim);
    for (const data of orphans) expect(anyLogHolds(sim, data), `seed=${seed}: an uncommitted orphan survived`).toBe(false);
    for (const replica of sim.runningReplicas()) {
      expect(replica.state.opaqueEntries).toBe(0);
      expect(replica.state.get('new2')).toBe('new2');
    }
  });

  it.each(SEEDS)('backs off over long divergent logs in a few round trips (seed %i)', (seed) => {
    const sim = new Simulator({ seed, nodes: 5 });
    const leader = leaderOf(sim);
    writeKeys(sim, 2);
    // The leader and one follower diverge with 50 entries of the old term...
    const [buddy, ...rest] = others(sim, leader);
    sim.network.partition([[leader, buddy!], rest]);
    for (let i = 0; i < 50; i++) proposeAt(sim, leader, tag(`stale-${i}`));
    sim.runFor(5 * ELECTION_MS);
    expect(sim.status(buddy!).lastIndex).toBeGreaterThanOrEqual(sim.status(leader).lastIndex - 1);
    // ...while the majority commits 50 entries of a newer term.
    const second = awaitNewLeader(sim, [leader, buddy!]);
    expect(second, `seed=${seed}`).not.toBe(0);
    for (let i = 0; i < 50; i++) proposeAt(sim, second, tag(`fresh-${i}`));
    const target = sim.status(second).lastIndex;
    expect(sim.runUntil(() => sim.status(second).commit >= target, 20 * ELECTION_MS)).toBe(true);

    // Count the appends (probes included) the new leader needs to bring each stale node back.
    const appends = new Map<NodeId, number>();
    sim.network.tap = ({ message }) => {
      if (message.type === 'append' && message.from === second) appends.set(message.to, (appends.get(message.to) ?? 0) + 1);
    };
    sim.network.heal();
    const caughtUp = (id: NodeId): boolean => sim.replica(id).applied >= target;
    expect(sim.runUntil(() => caughtUp(leader) && caughtUp(buddy!), 50 * ELECTION_MS), `seed=${seed}\n${sim.describe()}`).toBe(true);
    sim.network.tap = null;
    // Backing off one entry per round trip would need about 50 probes per stale node.
    for (const id of [leader, buddy!]) {
      expect(appends.get(id) ?? 0, `seed=${seed}: node ${id} needed ${appends.get(id)} appends`).toBeLessThanOrEqual(8);
    }
    for (let i = 0; i < 50; i++) expect(anyLogHolds(sim, tag(`stale-${i}`))).toBe(false);
    settle(sim);
  });
});
