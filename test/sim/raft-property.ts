/**
 * The model-based property of the Raft core, shared by the CI test
 * (test/raft/property.test.ts) and the soak runner (test/soak.ts).
 *
 * fast-check generates a simulator seed and a sequence of commands (client operations,
 * time passing, message drops, partitions, crashes, restarts, snapshots, membership
 * changes, leadership transfers). Cheap safety checks run after every command; at the
 * end the cluster is healed and must converge with every acknowledged write on every
 * replica and a linearizable client history.
 */
import fc from 'fast-check';
import { RaftError } from '../../src/raft/errors.ts';
import type { ConfigChangeType, NodeId } from '../../src/raft/types.ts';
import { checkOperations } from '../../src/testing/linearizability.ts';
import { kvModel, type KvInput } from '../../src/testing/kv-model.ts';
import { Simulator, type CoreFactory, type SimClient } from '../../src/testing/sim/index.ts';

/** Nodes in the simulated cluster; the group starts on the first three, so membership can grow. */
const NODES = 5;
const INITIAL_REPLICAS = 3;
const CLIENTS = 3;
const BACKGROUND_CLIENTS = 2;
const KEYS = ['a', 'b'] as const;
/** Virtual time the healed cluster gets to converge before it counts as a liveness failure. */
const LIVENESS_MS = 60_000;

interface Real {
  readonly sim: Simulator;
  readonly clients: SimClient[];
  valueCounter: number;
}

type Model = Record<string, never>;
type Command = fc.Command<Model, Real>;

/** Base for commands that are always allowed and check safety after running. */
abstract class SimCommand implements Command {
  check(): boolean {
    return true;
  }
  run(_model: Model, real: Real): void {
    this.apply(real);
    real.sim.check();
  }
  protected abstract apply(real: Real): void;
  abstract toString(): string;
}

class ClientOp extends SimCommand {
  constructor(readonly client: number, readonly op: KvInput['op'], readonly key: string) {
    super();
  }
  protected apply(real: Real): void {
    const client = real.clients[this.client]!;
    if (client.busy) return; // one operation per client at a time
    const value = this.op === 'get' ? '' : `${client.id}.${++real.valueCounter};`;
    client.submit({ op: this.op, key: this.key, value });
  }
  toString(): string {
    return `client${this.client}.${this.op}(${this.key})`;
  }
}

class Advance extends SimCommand {
  constructor(readonly ms: number) {
    super();
  }
  protected apply(real: Real): void {
    real.sim.runFor(this.ms);
  }
  toString(): string {
    return `advance(${this.ms}ms)`;
  }
}

class DropInFlight extends SimCommand {
  constructor(readonly to: NodeId) {
    super();
  }
  protected apply(real: Real): void {
    real.sim.network.dropInFlight((envelope) => envelope.to === this.to);
  }
  toString(): string {
    return `dropInFlightTo(${this.to})`;
  }
}

class Partition extends SimCommand {
  /** Bit i set: node i+1 is on the minority side. */
  constructor(readonly mask: number) {
    super();
  }
  protected apply(real: Real): void {
    const ids = [...real.sim.nodes.keys()];
    const side = ids.filter((id) => (this.mask >> (id - 1)) & 1);
    real.sim.network.heal();
    real.sim.network.partition([side, ids.filter((id) => !side.includes(id))]);
  }
  toString(): string {
    return `partition(${this.mask.toString(2).padStart(NODES, '0')})`;
  }
}

class CutOneWay extends SimCommand {
  constructor(readonly from: NodeId, readonly to: NodeId) {
    super();
  }
  protected apply(real: Real): void {
    if (this.from !== this.to) real.sim.network.cutOneWay(this.from, this.to);
  }
  toString(): string {
    return `cutOneWay(${this.from}->${this.to})`;
  }
}

class Heal extends SimCommand {
  protected apply(real: Real): void {
    real.sim.network.heal();
  }
  toString(): string {
    return 'heal';
  }
}

