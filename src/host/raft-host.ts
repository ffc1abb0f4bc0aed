/**
 * The multi-Raft host: drives every group (copyset) of one process (architecture.md,
 * decision 4).
 *
 * - One tick loop ticks every group.
 * - The Ready loop collects, in one event-loop turn, the Readies of every group that has
 *   one; their snapshots, entries and hard states go into ONE log-store batch committed
 *   with ONE sync (group commit). Only then are their messages sent (one transport batch
 *   per peer process), snapshots installed, committed entries applied, read states
 *   served, and each core advanced. (A leader's appends and heartbeats leave while its
 *   own log is written, when its term and vote are already durable: raft.md allows it.) A Ready that writes nothing is handled at once, even
 *   while a batch is being written. One batch is written at a time: Readies arriving
 *   meanwhile wait and share the next sync.
 * - Messages from the transport are stepped at once, also while a batch is in flight
 *   (the core allows step() between ready() and advance()).
 * - Snapshots are taken by interval and by applied log bytes; the log is compacted
 *   through the snapshot's index in the same batch that records the published file.
 * - Idle groups quiesce; a keepalive per peer process and the transport's unreachable
 *   reports wake the followers of a dead leader's process.
 */
import { invariant } from '../raft/errors.ts';
import { MemoryLogStorage } from '../raft/memory-storage.ts';
import { RaftNode } from '../raft/raft-node.ts';
import type { ConfigChange, ConfigState, GroupId, HardState, Index, Message, NodeId, Ready, Status, Term } from '../raft/types.ts';
import { type LogStore, restoreMemoryLogStorage } from '../storage/log-store.ts';
import { SnapshotAssembler, type SnapshotChunk, splitSnapshot } from '../transport/snapshot-chunks.ts';
import { HostError, OverloadError } from './host-errors.ts';
import { HostEvents } from './host-events.ts';
import { HostGroup, type ProposalOutcome } from './host-group.ts';
import { type RaftHostOptions, type ResolvedHostOptions, resolveHostOptions } from './host-options.ts';
import type { Envelope, StateMachine, TransportHandler } from './interfaces.ts';
import { PeerLiveness } from './peer-liveness.ts';
import { SnapshotFiles } from './snapshot-files.ts';

export interface GroupStatus extends Status {
  /** The state machine's applied index. */
  readonly stateMachineApplied: Index;
  readonly snapshotIndex: Index;
  readonly snapshotTerm: Term;
  /** Milliseconds since the last snapshot was taken or installed (or the group loaded). */
  readonly snapshotAgeMs: number;
}

/** Counters for tests and metrics. */
export interface HostStats {
  /** Log-store batches written, and how many of them were synced. */
  batches: number;
  syncs: number;
  /** Readies handled (written or not). */
  readies: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  snapshotsSent: number;
}

export interface RequestOptions {
  readonly timeoutMs?: number;
}

interface SnapshotMarkToWrite {
  readonly group: HostGroup;
  readonly index: Index;
  readonly term: Term;
  readonly config: ConfigState;
  readonly bytesAtStart: number;
  /** Called once the mark is written or dropped. */
  readonly settle: () => void;
}

type HostState = 'new' | 'starting' | 'running' | 'stopped' | 'failed';

