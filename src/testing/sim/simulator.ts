import type { ConfigChange, ConfigState, GroupId, Index, Message, NodeId, Status, Term } from '../../raft/types.ts';
import type { KvInput, KvOperation } from '../kv-model.ts';
import { Random } from '../random.ts';
import { EventQueue, type SimEvent } from './event-queue.ts';
import { SimNetwork, type Envelope, type NetworkOptions } from './network.ts';
import { createRaftNode, type CoreFactory, type RaftCore } from './raft-core.ts';
import { Replica, type DiskOptions, type RaftOptions, type ReplicaHost, type ReplicaReply } from './replica.ts';
import { SafetyChecker, SafetyViolation } from './safety-checker.ts';
import { DEFAULT_CLIENT_OPTIONS, SimClient, type ClientNetwork, type ClientOptions, type ClientRequest, type OpHandle } from './sim-client.ts';

export interface SimOptions {
  readonly seed: number;
  /** Simulated processes, ids 1..nodes. */
  readonly nodes?: number;
  /** Raft groups, ids 1..groups; group g has its replicas on consecutive nodes from g. */
  readonly groups?: number;
  /** Replicas per group (default: every node). */
  readonly replicasPerGroup?: number;
  /** Virtual milliseconds between two ticks of a node. */
  readonly tickMs?: number;
  readonly network?: Partial<NetworkOptions>;
  readonly disk?: Partial<DiskOptions>;
  readonly raft?: RaftOptions;
  readonly snapshotEveryEntries?: number;
  readonly keepEntriesAfterSnapshot?: number;
  /** Run the cross-replica checks every this many virtual ms (0: only when asked). */
  readonly checkEveryMs?: number;
  readonly client?: Partial<ClientOptions>;
  /** A removed replica keeps running this long (so it can learn of its removal), then is destroyed. */
  readonly removedReplicaGraceMs?: number;
  readonly createCore?: CoreFactory;
}

const DEFAULT_TICK_MS = 10;
const DEFAULT_CHECK_EVERY_MS = 50;
const DEFAULT_DISK: DiskOptions = { minSyncMs: 0, maxSyncMs: 2, torn: false };
const DEFAULT_REMOVED_GRACE_MS = 200;

interface SimNode {
  readonly id: NodeId;
  up: boolean;
  readonly replicas: Map<GroupId, Replica>;
}

interface SimGroup {
  readonly id: GroupId;
  /** The membership a new replica starts from (the snapshot at index 0). */
  readonly bootstrap: ConfigState;
  /** Nodes hosting a replica of the group (the directory clients consult). */
  readonly members: NodeId[];
}

export interface WorkloadOptions {
  readonly group?: GroupId;
  readonly clients?: number;
  readonly keys?: readonly string[];
  readonly readFraction?: number;
  readonly appendFraction?: number;
  /** Pause between a client's operations. */
  readonly thinkMs?: number;
}

/**
 * A deterministic simulation of N nodes x G Raft groups on virtual time. Everything
 * random flows from `seed`; a failure message starts with it.
 */
export class Simulator {
  readonly seed: number;
  readonly queue = new EventQueue();
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly groups = new Map<GroupId, SimGroup>();
  readonly clients: SimClient[] = [];
  readonly tickMs: number;
  eventsRun = 0;
  private readonly random: Random;
  private readonly clientRandom: Random;
  private readonly host: ReplicaHost;
  private readonly clientNetwork: ClientNetwork;
  private readonly clientOptions: ClientOptions;
  private readonly removedGraceMs: number;
  private workloadOn = false;

