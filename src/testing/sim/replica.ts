import { decodeConfigChange } from '../../raft/config-codec.ts';
import { NotLeaderError, RaftError } from '../../raft/errors.ts';
import type { ConfigChange, ConfigState, Entry, GroupId, Index, Message, NodeId, RaftConfig, ReadState, Ready, Role, Term } from '../../raft/types.ts';
import type { Random } from '../random.ts';
import type { EventQueue } from './event-queue.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import type { RaftCore, CoreFactory } from './raft-core.ts';
import type { ReplicaView, SafetyChecker } from './safety-checker.ts';
import { SimDisk } from './sim-disk.ts';

/** The RaftConfig fields a simulation sets for every replica. */
export type RaftOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random' | 'applied'>>;

export interface DiskOptions {
  readonly minSyncMs: number;
  readonly maxSyncMs: number;
  /** On a crash, keep a random prefix of the unsynced writes instead of none. */
  readonly torn: boolean;
}

/** What a replica needs from the simulator hosting it. */
export interface ReplicaHost {
  readonly queue: EventQueue;
  readonly checker: SafetyChecker;
  readonly random: Random;
  readonly disk: DiskOptions;
  readonly raft: RaftOptions;
  /** Take a state-machine snapshot every this many applied entries (0: never). */
  readonly snapshotEveryEntries: number;
  /** Entries kept in the log below a snapshot's index (so lagging followers may still catch up from the log). */
  readonly keepEntriesAfterSnapshot: number;
  readonly createCore: CoreFactory;
  send(group: GroupId, message: Message): void;
  onConfigApplied(group: GroupId, node: NodeId, change: ConfigChange, index: Index): void;
}

/** The answer to a client request, as a replica gives it. */
export type ReplicaReply =
  | { readonly kind: 'ok'; readonly value: string }
  | { readonly kind: 'not-leader'; readonly hint: NodeId }
  | { readonly kind: 'failed' };

interface PendingProposal {
  readonly term: Term;
  readonly reply: (reply: ReplicaReply) => void;
}

interface PendingRead {
  readonly key: string;
  readonly reply: (reply: ReplicaReply) => void;
}

/**
 * One replica of one group on one simulated node: a RaftNode over a SimDisk, the KV
 * state machine, and the host's side of the Ready contract (persist, sync, send,
 * install, apply, serve reads, advance).
 */
export class Replica {
  private core: RaftCore | null = null;
  private machine = new KvStateMachine();
  private appliedIndex: Index = 0;
  /** Membership as of the applied index (what a snapshot taken now must carry). */
  private appliedConfig: ConfigState;
  private syncing = false;
  private incarnation = 0;
  private currentTerm: Term = 0;
  private currentRole: Role = 'follower';
  private leaderHint: NodeId = 0;
  private lastSnapshotIndex: Index = 0;
  private readonly proposals = new Map<Index, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private readyReads: ReadState[] = [];
  private readSequence = 0;
  readonly disk: SimDisk;

  constructor(
    readonly node: NodeId,
    readonly group: GroupId,
    initialConfig: ConfigState,
    private readonly host: ReplicaHost,
  ) {
    this.disk = new SimDisk(initialConfig);
    this.appliedConfig = initialConfig;
  }

  get running(): boolean {
    return this.core !== null;
  }

  get raft(): RaftCore {
    if (this.core === null) throw new Error(`replica ${this.node} of group ${this.group} is not running`);
    return this.core;
  }

  get role(): Role {
    return this.currentRole;
  }

  get term(): Term {
    return this.currentTerm;
  }

  get leader(): NodeId {
    return this.leaderHint;
  }

  get applied(): Index {
    return this.appliedIndex;
  }

  get config(): ConfigState {
    return this.appliedConfig;
  }

  get state(): KvStateMachine {
    return this.machine;
  }

  /** Starts (or restarts) the core from what the disk holds durably. */
  start(): void {
    this.incarnation++;
    this.syncing = false;
    const storage = this.disk.live;
    const snapshot = storage.snapshot();
    const { hardState } = storage.initialState();
    this.machine = KvStateMachine.decode(snapshot.data);
    this.appliedIndex = snapshot.metadata.index;
    this.appliedConfig = snapshot.metadata.config;
    this.lastSnapshotIndex = snapshot.metadata.index;
    this.currentTerm = hardState.term;
    this.currentRole = 'follower';
    this.leaderHint = 0;
    this.core = this.host.createCore({
      ...this.host.raft,
      id: this.node,
      storage,
      random: this.host.random.fork(`raft/${this.group}/${this.node}/${this.incarnation}`).asFunction(),
      applied: this.appliedIndex,
    });
  }