export class RaftHost {
  readonly events = new HostEvents();
  readonly stats: HostStats = { batches: 0, syncs: 0, readies: 0, snapshotsTaken: 0, snapshotsInstalled: 0, snapshotsSent: 0 };
  readonly nodeId: NodeId;
  private readonly options: ResolvedHostOptions;
  private readonly store: LogStore;
  private readonly files: SnapshotFiles;
  private readonly liveness: PeerLiveness;
  private readonly groups = new Map<GroupId, HostGroup>();
  /** Groups being created or loaded: not yet in `groups`. */
  private readonly arriving = new Set<GroupId>();
  private readonly dirty = new Set<HostGroup>();
  /** Readies that write, waiting for the next batch. */
  private waiting: Array<{ group: HostGroup; ready: Ready; sentEarly: boolean; appliedEarly: number }> = [];
  private marks: SnapshotMarkToWrite[] = [];
  /**
   * Hard states that changed only their commit index: written with the next batch that
   * writes entries (or by the tick), never waited for. The commit index need not be
   * durable before applying (it is re-learned from the leader after a restart); term and
   * vote always are.
   */
  private lazyHardStates = new Map<HostGroup, HardState>();
  private outbox = new Map<NodeId, Envelope[]>();
  private persisting: Promise<void> | null = null;
  private flushScheduled = false;
  private tickTimer: NodeJS.Timeout | null = null;
  private state: HostState = 'new';
  private inFlight = 0;
  private readSequence = 0;
  private snapshotInstalls = 0;
  private snapshotSends = 0;

  constructor(options: RaftHostOptions) {
    this.options = resolveHostOptions(options);
    this.nodeId = this.options.nodeId;
    this.store = this.options.logStore;
    this.files = new SnapshotFiles(this.options.snapshotDir);
    this.liveness = new PeerLiveness(this.options.tickMs * this.options.heartbeatTicks, this.options.peerLivenessTimeoutMs);
  }

