/**
 * A narrated run of one simulated 3-replica group: an election, writes, a leader crash,
 * a new election, more writes, the old leader's recovery, and the checks that prove
 * nothing was lost. Deterministic for a seed: the same seed prints the same story.
 */
import { checkOperations } from '../testing/linearizability.ts';
import { kvModel } from '../testing/kv-model.ts';
import { Simulator } from '../testing/sim/simulator.ts';
import type { NodeId } from '../raft/types.ts';

export interface RaftDemoOptions {
  readonly seed: number;
  readonly writes: number;
  readonly print: (line: string) => void;
}

export interface RaftDemoResult {
  readonly ok: boolean;
  readonly acknowledged: number;
  readonly failoverMs: number;
}

const GROUP = 1;
const ELECTION_BOUND_MS = 5_000;

export function runRaftDemo(options: RaftDemoOptions): RaftDemoResult {
  const { seed, writes, print } = options;
  const sim = new Simulator({ seed, nodes: 3, groups: 1, snapshotEveryEntries: 64, network: { minDelayMs: 1, maxDelayMs: 5 } });
  const at = (): string => `[t=${String(sim.queue.now).padStart(5)} ms]`;
  print(`seed ${seed}: 3 replicas of one Raft group, 10 ms ticks, election timeout 100-200 ms, 1-5 ms network`);

  const first = sim.awaitLeader(GROUP, ELECTION_BOUND_MS);
  if (first === 0) return fail(print, 'no leader was elected');
  print(`${at()} node ${first} won the election for term ${sim.status(first, GROUP).term} (PreVote, then a vote)`);

  let acknowledged = write(sim, writes, 'a');
  print(`${at()} ${acknowledged}/${writes} operations acknowledged (puts and reads); commit index ${sim.status(first, GROUP).commit} on the leader`);

  sim.crash(first);
  const crashedAt = sim.queue.now;
  print(`${at()} node ${first} (the leader) crashed: its unsynced writes are gone, its durable log stays`);
  let second: NodeId = 0;
  sim.runUntil(() => {
    second = sim.stableLeader(GROUP);
    return second !== 0 && second !== first;
  }, ELECTION_BOUND_MS);
  if (second === 0 || second === first) return fail(print, 'no new leader after the crash');
  const failoverMs = sim.queue.now - crashedAt;
  print(`${at()} node ${second} took over in term ${sim.status(second, GROUP).term}, ${failoverMs} ms after the crash`);

  acknowledged += write(sim, writes, 'b');
  print(`${at()} ${acknowledged}/${2 * writes} operations acknowledged in all, with one replica down`);

  sim.restart(first);
  print(`${at()} node ${first} restarted from its disk and rejoined as a follower`);
  sim.awaitConvergence(30_000);
  const applied = [1, 2, 3].map((id) => `node ${id} applied ${sim.replica(id, GROUP).applied}`).join(', ');
  print(`${at()} every replica caught up: ${applied}`);
  const hashes = new Set([1, 2, 3].map((id) => sim.replica(id, GROUP).state.hash()));
  print(`${at()} state hashes ${hashes.size === 1 ? 'are identical on all three replicas' : 'DIFFER'}`);

  sim.checkAcknowledgedWrites();
  sim.check();
  const history = sim.history(GROUP);
  const verdict = checkOperations(kvModel, history, { timeoutMs: 10_000 });
  print(`checks: at most one leader per term, logs match, committed entries kept, equal applied prefixes: passed`);
  print(`checks: ${history.length} client operations are ${verdict.result === 'ok' ? 'linearizable' : `NOT linearizable (${verdict.result})`}`);
  const ok = hashes.size === 1 && verdict.result === 'ok' && acknowledged === 2 * writes;
  print(ok ? 'result: nothing acknowledged was lost' : 'result: FAILED');
  return { ok, acknowledged, failoverMs };
}

/** Issues operations one after another through one client, which keeps its leader guess. */
function write(sim: Simulator, count: number, prefix: string): number {
  const client = sim.newClient(GROUP);
  let acknowledged = 0;
  for (let i = 0; i < count; i++) {
    const handle = client.submit({ op: i % 3 === 2 ? 'get' : 'put', key: `${prefix}${i % 8}`, value: `${prefix}${i}` });
    sim.runUntil(() => handle.done, 10_000);
    if (handle.done) acknowledged++;
  }
  return acknowledged;
}

function fail(print: (line: string) => void, why: string): RaftDemoResult {
  print(`result: FAILED: ${why}`);
  return { ok: false, acknowledged: 0, failoverMs: -1 };
}
