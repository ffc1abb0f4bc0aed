import { describe, expect, it } from 'vitest';
import { NotLeaderError } from '../../src/raft/errors.ts';
import type { RaftConfig, ReadState, Ready } from '../../src/raft/types.ts';
import { checkOperations } from '../../src/testing/linearizability.ts';
import { kvModel } from '../../src/testing/kv-model.ts';
import { Simulator, SafetyViolation, createRaftNode, type RaftCore, type ReplicaReply } from '../../src/testing/sim/index.ts';
import { ELECTION_MS, awaitNewLeader, leaderOf, others, writeKeys } from './helpers.ts';

/**
 * The simulator's checks must catch broken cores. These wrap the real core with a
 * known bug and assert the simulator reports it (with the seed).
 */

/** Every method of `core`, bound to it, with some replaced. */
function delegate(core: RaftCore, overrides: Partial<RaftCore>): RaftCore {
  const methods = ['tick', 'step', 'propose', 'proposeConfigChange', 'campaign', 'transferLeadership', 'readIndex', 'reportUnreachable', 'reportSnapshot', 'hasReady', 'ready', 'advance', 'status'] as const;
  const out: Record<string, unknown> = { id: core.id };
  for (const name of methods) out[name] = (core[name] as (...args: unknown[]) => unknown).bind(core);
  return { ...(out as unknown as RaftCore), ...overrides };
}

/** A core that answers reads from local state on any replica, without ReadIndex. */
function localReads(config: RaftConfig): RaftCore {
  const core = createRaftNode(config);
  const pending: ReadState[] = [];
  return delegate(core, {
    readIndex(context: string): void {
      pending.push({ index: 0, context });
    },
    hasReady: () => pending.length > 0 || core.hasReady(),
    ready(): Ready {
      const ready = core.hasReady() ? core.ready() : null;
      const readStates = [...(ready?.readStates ?? []), ...pending.splice(0)];
      const empty: Ready = { role: core.status().role, leader: core.status().leader, hardState: null, entries: [], snapshot: null, committedEntries: [], messages: [], readStates: [], mustSync: false };
      return { ...(ready ?? empty), readStates, __inner: ready } as Ready;
    },
    advance(ready: Ready): void {
      const inner = (ready as Ready & { __inner: Ready | null }).__inner;
      if (inner !== null) core.advance(inner);
    },
  });
}

/** A core whose replica on node 2 applies a corrupted copy of every committed entry. */
function corruptApplies(config: RaftConfig): RaftCore {
  const core = createRaftNode(config);
  if (config.id !== 2) return core;
  return delegate(core, {
    ready(): Ready {
      const ready = core.ready();
      const committedEntries = ready.committedEntries.map((e) => (e.data.length > 0 ? { ...e, data: e.data.map((b, i) => (i === e.data.length - 2 ? b ^ 1 : b)) } : e));
      return { ...ready, committedEntries, __inner: ready } as Ready;
    },
    advance: (ready: Ready) => core.advance((ready as Ready & { __inner: Ready }).__inner),
  });
}

describe('the simulator catches broken cores', () => {
  it('finds the stale read a core reading locally serves on a cut-off old leader', () => {
    for (const seed of [1, 2, 3]) {
      const sim = new Simulator({ seed, nodes: 3, createCore: localReads });
      const old = leaderOf(sim);
      expect(sim.execute({ op: 'put', key: 'x', value: 'old' }).done).toBe(true);
      sim.network.isolate(old, others(sim, old));
      expect(awaitNewLeader(sim, [old])).not.toBe(0);
      expect(sim.execute({ op: 'put', key: 'x', value: 'new' }).done).toBe(true);
      sim.runFor(1); // strictly after the write returned, not concurrent with it
      const call = sim.now;
      const replies: ReplicaReply[] = [];
      sim.replica(old).submitRead('x', (reply) => replies.push(reply));
      sim.runFor(ELECTION_MS);
      // The same assertion reads.test.ts makes fails here: the stale read was served...
      expect(replies).toEqual([{ kind: 'ok', value: 'old' }]);
      // ...and the linearizability checker rejects the history that contains it.
      const history = [...sim.history(), { clientId: 99, input: { op: 'get' as const, key: 'x', value: '' }, output: { value: 'old' }, call, return: sim.now }];
      expect(checkOperations(kvModel, history).result).toBe('illegal');
    }
  });

  it('reports a replica that applies different data, naming the seed', () => {
    const sim = new Simulator({ seed: 42, nodes: 3, createCore: corruptApplies });
    leaderOf(sim);
    let caught: unknown;
    try {
      writeKeys(sim, 3);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SafetyViolation);
    expect((caught as Error).message).toMatch(/^seed=42: t=\d+ms: group 1: node 2 /);
  });

  it('reports a core that throws inside an event, naming the seed', () => {
    const sim = new Simulator({
      seed: 7,
      nodes: 3,
      createCore: (config) => {
        const core = createRaftNode(config);
        return delegate(core, {
          propose(): never {
            throw new NotLeaderError(0);
          },
          tick(): void {
            if (sim.now > 500) throw new Error('boom');
            core.tick();
          },
        });
      },
    });
    expect(() => sim.runFor(1000)).toThrow(/^seed=7: t=5\d\dms: Error: boom/);
  });
});