class Unreliable extends SimCommand {
  constructor(readonly loss: number, readonly duplicate: number) {
    super();
  }
  protected apply(real: Real): void {
    real.sim.network.configure({ lossProbability: this.loss, duplicateProbability: this.duplicate });
  }
  toString(): string {
    return `unreliable(loss=${this.loss}, dup=${this.duplicate})`;
  }
}

class Crash extends SimCommand {
  constructor(readonly node: NodeId, readonly torn: boolean) {
    super();
  }
  protected apply(real: Real): void {
    real.sim.crash(this.node, { torn: this.torn });
  }
  toString(): string {
    return `crash(${this.node}${this.torn ? ', torn' : ''})`;
  }
}

/** Faults aimed at whoever leads now: they are what forces elections and log repair. */
class LeaderFault extends SimCommand {
  constructor(readonly kind: 'crash' | 'torn-crash' | 'isolate') {
    super();
  }
  protected apply(real: Real): void {
    const { sim } = real;
    const leader = sim.leader();
    if (leader === 0) return;
    if (this.kind === 'isolate') sim.network.isolate(leader, [...sim.nodes.keys()]);
    else sim.crash(leader, { torn: this.kind === 'torn-crash' });
  }
  toString(): string {
    return `${this.kind}Leader`;
  }
}

class Restart extends SimCommand {
  constructor(readonly node: NodeId) {
    super();
  }
  protected apply(real: Real): void {
    real.sim.restart(this.node);
  }
  toString(): string {
    return `restart(${this.node})`;
  }
}

class Snapshot extends SimCommand {
  constructor(readonly node: NodeId) {
    super();
  }
  protected apply(real: Real): void {
    const { sim } = real;
    if (sim.hasReplica(this.node) && sim.isUp(this.node)) sim.snapshot(this.node);
  }
  toString(): string {
    return `snapshot(${this.node})`;
  }
}

class ChangeMembership extends SimCommand {
  constructor(readonly type: ConfigChangeType, readonly node: NodeId) {
    super();
  }
  protected apply(real: Real): void {
    const { sim } = real;
    const leader = sim.leader();
    if (leader === 0) return;
    // Keep at least two voters, so the group stays a replicated one.
    if (this.type === 'remove' && sim.status(leader).config.voters.length <= 2) return;
    refusalsAllowed(() => sim.changeConfig({ type: this.type, node: this.node }));
  }
  toString(): string {
    return `${this.type}(${this.node})`;
  }
}

class Transfer extends SimCommand {
  constructor(readonly node: NodeId) {
    super();
  }
  protected apply(real: Real): void {
    if (real.sim.leader() !== 0) refusalsAllowed(() => real.sim.transferLeadership(this.node));
  }
  toString(): string {
    return `transferLeadership(${this.node})`;
  }
}

/** The core may refuse a request (not leader, change in flight...): that is not a failure. */
function refusalsAllowed(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof RaftError)) throw error;
  }
}

const node = fc.integer({ min: 1, max: NODES });

const clientOp = fc
  .tuple(fc.integer({ min: 0, max: CLIENTS - 1 }), fc.constantFrom<KvInput['op']>('get', 'put', 'append'), fc.constantFrom(...KEYS))
  .map(([c, op, key]) => new ClientOp(c, op, key));
const leaderFault = fc.constantFrom<LeaderFault['kind']>('crash', 'torn-crash', 'isolate').map((kind) => new LeaderFault(kind));

/**
 * The command mix. fc.commands picks arbitraries uniformly, so the ones listed twice
 * (or thrice) are weighted up: time passing lets elections, catch-up and faults play
 * out, and faults on the leader are what force elections and log repair.
 */