  /** Loads every group found in the log store (in parallel, reporting progress), then runs. */
  async start(): Promise<void> {
    invariant(this.state === 'new', 'a host starts once');
    this.state = 'starting';
    this.options.transport.listen(this.transportHandler());
    const ids = this.store.listGroups();
    let loaded = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await this.loadGroup(id);
        loaded++;
        this.events.emit('group-loaded', { group: id, loaded, total: ids.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.loadConcurrency, ids.length) }, worker));
    if (this.state !== 'starting') return;
    this.state = 'running';
    this.tickTimer = setInterval(() => this.tick(), this.options.tickMs);
    this.scheduleFlush();
  }

  /** Stops ticking and stepping, waits for the batch in flight, closes transport and log store. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.persisting?.catch(() => undefined);
    for (const mark of this.marks) mark.settle();
    this.marks = [];
    const error = new HostError('HOST_STOPPED', `host ${this.nodeId} stopped`);
    for (const group of this.groups.values()) group.rejectAll(error);
    await this.options.transport.close();
    await this.store.close();
  }

  /** Creates a new group on this host with its initial membership (empty to join by the leader's log). */
  async createGroup(groupId: GroupId, membership: { voters: readonly NodeId[]; learners?: readonly NodeId[] }, machine: StateMachine): Promise<void> {
    this.assertRunning();
    invariant(Number.isSafeInteger(groupId) && groupId > 0, `group ids are positive safe integers, got ${groupId}`);
    const existing = this.store.groupState(groupId);
    if (this.groups.has(groupId) || this.arriving.has(groupId) || existing.lastIndex > 0 || existing.snapshot !== null) {
      throw new HostError('GROUP_EXISTS', `group ${groupId} already exists on host ${this.nodeId}`, { group: groupId });
    }
    const config: ConfigState = { voters: [...membership.voters], learners: [...(membership.learners ?? [])], epoch: 0 };
    this.arriving.add(groupId);
    try {
      // A new group's initial membership is its snapshot mark at index 0 (log-store.ts).
      const batch = this.store.batch().recordSnapshot(groupId, { index: 0, term: 0, config });
      await batch.commit({ sync: true });
      await this.files.ensureGroupDir(groupId);
      this.addGroup(groupId, new MemoryLogStorage(config), machine, { index: 0, term: 0, config });
    } finally {
      this.arriving.delete(groupId);
    }
  }

  hasGroup(groupId: GroupId): boolean {
    return this.groups.has(groupId);
  }

  groupIds(): GroupId[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  /** Proposes `data`; resolves once applied here at the returned index with the proposal's term. */
  propose(groupId: GroupId, data: Uint8Array, options: RequestOptions = {}): Promise<ProposalOutcome> {
    return this.request(groupId, (group, now, timeoutMs) => group.addProposal(group.node.propose(data), now, timeoutMs), options);
  }

  /** Resolves when a linearizable read of the group's state may be served (ReadIndex or lease). */
  read(groupId: GroupId, options: RequestOptions = {}): Promise<void> {
    return this.request(groupId, (group, now, timeoutMs) => {
      const context = `${this.nodeId}.${++this.readSequence}`;
      group.node.readIndex(context);
      return group.addRead(context, now, timeoutMs);
    }, options);
  }

  /** Proposes a membership change; resolves once the change is applied here. */
  changeMembership(groupId: GroupId, change: ConfigChange, options: RequestOptions = {}): Promise<ProposalOutcome> {
    return this.request(groupId, (group, now, timeoutMs) => group.addProposal(group.node.proposeConfigChange(change), now, timeoutMs), options);
  }

  addLearner(groupId: GroupId, node: NodeId, options?: RequestOptions): Promise<ProposalOutcome> {
    return this.changeMembership(groupId, { type: 'add-learner', node }, options);
  }

  promoteLearner(groupId: GroupId, node: NodeId, options?: RequestOptions): Promise<ProposalOutcome> {
    return this.changeMembership(groupId, { type: 'promote', node }, options);
  }

  removePeer(groupId: GroupId, node: NodeId, options?: RequestOptions): Promise<ProposalOutcome> {
    return this.changeMembership(groupId, { type: 'remove', node }, options);
  }

  /** Asks the leader to hand leadership to `to` (throws NotLeaderError / TRANSFER_REFUSED). */
  transferLeadership(groupId: GroupId, to: NodeId): void {
    const group = this.requireGroup(groupId);
    group.node.transferLeadership(to);
    this.markDirty(group);
  }

  /** Starts an election now (bootstrap, tests). */
  campaign(groupId: GroupId): void {
    const group = this.requireGroup(groupId);
    group.node.campaign();
    this.markDirty(group);
  }

  /** Takes a snapshot now (if anything was applied since the last); resolves once published. */
  async snapshotNow(groupId: GroupId): Promise<Index> {
    const group = this.requireGroup(groupId);
    await this.takeSnapshot(group);
    return group.snapshotIndex;
  }

  /** Never waits on state: safe for heartbeats to a coordinator (curve-facts.md). */
  status(groupId: GroupId): GroupStatus {
    const group = this.requireGroup(groupId);
    return {
      ...group.node.status(),
      stateMachineApplied: group.machine.appliedIndex(),
      snapshotIndex: group.snapshotIndex,
      snapshotTerm: group.snapshotTerm,
      snapshotAgeMs: this.now() - group.snapshotAtMs,
    };
  }

  /**
   * The group's term while this replica leads it, else 0: the write path's check, without
   * the object status() builds. Throws like status() for an unknown group.
   */
  leaderTerm(groupId: GroupId): Term {
    return this.requireGroup(groupId).node.leaderTerm();
  }

  /** The leader this replica knows of (0: none). Throws like status() for an unknown group. */
  knownLeader(groupId: GroupId): NodeId {
    return this.requireGroup(groupId).node.knownLeader();
  }

  /** The group's last log index (a proposal appends there synchronously). */
  lastIndex(groupId: GroupId): Index {
    return this.requireGroup(groupId).node.lastIndex();
  }

  /** Requests in flight on this host (proposals and reads not yet settled). */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  // ---------------------------------------------------------------- requests

  private request<T>(groupId: GroupId, start: (group: HostGroup, nowMs: number, timeoutMs: number) => Promise<T>, options: RequestOptions): Promise<T> {
    let promise: Promise<T>;
    try {
      this.assertRunning();
      if (this.inFlight >= this.options.maxInFlightRequests) throw new OverloadError(this.options.maxInFlightRequests);
      const group = this.requireGroup(groupId);
      promise = start(group, this.now(), options.timeoutMs ?? this.options.requestTimeoutMs);
      this.markDirty(group);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.inFlight++;
    const settle = (): void => {
      this.inFlight--;
    };
    promise.then(settle, settle);
    return promise;
  }

  private requireGroup(groupId: GroupId): HostGroup {
    const group = this.groups.get(groupId);
    if (group !== undefined && !group.failed) return group;
    if (this.arriving.has(groupId)) throw new HostError('GROUP_LOADING', `group ${groupId} is still loading`, { group: groupId });
    throw new HostError('NO_SUCH_GROUP', `group ${groupId} is not on host ${this.nodeId}${group?.failed ? ' (failed)' : ''}`, { group: groupId });
  }

  private assertRunning(): void {
    if (this.state === 'running') return;
    if (this.state === 'failed') throw new HostError('HOST_FAILED', `host ${this.nodeId} failed; restart it`);
    throw new HostError('HOST_STOPPED', `host ${this.nodeId} is not running (${this.state})`);
  }

  // ---------------------------------------------------------------- groups

  private async loadGroup(groupId: GroupId): Promise<void> {
    this.arriving.add(groupId);
    try {
      const log = await this.store.load(groupId);
      const mark = log.snapshot ?? { index: 0, term: 0, config: { voters: [], learners: [], epoch: 0 } };
      const storage = restoreMemoryLogStorage(log, mark.index > 0 ? this.files.descriptor(mark.index, mark.term) : new Uint8Array(0));
      const machine = this.options.stateMachineFactory(groupId);
      if (mark.index > 0) {
        await machine.restoreSnapshot({ path: this.files.path(groupId, mark.index, mark.term), ...mark });
        invariant(machine.appliedIndex() === mark.index, () => `group ${groupId}: state machine at ${machine.appliedIndex()} after loading the snapshot at ${mark.index}`);
      }
      if (this.state !== 'starting') return;
      this.addGroup(groupId, storage, machine, mark);
    } finally {
      this.arriving.delete(groupId);
    }
  }

  private addGroup(groupId: GroupId, storage: MemoryLogStorage, machine: StateMachine, snapshot: { index: Index; term: Term; config: ConfigState }): void {
    const o = this.options;
    const node = new RaftNode({
      id: this.nodeId,
      storage,
      random: o.random,
      electionTicks: o.electionTicks,
      heartbeatTicks: o.heartbeatTicks,
      quiesceAfterTicks: o.quiesceAfterTicks,
      readMode: o.readMode,
      catchUpMarginEntries: o.catchUpMarginEntries,
      // The state machine holds the snapshot; committed entries after it are replayed.
      applied: snapshot.index,
    });
    const group = new HostGroup(groupId, node, storage, machine, snapshot, this.now());
    this.groups.set(groupId, group);
    this.markDirty(group);
  }

  private failGroup(group: HostGroup, error: Error): void {
    group.failed = true;
    group.rejectAll(error);
    this.events.emit('failure', { group: group.id, error });
  }

  private failHost(error: Error): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    const failure = new HostError('HOST_FAILED', `host ${this.nodeId} failed: ${error.message}`, { cause: error });
    for (const group of this.groups.values()) group.rejectAll(failure);
    this.events.emit('failure', { group: null, error });
  }

  // ---------------------------------------------------------------- ticks

  private tick(): void {
    if (this.state !== 'running') return;
    const now = this.now();
    const peers = new Set<NodeId>();
    for (const group of this.groups.values()) {
      if (group.failed) continue;
      group.node.tick();
      this.markDirty(group);
      if (group.pendingRequests > 0) group.expire(now);
      for (const id of group.appliedConfig.voters) peers.add(id);
      for (const id of group.appliedConfig.learners) peers.add(id);
      if (group.leader !== 0) peers.add(group.leader);
      this.maybeSnapshotByInterval(group, now);
    }
    peers.delete(this.nodeId);
    // Commit-only hard states not carried by a batch since the last tick (flush()).
    if (this.persisting === null && this.lazyHardStates.size > 0) this.persisting = this.persistBatch();
    for (const peer of this.liveness.newlySuspected(peers, now)) this.suspectPeer(peer);
    for (const peer of peers) {
      if (this.liveness.keepaliveDue(peer, now) && !this.outbox.has(peer)) this.outbox.set(peer, []);
    }
  }

  /** A peer process may be dead: wake the groups it leads here, and let our leaders probe it. */
  private suspectPeer(peer: NodeId): void {
    for (const group of this.groups.values()) {
      if (group.failed) continue;
      if (group.leader === peer) group.node.wake();
      if (group.role === 'leader') group.node.reportUnreachable(peer);
      this.markDirty(group);
    }
  }

  // ---------------------------------------------------------------- the Ready loop

  private markDirty(group: HostGroup): void {
    this.dirty.add(group);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Collects every group's Ready of this turn; handles write-free ones now, batches the rest. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.state !== 'running') return;
    for (const group of this.dirty) {
      if (group.failed || group.outstanding !== null || !group.node.hasReady()) continue;
      const ready = group.node.ready();
      group.outstanding = ready;
      this.stats.readies++;
      if (group.observe(ready) && ready.leader !== 0) this.events.emit('leader-change', { group: group.id, leader: ready.leader, term: group.term });
      if (ready.snapshot !== null || ready.entries.length > 0 || this.termOrVoteChanged(group, ready)) {
        const sentEarly = this.maybeSendLeaderMessagesEarly(group, ready);
        const appliedEarly = this.applyDurableCommitted(group, ready);
        this.waiting.push({ group, ready, sentEarly, appliedEarly });
      } else {
        if (ready.hardState !== null) this.lazyHardStates.set(group, ready.hardState);
        this.completeReady(group, ready, false, 0);
      }
    }
    this.dirty.clear();
    this.sendOutbox();
    // Commit-only hard states alone start no batch: they ride with the next one, or the
    // tick writes them. A batch of their own would hold back the entries proposed right
    // after this turn's applies for one more write.
    if (this.persisting === null && (this.waiting.length > 0 || this.marks.length > 0)) this.persisting = this.persistBatch();
  }

  private termOrVoteChanged(group: HostGroup, ready: Ready): boolean {
    if (ready.hardState === null) return false;
    const durable = group.storage.hardState();
    return ready.hardState.term !== durable.term || ready.hardState.vote !== durable.vote;
  }

  /** One batch, one sync, for every waiting Ready and published snapshot (group commit). */
  private async persistBatch(): Promise<void> {
    const readies = this.waiting;
    const marks = this.marks;
    this.waiting = [];
    this.marks = [];
    const lazyHardStates = this.lazyHardStates;
    this.lazyHardStates = new Map();
    const batch = this.store.batch();
    // Older commit-only hard states first: a Ready of this batch may carry a newer one.
    for (const [group, hardState] of lazyHardStates) if (!group.failed) batch.setHardState(group.id, hardState);
    let mustSync = false;
    const installing = new Set<HostGroup>();
    for (const { group, ready } of readies) {
      if (ready.snapshot !== null) {
        const { index, term, config } = ready.snapshot.metadata;
        batch.installSnapshot(group.id, { index, term, config });
        installing.add(group);
      }
      if (ready.entries.length > 0) batch.append(group.id, ready.entries);
      if (ready.hardState !== null) batch.setHardState(group.id, ready.hardState);
      mustSync ||= ready.mustSync;
    }
    const published: SnapshotMarkToWrite[] = [];
    for (const mark of marks) {
      const state = this.store.groupState(mark.group.id);
      // A leader's snapshot installed meanwhile supersedes ours.
      const superseded = installing.has(mark.group) || (state.snapshot?.index ?? 0) >= mark.index || state.logStart.index >= mark.index;
      if (mark.group.failed || superseded) {
        mark.group.snapshotting = false;
        mark.settle();
        continue;
      }
      // Formats.md: the file is published (renamed, folder synced); now record it and drop
      // the entries it covers, atomically. Always synced: older files get deleted next.
      batch.recordSnapshot(mark.group.id, { index: mark.index, term: mark.term, config: mark.config }).compactPrefix(mark.group.id, mark.index, mark.term);
      published.push(mark);
    }
    const sync = (mustSync && this.options.fsync) || published.length > 0;
    try {
      if (!batch.isEmpty || sync) {
        await batch.commit({ sync });
        this.stats.batches++;
        if (sync) this.stats.syncs++;
      }
    } catch (error) {
      this.persisting = null;
      for (const mark of published) mark.settle();
      this.failHost(error as Error);
      return;
    }
    if (this.state === 'running') {
      for (const { group, ready, sentEarly, appliedEarly } of readies) this.completeReady(group, ready, sentEarly, appliedEarly);
      for (const mark of published) this.completePublish(mark);
    }
    for (const mark of published) mark.settle();
    this.persisting = null;
    this.sendOutbox();
    this.scheduleFlush();
  }

  /**
   * A leader may send its appends and heartbeats while it writes its own log (raft.md,
   * thesis §10.2.1): it counts its own copy only once durable (at advance). Not when the
   * Ready changes term or vote: a leader's term and self-vote must be durable before it
   * speaks in that term, or after a crash it could vote again in the same term.
   */
  private maybeSendLeaderMessagesEarly(group: HostGroup, ready: Ready): boolean {
    if (ready.role !== 'leader' || ready.snapshot !== null) return false;
    if (this.termOrVoteChanged(group, ready)) return false;
    for (const message of ready.messages) if (isLeaderTraffic(message)) this.enqueue(group, message);
    return true;
  }

  /**
   * Applies now the committed entries of a Ready that writes which this replica's log
   * already holds durably (written by an earlier batch), instead of after this Ready's
   * own write: they are committed and on disk here, so nothing the write does can change
   * them, and their answers need not wait one more sync. Returns how many were applied.
   */
  private applyDurableCommitted(group: HostGroup, ready: Ready): number {
    const committed = ready.committedEntries;
    if (ready.snapshot !== null || committed.length === 0) return 0;
    const durableLast = group.storage.lastIndex();
    let count = 0;
    while (count < committed.length && committed[count]!.index <= durableLast) count++;
    if (count === 0) return 0;
    group.apply(count === committed.length ? committed : committed.slice(0, count));
    return count;
  }

  /** Steps 1–8 of the Ready contract once its writes are durable (`appliedEarly` committed entries already applied). */
  private completeReady(group: HostGroup, ready: Ready, sentEarly: boolean, appliedEarly: number): void {
    const storage = group.storage;
    if (ready.snapshot !== null) storage.applySnapshot(ready.snapshot);
    if (ready.entries.length > 0) storage.append(ready.entries);
    if (ready.hardState !== null) storage.setHardState(ready.hardState);
    for (const message of ready.messages) if (!(sentEarly && isLeaderTraffic(message))) this.enqueue(group, message);
    if (ready.snapshot !== null) {
      void this.installSnapshot(group, ready);
      return;
    }
    this.finishReady(group, ready, appliedEarly);
  }

  private finishReady(group: HostGroup, ready: Ready, appliedEarly = 0): void {
    group.apply(appliedEarly === 0 ? ready.committedEntries : ready.committedEntries.slice(appliedEarly));
    group.serveReads(ready.readStates);
    group.node.advance(ready);
    group.outstanding = null;
    this.markDirty(group);
    if (ready.committedEntries.length > 0 && group.bytesSinceSnapshot >= this.options.snapshotLogBytes) void this.takeSnapshot(group);
  }

  // ---------------------------------------------------------------- messages

  private enqueue(group: HostGroup, message: Message): void {
    if (message.type === 'snapshot') {
      void this.sendSnapshot(group, message);
      return;
    }
    let envelopes = this.outbox.get(message.to);
    if (envelopes === undefined) this.outbox.set(message.to, (envelopes = []));
    envelopes.push({ group: group.id, message });
  }

  /** One transport batch per peer process for everything of this round (heartbeats included). */
  private sendOutbox(): void {
    if (this.outbox.size === 0) return;
    const outbox = this.outbox;
    this.outbox = new Map();
    if (this.state !== 'running') return;
    const now = this.now();
    for (const [peer, envelopes] of outbox) {
      this.liveness.sent(peer, now);
      this.options.transport.send(peer, envelopes);
    }
  }

  private transportHandler(): TransportHandler {
    return {
      receive: (from, envelopes) => this.receive(from, envelopes),
      receiveSnapshot: (from, chunks) => this.receiveSnapshot(from, chunks),
      peerUnreachable: (peer) => {
        if (this.state === 'running') this.suspectPeer(peer);
      },
    };
  }

  private receive(from: NodeId, envelopes: readonly Envelope[]): void {
    if (this.state !== 'running' && this.state !== 'starting') return;
    this.liveness.heard(from, this.now());
    for (const { group: groupId, message } of envelopes) {
      const group = this.groups.get(groupId);
      // Unknown groups, misaddressed messages and snapshots outside their channel are dropped: Raft retries.
      if (group === undefined || group.failed || message.to !== this.nodeId || message.from !== from || message.type === 'snapshot') continue;
      group.node.step(message);
      this.markDirty(group);
    }
  }

  // ---------------------------------------------------------------- snapshots

  private maybeSnapshotByInterval(group: HostGroup, nowMs: number): void {
    if (group.snapshotting || nowMs - group.snapshotAtMs < this.options.snapshotIntervalMs) return;
    if (group.machine.appliedIndex() <= group.snapshotIndex) return;
    void this.takeSnapshot(group);
  }

  /** Dumps the state machine at its applied index; the next batch records it and compacts. */
  private async takeSnapshot(group: HostGroup): Promise<void> {
    if (group.snapshotting || group.failed || this.state !== 'running') return;
    const index = group.machine.appliedIndex();
    if (index <= group.snapshotIndex) return;
    const term = group.storage.term(index);
    const config = group.appliedConfig;
    const bytesAtStart = group.bytesSinceSnapshot;
    group.snapshotting = true;
    try {
      await group.machine.takeSnapshot({ path: this.files.path(group.id, index, term), index, term, config });
    } catch (error) {
      group.snapshotting = false;
      this.events.emit('failure', { group: group.id, error: error as Error });
      return;
    }
    if (this.state !== 'running') {
      group.snapshotting = false;
      return;
    }
    await new Promise<void>((settle) => {
      this.marks.push({ group, index, term, config, bytesAtStart, settle });
      this.scheduleFlush();
    });
  }

  /** The mark is durable and the log compacted on disk: mirror it, then drop older files. */
  private completePublish(mark: SnapshotMarkToWrite): void {
    const { group, index, term, config } = mark;
    group.snapshotting = false;
    if (group.storage.snapshot().metadata.index >= index) return;
    group.storage.createSnapshot(index, config, this.files.descriptor(index, term));
    group.storage.compact(index);
    group.published(index, term, this.now(), mark.bytesAtStart);
    this.stats.snapshotsTaken++;
    this.events.emit('snapshot-taken', { group: group.id, index, term });
    void this.removeOldSnapshots(group);
  }

  private async removeOldSnapshots(group: HostGroup): Promise<void> {
    const keep = new Set([this.files.fileName(group.snapshotIndex, group.snapshotTerm), ...group.incomingFiles]);
    await this.files.removeAllBut(group.id, keep);
  }

  /** Step 5: a leader's snapshot replaces the state machine wholesale, then the Ready finishes. */
  private async installSnapshot(group: HostGroup, ready: Ready): Promise<void> {
    const { index, term, config } = ready.snapshot!.metadata;
    try {
      await group.machine.restoreSnapshot({ path: this.files.path(group.id, index, term), index, term, config });
      invariant(group.machine.appliedIndex() === index, () => `group ${group.id}: state machine at ${group.machine.appliedIndex()} after installing the snapshot at ${index}`);
    } catch (error) {
      this.failGroup(group, error as Error);
      return;
    }
    if (this.state !== 'running') return;
    group.installed(index, term, config, this.now());
    this.stats.snapshotsInstalled++;
    this.events.emit('snapshot-installed', { group: group.id, index, term, from: ready.leader });
    void this.removeOldSnapshots(group);
    this.finishReady(group, ready);
  }

  /** Streams the snapshot file in chunks on the transport's snapshot channel. */
  private async sendSnapshot(group: HostGroup, message: Message): Promise<void> {
    const metadata = message.snapshot!.metadata;
    let ok = false;
    if (this.snapshotSends < this.options.maxConcurrentSnapshotSends) {
      this.snapshotSends++;
      try {
        const bytes = await this.files.read(group.id, metadata.index, metadata.term);
        const chunks = splitSnapshot(group.id, { ...message, snapshot: { metadata, data: bytes } }, this.options.snapshotChunkBytes);
        await this.options.transport.sendSnapshot(message.to, chunks);
        ok = true;
        this.stats.snapshotsSent++;
      } catch {
        ok = false; // the follower refused or the file was replaced: the core retries later
      } finally {
        this.snapshotSends--;
      }
    }
    if (this.state !== 'running' || group.failed) return;
    group.node.reportSnapshot(message.to, ok);
    this.markDirty(group);
  }

  /** One incoming transfer: reassemble, store the file, then hand the core the snapshot. */
  private async receiveSnapshot(from: NodeId, chunks: AsyncIterable<SnapshotChunk>): Promise<void> {
    if (this.state !== 'running') throw new HostError('HOST_STOPPED', `host ${this.nodeId} is not running`);
    if (this.snapshotInstalls >= this.options.maxConcurrentSnapshotInstalls) {
      throw new HostError('SNAPSHOT_BUSY', `host ${this.nodeId} already installs ${this.snapshotInstalls} snapshots`);
    }
    this.snapshotInstalls++;
    let group: HostGroup | undefined;
    let name = '';
    try {
      const assembler = new SnapshotAssembler();
      let message: Message | null = null;
      let groupId = 0;
      for await (const chunk of chunks) {
        if (chunk.from !== from || chunk.to !== this.nodeId || message !== null) throw new HostError('SNAPSHOT_REFUSED', `misaddressed snapshot chunk from ${from}`);
        groupId = chunk.group;
        message = assembler.accept(chunk);
      }
      if (message === null || message.snapshot === null) throw new HostError('SNAPSHOT_REFUSED', `incomplete snapshot transfer from ${from}`);
      group = this.groups.get(groupId);
      if (group === undefined || group.failed) throw new HostError('NO_SUCH_GROUP', `group ${groupId} is not on host ${this.nodeId}`, { group: groupId });
      const { metadata, data } = message.snapshot;
      name = this.files.fileName(metadata.index, metadata.term);
      group.incomingFiles.add(name);
      await this.files.store(group.id, metadata.index, metadata.term, data);
      if (this.state !== 'running' || group.failed) throw new HostError('HOST_STOPPED', `host ${this.nodeId} stopped during a snapshot transfer`);
      this.liveness.heard(from, this.now());
      group.node.step({ ...message, snapshot: { metadata, data: this.files.descriptor(metadata.index, metadata.term) } });
      this.markDirty(group);
    } finally {
      this.snapshotInstalls--;
      group?.incomingFiles.delete(name);
    }
  }

  private now(): number {
    return this.options.clock.now();
  }
}

/** Messages a leader sends from its own log and state, which no local write must precede. */
function isLeaderTraffic(message: Message): boolean {
  return message.type === 'append' || message.type === 'heartbeat';
}