  constructor(options: SimOptions) {
    this.seed = options.seed;
    this.random = new Random(options.seed);
    this.clientRandom = this.random.fork('clients');
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.checker = new SafetyChecker(options.seed, () => this.queue.now);
    this.network = new SimNetwork(
      this.queue,
      this.random.fork('network'),
      options.network ?? {},
      (envelope) => this.deliver(envelope),
      (envelope, reason) => this.onDropped(envelope, reason),
    );
    this.clientOptions = { ...DEFAULT_CLIENT_OPTIONS, ...options.client };
    this.removedGraceMs = options.removedReplicaGraceMs ?? DEFAULT_REMOVED_GRACE_MS;
    this.host = {
      queue: this.queue,
      checker: this.checker,
      random: this.random.fork('replicas'),
      disk: { ...DEFAULT_DISK, ...options.disk },
      raft: options.raft ?? {},
      snapshotEveryEntries: options.snapshotEveryEntries ?? 0,
      keepEntriesAfterSnapshot: options.keepEntriesAfterSnapshot ?? 0,
      createCore: options.createCore ?? createRaftNode,
      send: (group, message) => this.network.send({ from: message.from, to: message.to, group, message }),
      onConfigApplied: (group, node, change, index) => this.onConfigApplied(group, node, change, index),
    };
    this.clientNetwork = {
      random: this.clientRandom,
      now: () => this.queue.now,
      schedule: (delay, run) => this.queue.schedule(delay, run),
      request: (node, group, request, reply) => this.routeClientRequest(node, group, request, reply),
      members: (group) => this.group(group).members,
    };
    this.build(options);
    const checkEvery = options.checkEveryMs ?? DEFAULT_CHECK_EVERY_MS;
    if (checkEvery > 0) this.scheduleChecks(checkEvery);
  }

  get now(): number {
    return this.queue.now;
  }

  // ------------------------------------------------------------ running time

  /** Runs every event in the next `ms` virtual milliseconds. */
  runFor(ms: number): void {
    const until = this.queue.now + ms;
    while (this.queue.peekTime() <= until) this.runOne();
    this.queue.advanceTo(until);
  }

  /** Runs until `done()` holds (checked once per virtual instant) or `maxMs` pass; returns whether it held. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const until = this.queue.now + maxMs;
    if (done()) return true;
    let checkedAt = this.queue.now;
    while (this.queue.peekTime() <= until) {
      this.runOne();
      if (this.queue.peekTime() > this.queue.now || this.queue.now !== checkedAt) {
        checkedAt = this.queue.now;
        if (done()) return true;
      }
    }
    this.queue.advanceTo(until);
    return done();
  }

  /** Runs one event (a step for fine-grained tests); false when nothing is scheduled. */
  runOne(): boolean {
    try {
      const ran = this.queue.runNext();
      if (ran) this.eventsRun++;
      return ran;
    } catch (error) {
      // Nothing may escape an event: any error there is a bug, reported with the seed.
      throw this.wrap(error, true);
    }
  }

  // ------------------------------------------------------------ faults

  /** Crashes a node: volatile state and unsynced writes are lost. */
  crash(node: NodeId, options: { torn?: boolean } = {}): void {
    const n = this.node(node);
    if (!n.up) return;
    n.up = false;
    for (const replica of n.replicas.values()) replica.crash(options.torn);
  }

  /** Restarts a crashed node: each replica is rebuilt from its durable disk image. */
  restart(node: NodeId): void {
    const n = this.node(node);
    if (n.up) return;
    n.up = true;
    for (const replica of n.replicas.values()) this.guard(() => replica.start());
  }

  isUp(node: NodeId): boolean {
    return this.node(node).up;
  }

  /** Heals the network and restarts every crashed node. */
  healAll(): void {
    this.network.heal();
    for (const n of this.nodes.values()) if (!n.up) this.restart(n.id);
  }

  // ------------------------------------------------------------ observing

  replica(node: NodeId, group: GroupId = 1): Replica {
    const replica = this.node(node).replicas.get(group);
    if (replica === undefined) throw new Error(`node ${node} has no replica of group ${group}`);
    return replica;
  }

  hasReplica(node: NodeId, group: GroupId = 1): boolean {
    return this.node(node).replicas.has(group);
  }

  status(node: NodeId, group: GroupId = 1): Status {
    return this.replica(node, group).raft.status();
  }

  members(group: GroupId = 1): readonly NodeId[] {
    return this.group(group).members;
  }

  /** Running replicas of a group (on nodes that are up). */
  runningReplicas(group: GroupId = 1): Replica[] {
    const out: Replica[] = [];
    for (const id of this.group(group).members) {
      const replica = this.nodes.get(id)!.replicas.get(group);
      if (replica !== undefined && replica.running) out.push(replica);
    }
    return out;
  }