  /** Loses volatile state and unsynced writes. The replica stays down until start(). */
  crash(torn: boolean = this.host.disk.torn): void {
    this.incarnation++;
    this.core = null;
    this.syncing = false;
    this.proposals.clear();
    this.reads.clear();
    this.readyReads = [];
    this.currentRole = 'follower';
    this.leaderHint = 0;
    this.disk.crash(torn ? this.host.random.fork(`torn/${this.group}/${this.node}/${this.incarnation}`) : null);
  }

  /** Runs `action` against the core, then handles whatever Ready it produced. */
  input(action: (core: RaftCore) => void): void {
    if (this.core === null) return;
    action(this.core);
    this.processReady();
  }

  tick(): void {
    this.input((core) => core.tick());
  }

  deliver(message: Message): void {
    this.input((core) => core.step(message));
  }

  /** A client write: propose it and answer once an entry at its index applies. */
  submitWrite(data: Uint8Array, reply: (reply: ReplicaReply) => void): void {
    this.input((core) => {
      let at: { index: Index; term: Term };
      try {
        at = core.propose(data);
      } catch (error) {
        reply(refusal(error));
        return;
      }
      // An older proposal at the same index was overwritten by a newer leader's log.
      this.proposals.get(at.index)?.reply({ kind: 'failed' });
      this.proposals.set(at.index, { term: at.term, reply });
    });
  }

  /** A client read through ReadIndex (or a lease, as the core is configured). */
  submitRead(key: string, reply: (reply: ReplicaReply) => void): void {
    this.input((core) => {
      const context = `${this.node}/${this.incarnation}/${++this.readSequence}`;
      try {
        core.readIndex(context);
      } catch (error) {
        reply(refusal(error));
        return;
      }
      this.reads.set(context, { key, reply });
    });
  }

  /** Takes a snapshot of the state machine at the applied index now (and compacts). */
  snapshotNow(): boolean {
    if (this.core === null || this.appliedIndex <= this.disk.live.snapshot().metadata.index) return false;
    this.takeSnapshot();
    return true;
  }

  view(): ReplicaView {
    const status = this.raft.status();
    return {
      node: this.node,
      storage: this.disk.live,
      role: status.role,
      term: status.term,
      commit: status.commit,
      lastIndex: status.lastIndex,
      applied: this.appliedIndex,
      stateHash: () => this.machine.hash(),
    };
  }

  private processReady(): void {
    while (this.core !== null && !this.syncing && this.core.hasReady()) {
      const ready = this.core.ready();
      this.observe(ready);
      if (ready.snapshot !== null) this.disk.applySnapshot(ready.snapshot);
      if (ready.entries.length > 0) {
        this.host.checker.onAppend(this.group, this.node, ready.entries);
        this.disk.append(ready.entries);
      }
      if (ready.hardState !== null) this.disk.setHardState(ready.hardState);
      const wrote = ready.snapshot !== null || ready.entries.length > 0 || ready.hardState !== null;
      if (ready.mustSync) {
        this.syncThen(ready);
        return;
      }
      if (wrote) this.scheduleBackgroundSync();
      this.finish(ready);
    }
  }

  /** Syncs after a virtual delay, then performs the rest of the Ready (steps 4–8). */
  private syncThen(ready: Ready): void {
    this.syncing = true;
    const incarnation = this.incarnation;
    const delay = this.host.random.int(this.host.disk.minSyncMs, this.host.disk.maxSyncMs);
    this.host.queue.schedule(delay, () => {
      if (incarnation !== this.incarnation) return; // crashed meanwhile: the writes are gone
      this.disk.sync();
      this.syncing = false;
      this.finish(ready);
      this.processReady();
    });
  }

  /** Writes that need no sync still reach the disk eventually (a background flush). */
  private scheduleBackgroundSync(): void {
    const incarnation = this.incarnation;
    const delay = this.host.random.int(this.host.disk.minSyncMs, this.host.disk.maxSyncMs);
    this.host.queue.schedule(delay, () => {
      if (incarnation === this.incarnation) this.disk.sync();
    });
  }