export function commandArbitrary(maxCommands: number, replayPath?: string): fc.Arbitrary<Iterable<Command>> {
  return fc.commands(
    [
      clientOp,
      clientOp,
      fc.integer({ min: 1, max: 1000 }).map((ms) => new Advance(ms)),
      fc.integer({ min: 1, max: 1000 }).map((ms) => new Advance(ms)),
      fc.integer({ min: 1, max: 200 }).map((ms) => new Advance(ms)),
      node.map((to) => new DropInFlight(to)),
      fc.integer({ min: 1, max: 2 ** NODES - 2 }).map((mask) => new Partition(mask)),
      fc.tuple(node, node).map(([from, to]) => new CutOneWay(from, to)),
      fc.constant(new Heal()),
      fc.tuple(fc.constantFrom(0, 0.05, 0.2), fc.constantFrom(0, 0.1)).map(([loss, dup]) => new Unreliable(loss, dup)),
      fc.tuple(node, fc.boolean()).map(([n, torn]) => new Crash(n, torn)),
      leaderFault,
      leaderFault,
      node.map((n) => new Restart(n)),
      node.map((n) => new Restart(n)),
      node.map((n) => new Snapshot(n)),
      fc.tuple(fc.constantFrom<ConfigChangeType>('add-learner', 'promote', 'remove'), node).map(([type, n]) => new ChangeMembership(type, n)),
      node.map((n) => new Transfer(n)),
    ],
    { maxCommands, size: 'max', ...(replayPath !== undefined ? { replayPath } : {}) },
  );
}

export interface RunStats {
  readonly seed: number;
  readonly commands: number;
  readonly virtualMs: number;
  readonly events: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly terms: number;
}

export interface PropertyOptions {
  readonly maxCommands: number;
  /** fast-check's replayPath of a failed command sequence (printed in its counterexample), to replay it. */
  readonly replayPath?: string;
  /** Replaces the core (to check that the property catches a deliberately broken one). */
  readonly createCore?: CoreFactory;
  /** Told about every run that passed (for the soak runner's summary). */
  readonly onRunPassed?: (stats: RunStats) => void;
}

/** Builds the property: (simulator seed, commands) => every check passes. */
export function raftProperty(options: PropertyOptions): fc.IPropertyWithHooks<[number, Iterable<Command>, boolean]> {
  return fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), commandArbitrary(options.maxCommands, options.replayPath), fc.boolean(), (seed, commands, lease) => {
    const sim = new Simulator({
      seed,
      nodes: NODES,
      replicasPerGroup: INITIAL_REPLICAS,
      raft: { readMode: lease ? 'lease' : 'read-index' },
      network: { minDelayMs: 1, maxDelayMs: 20 },
      disk: { minSyncMs: 0, maxSyncMs: 10, torn: false },
      snapshotEveryEntries: 15,
      keepEntriesAfterSnapshot: 3,
      checkEveryMs: 0, // the commands check after every step
      ...(options.createCore !== undefined ? { createCore: options.createCore } : {}),
    });
    const clients = Array.from({ length: CLIENTS }, () => sim.newClient());
    // Background clients keep a steady load; the ClientOp commands add operations at chosen moments.
    sim.startWorkload({ clients: BACKGROUND_CLIENTS, keys: KEYS, thinkMs: 20 });
    const real: Real = { sim, clients, valueCounter: 0 };
    fc.modelRun(() => ({ model: {} as Model, real }), commands);
    sim.stopWorkload();
    livenessPhase(real);
    const history = sim.history();
    options.onRunPassed?.({
      seed,
      commands: [...commands].length,
      virtualMs: sim.now,
      events: sim.eventsRun,
      operations: history.length,
      acknowledged: history.filter((op) => op.return !== Number.POSITIVE_INFINITY).length,
      terms: sim.leadersByTerm().size,
    });
  });
}

/** Heal everything; the cluster must converge, keep every acknowledged write, and be linearizable. */
function livenessPhase(real: Real): void {
  const { sim } = real;
  sim.network.configure({ lossProbability: 0, duplicateProbability: 0 });
  sim.healAll();
  if (!sim.awaitClientsIdle(LIVENESS_MS)) throw new Error(`seed=${sim.seed}: clients never got answers after healing\n${sim.describe()}`);
  sim.awaitConvergence(LIVENESS_MS);
  sim.checkAcknowledgedWrites();
  const outcome = checkOperations(kvModel, sim.history(), { timeoutMs: 30_000 });
  if (outcome.result !== 'ok') throw new Error(`seed=${sim.seed}: client history is ${outcome.result}: ${outcome.info ?? ''}`);
}