  /** The running leader with the highest term (0: none). */
  leader(group: GroupId = 1): NodeId {
    let best: NodeId = 0;
    let bestTerm: Term = -1;
    for (const replica of this.runningReplicas(group)) {
      const status = replica.raft.status();
      if (status.role === 'leader' && status.term > bestTerm) {
        best = replica.node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** Runs until a group has a leader that a majority of running voters follow in its term. */
  awaitLeader(group: GroupId = 1, maxMs = 5_000): NodeId {
    let found: NodeId = 0;
    this.runUntil(() => {
      found = this.stableLeader(group);
      return found !== 0;
    }, maxMs);
    return found;
  }

  /** A leader whose term and leadership a majority of its voters acknowledge (0: none). */
  stableLeader(group: GroupId = 1): NodeId {
    const leader = this.leader(group);
    if (leader === 0) return 0;
    const status = this.status(leader, group);
    let agree = 0;
    for (const voter of status.config.voters) {
      const replica = this.nodes.get(voter)?.replicas.get(group);
      if (replica === undefined || !replica.running) continue;
      const s = voter === leader ? status : replica.raft.status();
      if (s.term === status.term && s.leader === leader) agree++;
    }
    return agree > status.config.voters.length / 2 ? leader : 0;
  }

  /** Leaders seen per term so far, for counting elections. */
  leadersByTerm(group: GroupId = 1): ReadonlyMap<Term, NodeId> {
    return this.checker.leadersByTerm(group);
  }

  /** The highest term any running replica of the group is in. */
  maxTerm(group: GroupId = 1): Term {
    let term = 0;
    for (const replica of this.runningReplicas(group)) term = Math.max(term, replica.raft.status().term);
    return term;
  }

  // ------------------------------------------------------------ driving the core directly

  /** Runs `action` on a replica's core (then handles its Ready), returning its result. */
  withCore<T>(node: NodeId, group: GroupId, action: (core: RaftCore) => T): T {
    let result: T | undefined;
    this.guard(() => this.replica(node, group).input((core) => (result = action(core))));
    return result as T;
  }

  /** Proposes opaque data at the current leader; null when there is none or it refuses. */
  propose(data: Uint8Array, group: GroupId = 1): { node: NodeId; index: Index; term: Term } | null {
    const leader = this.leader(group);
    if (leader === 0) return null;
    try {
      const at = this.withCore(leader, group, (core) => core.propose(data));
      return { node: leader, ...at };
    } catch (error) {
      if (error instanceof Error && 'code' in error) return null;
      throw error;
    }
  }

  /** Proposes a membership change at the current leader; creates the new replica for add-learner. */
  changeConfig(change: ConfigChange, group: GroupId = 1): { index: Index; term: Term } {
    const leader = this.leader(group);
    if (leader === 0) throw new Error(`seed=${this.seed}: group ${group} has no leader for ${change.type} ${change.node}`);
    const at = this.withCore(leader, group, (core) => core.proposeConfigChange(change));
    if (change.type === 'add-learner') this.ensureReplica(change.node, group);
    return at;
  }

  transferLeadership(to: NodeId, group: GroupId = 1): void {
    const leader = this.leader(group);
    if (leader === 0) throw new Error(`seed=${this.seed}: group ${group} has no leader to transfer from`);
    this.withCore(leader, group, (core) => core.transferLeadership(to));
  }

  /** Has a replica snapshot its state machine at its applied index now. */
  snapshot(node: NodeId, group: GroupId = 1): boolean {
    return this.guard(() => this.replica(node, group).snapshotNow());
  }

  /** Whether every running member has applied at least `index`. */
  appliedEverywhere(index: Index, group: GroupId = 1): boolean {
    const members = this.group(group).members;
    return members.every((id) => {
      const replica = this.nodes.get(id)!.replicas.get(group);
      return replica !== undefined && replica.running && replica.applied >= index;
    });
  }

  // ------------------------------------------------------------ clients

  newClient(group: GroupId = 1): SimClient {
    const client = new SimClient(this.clients.length + 1, group, this.clientNetwork, this.clientOptions);
    this.clients.push(client);
    return client;
  }

  /** Submits one operation with a fresh client and runs until it completes; returns its handle. */
  execute(input: KvInput, group: GroupId = 1, maxMs = 10_000): OpHandle {
    const handle = this.newClient(group).submit(input);
    this.runUntil(() => handle.done, maxMs);
    return handle;
  }

  /** Clients that issue random operations back to back until stopWorkload(). */
  startWorkload(options: WorkloadOptions = {}): SimClient[] {
    const group = options.group ?? 1;
    const keys = options.keys ?? ['a', 'b', 'c'];
    const readFraction = options.readFraction ?? 0.3;
    const appendFraction = options.appendFraction ?? 0.5;
    const thinkMs = options.thinkMs ?? 5;
    const started: SimClient[] = [];
    this.workloadOn = true;
    let counter = 0;
    for (let i = 0; i < (options.clients ?? 3); i++) {
      const client = this.newClient(group);
      started.push(client);
      const next = (): void => {
        if (!this.workloadOn) return;
        const key = this.clientRandom.pick(keys);
        const roll = this.clientRandom.next();
        const value = `${client.id}.${++counter};`;
        const input: KvInput =
          roll < readFraction
            ? { op: 'get', key, value: '' }
            : roll < readFraction + appendFraction
              ? { op: 'append', key, value }
              : { op: 'put', key, value };
        client.submit(input, () => this.queue.schedule(this.clientRandom.int(0, thinkMs), next));
      };
      this.queue.schedule(this.clientRandom.int(0, thinkMs), next);
    }
    return started;
  }

  /** Clients finish the operation in flight and issue no more. */
  stopWorkload(): void {
    this.workloadOn = false;
  }

  /** Runs until no client has an operation in flight (or maxMs pass). */
  awaitClientsIdle(maxMs = 10_000): boolean {
    return this.runUntil(() => this.clients.every((c) => !c.busy), maxMs);
  }

  /** Every operation of every client of a group, for the linearizability checker. */
  history(group: GroupId = 1): KvOperation[] {
    return this.clients.filter((c) => c.group === group).flatMap((c) => c.history());
  }

  // ------------------------------------------------------------ checks

  /** Runs every cross-replica safety check now; throws SafetyViolation (message starts with the seed). */
  check(): void {
    this.guard(() => {
      for (const group of this.groups.keys()) this.checker.checkGroup(group, this.runningReplicas(group).map((r) => r.view()));
    });
  }

  /**
   * Whether a group has settled: a stable leader, every member running and applied up to
   * the leader's last index, equal state everywhere.
   */
  converged(group: GroupId = 1): boolean {
    const leader = this.stableLeader(group);
    if (leader === 0) return false;
    const status = this.status(leader, group);
    if (status.commit !== status.lastIndex) return false;
    // Replicas outside the final membership (an add-learner that never committed) are strays.
    const inConfig = [...status.config.voters, ...status.config.learners];
    const replicas = inConfig.map((id) => this.nodes.get(id)?.replicas.get(group));
    if (replicas.some((r) => r === undefined || !r.running || r.applied !== status.commit)) return false;
    const hash = replicas[0]!.state.hash();
    return replicas.every((r) => r!.state.hash() === hash);
  }

  /** Runs until every group has converged; throws with the seed if it does not within maxMs. */
  awaitConvergence(maxMs = 20_000): void {
    const ok = this.runUntil(() => [...this.groups.keys()].every((g) => this.converged(g)), maxMs);
    if (!ok) {
      const detail = [...this.groups.keys()].map((g) => this.describe(g)).join('\n');
      throw new SafetyViolation(`seed=${this.seed}: t=${this.now}ms: the cluster did not converge within ${maxMs}ms (liveness)\n${detail}`);
    }
    for (const group of this.groups.keys()) this.retireStrays(group);
    this.check();
  }

  /** Every write a client saw acknowledged is applied on every member of its group. */
  checkAcknowledgedWrites(): void {
    for (const client of this.clients) {
      if (client.lastAcknowledgedSeq === 0) continue;
      for (const replica of this.runningReplicas(client.group)) {
        const applied = replica.state.lastApplied(client.id);
        if (applied < client.lastAcknowledgedSeq) {
          throw new SafetyViolation(
            `seed=${this.seed}: t=${this.now}ms: group ${client.group}: node ${replica.node} lacks client ${client.id}'s acknowledged write ${client.lastAcknowledgedSeq} (has ${applied})`,
          );
        }
      }
    }
  }

  /** A one-line-per-replica summary, for failure messages. */
  describe(group: GroupId = 1): string {
    const lines = [`group ${group} members ${this.group(group).members.join(',')}`];
    for (const id of this.group(group).members) {
      const replica = this.nodes.get(id)!.replicas.get(group);
      if (replica === undefined || !replica.running) {
        lines.push(`  node ${id}: down`);
        continue;
      }
      const s = replica.raft.status();
      lines.push(
        `  node ${id}: ${s.role} term ${s.term} leader ${s.leader} commit ${s.commit} applied ${replica.applied} log [${s.firstIndex}, ${s.lastIndex}] voters ${s.config.voters.join(',')} learners ${s.config.learners.join(',')}`,
      );
    }
    return lines.join('\n');
  }

  // ------------------------------------------------------------ internals

  private build(options: SimOptions): void {
    const nodeCount = options.nodes ?? 3;
    const groupCount = options.groups ?? 1;
    const perGroup = Math.min(options.replicasPerGroup ?? nodeCount, nodeCount);
    const tickRandom = this.random.fork('ticks');
    for (let id = 1; id <= nodeCount; id++) this.nodes.set(id, { id, up: true, replicas: new Map() });
    for (let g = 1; g <= groupCount; g++) {
      const voters: NodeId[] = [];
      for (let k = 0; k < perGroup; k++) voters.push(((g - 1 + k) % nodeCount) + 1);
      const group: SimGroup = { id: g, bootstrap: { voters, learners: [], epoch: 0 }, members: [] };
      this.groups.set(g, group);
      for (const node of voters) this.ensureReplica(node, g);
    }
    for (const node of this.nodes.values()) this.scheduleTicks(node, tickRandom.int(0, this.tickMs - 1));
  }

  private ensureReplica(node: NodeId, group: GroupId): Replica {
    const n = this.node(node);
    const existing = n.replicas.get(group);
    if (existing !== undefined) return existing;
    const g = this.group(group);
    const replica = new Replica(node, group, g.bootstrap, this.host);
    n.replicas.set(group, replica);
    if (!g.members.includes(node)) g.members.push(node);
    if (n.up) this.guard(() => replica.start());
    return replica;
  }

  private scheduleTicks(node: SimNode, delayMs: number): void {
    this.queue.schedule(delayMs, () => {
      if (node.up) for (const replica of node.replicas.values()) replica.tick();
      this.scheduleTicks(node, this.tickMs);
    });
  }

  private scheduleChecks(everyMs: number): void {
    this.queue.schedule(everyMs, () => {
      this.check();
      this.scheduleChecks(everyMs);
    });
  }

  private deliver(envelope: Envelope): void {
    const n = this.nodes.get(envelope.to);
    const replica = n?.up === true ? n.replicas.get(envelope.group) : undefined;
    if (replica === undefined || !replica.running) {
      this.onDropped(envelope, 'cut'); // the connection is refused: the sender's transport notices
      return;
    }
    replica.deliver(envelope.message);
    if (envelope.message.type === 'snapshot') this.reportSnapshotDelivered(envelope.message, envelope.group, true);
  }

  /** The transport tells the sender what became of a snapshot (etcd's ReportSnapshot). */
  private reportSnapshotDelivered(message: Message, group: GroupId, ok: boolean): void {
    const sender = this.nodes.get(message.from);
    const replica = sender?.replicas.get(group);
    if (sender === undefined || !sender.up || replica === undefined) return;
    replica.input((core) => core.reportSnapshot(message.to, ok));
  }

  /**
   * A send that fails: over a cut link (or to a dead node) the transport reports the
   * peer unreachable; a lost snapshot stream is reported as a failed snapshot
   * (etcd's ReportUnreachable / ReportSnapshot contract).
   */
  private onDropped(envelope: Envelope, reason: 'cut' | 'lost'): void {
    const isSnapshot = envelope.message.type === 'snapshot';
    if (reason === 'lost' && !isSnapshot) return;
    this.queue.schedule(0, () => {
      const sender = this.nodes.get(envelope.from);
      const replica = sender?.replicas.get(envelope.group);
      if (sender === undefined || !sender.up || replica === undefined) return;
      if (reason === 'cut') replica.input((core) => core.reportUnreachable(envelope.to));
      if (isSnapshot) replica.input((core) => core.reportSnapshot(envelope.to, false));
    });
  }

  private routeClientRequest(node: NodeId, group: GroupId, request: ClientRequest, reply: (reply: ReplicaReply) => void): void {
    const settings = this.network.settings;
    const delay = (): number => this.clientRandom.int(settings.minDelayMs, settings.maxDelayMs);
    const answer = (r: ReplicaReply): void => {
      this.queue.schedule(delay(), () => reply(r));
    };
    this.queue.schedule(delay(), () => {
      const n = this.nodes.get(node);
      if (n === undefined || !n.up) return; // no answer: the client times out
      const replica = n.replicas.get(group);
      if (replica === undefined || !replica.running) {
        answer({ kind: 'not-leader', hint: 0 });
        return;
      }
      if (request.kind === 'write') replica.submitWrite(request.data, answer);
      else replica.submitRead(request.key, answer);
    });
  }

  private onConfigApplied(group: GroupId, _node: NodeId, change: ConfigChange, _index: Index): void {
    if (change.type === 'add-learner') {
      // The replica is normally created when the change is proposed; if it was retired
      // meanwhile (an earlier removal of the same node), the committed add brings it back.
      this.queue.schedule(0, () => {
        if (!this.node(change.node).replicas.has(group)) this.ensureReplica(change.node, group);
      });
      return;
    }
    if (change.type !== 'remove') return;
    const target = this.nodes.get(change.node)?.replicas.get(group);
    if (target === undefined) return;
    // The removed replica is retired after a grace period (so it can learn of its own
    // removal), as an operator would delete it; destroyReplica re-checks the membership.
    this.queue.schedule(this.removedGraceMs, () => this.destroyReplica(change.node, group, target));
  }

  /** Deletes replicas that the converged group's membership does not include. */
  private retireStrays(group: GroupId): void {
    const leader = this.stableLeader(group);
    if (leader === 0) return;
    const config = this.status(leader, group).config;
    for (const id of [...this.group(group).members]) {
      if (config.voters.includes(id) || config.learners.includes(id)) continue;
      const replica = this.nodes.get(id)!.replicas.get(group);
      if (replica !== undefined) this.destroyReplica(id, group, replica);
    }
  }

  private destroyReplica(node: NodeId, group: GroupId, replica: Replica): void {
    const n = this.node(node);
    if (n.replicas.get(group) !== replica) return;
    // It may have been re-added meanwhile: only retire it if the group still excludes it.
    const leader = this.stableLeader(group);
    if (leader === 0) {
      // Without a leader the membership is unknown: look again later.
      this.queue.schedule(this.removedGraceMs, () => this.destroyReplica(node, group, replica));
      return;
    }
    const config = this.status(leader, group).config;
    if (config.voters.includes(node) || config.learners.includes(node)) return;
    if (replica.running) replica.crash();
    n.replicas.delete(group);
    const members = this.group(group).members;
    const at = members.indexOf(node);
    if (at >= 0) members.splice(at, 1);
  }

  private node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  private group(id: GroupId): SimGroup {
    const g = this.groups.get(id);
    if (g === undefined) throw new Error(`no group ${id}`);
    return g;
  }

  private guard<T>(action: () => T): T {
    try {
      return action();
    } catch (error) {
      throw this.wrap(error);
    }
  }

  /** Any error escaping the core or the checkers is reported with the seed first. */
  private wrap(error: unknown, always = false): Error {
    if (error instanceof SafetyViolation) return error;
    // A RaftError from a direct call (not leader, refused...) is the caller's to handle.
    if (!always && error instanceof Error && 'code' in error) return error;
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new SafetyViolation(`seed=${this.seed}: t=${this.now}ms: ${text}`, { cause: error });
  }
}

export type { SimEvent };