  private observe(ready: Ready): void {
    const term = ready.hardState?.term ?? this.currentTerm;
    if (ready.role === 'leader' && (this.currentRole !== 'leader' || term !== this.currentTerm)) {
      this.host.checker.onLeader(this.group, term, this.node);
    }
    this.currentTerm = term;
    this.currentRole = ready.role;
    this.leaderHint = ready.leader;
  }

  private finish(ready: Ready): void {
    for (const message of ready.messages) this.host.send(this.group, message);
    if (ready.snapshot !== null) this.installSnapshot(ready);
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    if (ready.committedEntries.length > 0) this.maybeSnapshot();
    this.readyReads.push(...ready.readStates);
    this.serveReads();
    this.core?.advance(ready);
  }

  private installSnapshot(ready: Ready): void {
    const snapshot = ready.snapshot!;
    const { index, config } = snapshot.metadata;
    if (index <= this.appliedIndex) {
      this.host.checker.fail(`group ${this.group}: node ${this.node} was handed a snapshot at ${index} <= applied ${this.appliedIndex}`);
    }
    this.machine = KvStateMachine.decode(snapshot.data); // wholesale: no stale keys survive
    this.appliedIndex = index;
    this.appliedConfig = config;
    this.lastSnapshotIndex = index;
    this.host.checker.onStateHash(this.group, this.node, index, this.machine.hash());
    // Proposals the snapshot jumped over have an unknown outcome: their clients retry.
    for (const at of [...this.proposals.keys()]) if (at <= index) this.proposals.delete(at);
  }

  private applyEntry(entry: Entry): void {
    if (entry.index !== this.appliedIndex + 1) {
      this.host.checker.fail(`group ${this.group}: node ${this.node} applied entry ${entry.index} after ${this.appliedIndex} (entries apply in order)`);
    }
    this.host.checker.onApplied(this.group, this.node, entry, this.currentTerm);
    if (entry.type === 'config') {
      const change = decodeConfigChange(entry.data);
      this.appliedConfig = applyConfigChange(this.appliedConfig, change);
      this.host.onConfigApplied(this.group, this.node, change, entry.index);
    } else {
      this.machine.apply(entry.data);
    }
    this.appliedIndex = entry.index;
    const proposal = this.proposals.get(entry.index);
    if (proposal !== undefined) {
      this.proposals.delete(entry.index);
      proposal.reply(proposal.term === entry.term ? { kind: 'ok', value: '' } : { kind: 'failed' });
    }
  }

  private maybeSnapshot(): void {
    const every = this.host.snapshotEveryEntries;
    if (every > 0 && this.appliedIndex - this.lastSnapshotIndex >= every) this.takeSnapshot();
  }

  private takeSnapshot(): void {
    const index = this.appliedIndex;
    const compactTo = Math.max(0, index - this.host.keepEntriesAfterSnapshot);
    this.disk.saveSnapshot(index, this.appliedConfig, this.machine.encode(), compactTo);
    this.lastSnapshotIndex = index;
    this.host.checker.onStateHash(this.group, this.node, index, this.machine.hash());
  }

  private serveReads(): void {
    if (this.readyReads.length === 0) return;
    const waiting: ReadState[] = [];
    for (const state of this.readyReads) {
      if (state.index > this.appliedIndex) {
        waiting.push(state);
        continue;
      }
      const read = this.reads.get(state.context);
      if (read === undefined) continue;
      this.reads.delete(state.context);
      read.reply({ kind: 'ok', value: this.machine.get(read.key) });
    }
    this.readyReads = waiting;
  }
}

function refusal(error: unknown): ReplicaReply {
  if (error instanceof NotLeaderError) return { kind: 'not-leader', hint: error.leaderHint };
  if (error instanceof RaftError) return { kind: 'failed' };
  throw error;
}

/** Membership after one single-server change (thesis §4.1); epoch counts changes. */
export function applyConfigChange(config: ConfigState, change: ConfigChange): ConfigState {
  const voters = config.voters.filter((id) => id !== change.node);
  const learners = config.learners.filter((id) => id !== change.node);
  if (change.type === 'add-learner') learners.push(change.node);
  if (change.type === 'promote') voters.push(change.node);
  return { voters, learners, epoch: config.epoch + 1 };
}
