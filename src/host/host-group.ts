/**
 * One group (copyset) as its host drives it: the core, the in-memory mirror of its
 * durable log, its state machine, and the requests waiting on it. The host does the
 * I/O; this module keeps the per-group bookkeeping that needs none.
 */
import { decodeConfigChange } from '../raft/config-codec.ts';
import { NotLeaderError, invariant } from '../raft/errors.ts';
import type { MemoryLogStorage } from '../raft/memory-storage.ts';
import type { RaftNode } from '../raft/raft-node.ts';
import type { ConfigChange, ConfigState, Entry, GroupId, Index, NodeId, ReadState, Ready, Role, Term } from '../raft/types.ts';
import { HostError, RequestTimeoutError } from './host-errors.ts';
import type { StateMachine } from './interfaces.ts';

export interface ProposalOutcome {
  readonly index: Index;
}

interface PendingProposal {
  readonly term: Term;
  readonly deadlineMs: number;
  readonly timeoutMs: number;
  readonly resolve: (outcome: ProposalOutcome) => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  readonly deadlineMs: number;
  readonly timeoutMs: number;
  /** Set once the leader confirmed the read point (a ReadState). */
  index: Index | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class HostGroup {
  /** The Ready handed out and not yet advanced (the core allows one). */
  outstanding: Ready | null = null;
  role: Role = 'follower';
  leader: NodeId = 0;
  term: Term;
  /** Membership as of the applied index: what a snapshot taken now records. */
  appliedConfig: ConfigState;
  snapshotIndex: Index;
  snapshotTerm: Term;
  snapshotAtMs: number;
  /** Payload bytes applied since the last snapshot (the log-size trigger). */
  bytesSinceSnapshot = 0;
  snapshotting = false;
  /** A restore or the log store failed for this group: it takes no more input. */
  failed = false;
  /** Names of snapshot files being received, which cleanup must not remove. */
  readonly incomingFiles = new Set<string>();
  private readonly proposals = new Map<Index, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();

  constructor(
    readonly id: GroupId,
    readonly node: RaftNode,
    readonly storage: MemoryLogStorage,
    readonly machine: StateMachine,
    snapshot: { index: Index; term: Term; config: ConfigState },
    nowMs: number,
  ) {
    this.term = storage.hardState().term;
    this.appliedConfig = snapshot.config;
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    this.snapshotAtMs = nowMs;
  }

  get pendingRequests(): number {
    return this.proposals.size + this.reads.size;
  }

  /** Notes the role, leader and term a Ready reports; returns true if the leader changed. */
  observe(ready: Ready): boolean {
    const term = ready.hardState?.term ?? this.term;
    const changed = ready.leader !== this.leader || (ready.leader !== 0 && term !== this.term);
    const wasLeader = this.role === 'leader';
    this.role = ready.role;
    this.leader = ready.leader;
    this.term = term;
    if (wasLeader && ready.role !== 'leader') this.rejectUnconfirmedReads();
    return changed;
  }

  addProposal(at: { index: Index; term: Term }, nowMs: number, timeoutMs: number): Promise<ProposalOutcome> {
    return new Promise((resolve, reject) => {
      // An older proposal at this index was overwritten by a newer leader's log (§5.3).
      this.proposals.get(at.index)?.reject(new NotLeaderError(this.leader));
      this.proposals.set(at.index, { term: at.term, deadlineMs: nowMs + timeoutMs, timeoutMs, resolve, reject });
    });
  }

  addRead(context: string, nowMs: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reads.set(context, { deadlineMs: nowMs + timeoutMs, timeoutMs, index: null, resolve, reject });
    });
  }

  /** Hands committed entries to the state machine, then settles the proposals they decide. */
  apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const applied = this.machine.appliedIndex();
    invariant(entries[0]!.index === applied + 1, () => `group ${this.id}: entry ${entries[0]!.index} applied after ${applied} (entries apply in order)`);
    this.machine.apply(entries);
    const last = entries[entries.length - 1]!.index;
    invariant(this.machine.appliedIndex() === last, () => `group ${this.id}: state machine reports applied ${this.machine.appliedIndex()} after applying through ${last}`);
    for (const entry of entries) {
      this.bytesSinceSnapshot += entry.data.length;
      if (entry.type === 'config') this.appliedConfig = withChange(this.appliedConfig, decodeConfigChange(entry.data));
      const proposal = this.proposals.get(entry.index);
      if (proposal === undefined) continue;
      this.proposals.delete(entry.index);
      // The proposal succeeded iff the entry applied at its index carries its term.
      if (proposal.term === entry.term) proposal.resolve({ index: entry.index });
      else proposal.reject(new NotLeaderError(this.leader));
    }
  }

  /** A snapshot replaced the state: proposals it covers have an unknown outcome (the client retries). */
  installed(index: Index, term: Term, config: ConfigState, nowMs: number): void {
    this.appliedConfig = config;
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.snapshotAtMs = nowMs;
    this.bytesSinceSnapshot = 0;
    for (const [at, proposal] of this.proposals) {
      if (at > index) continue;
      this.proposals.delete(at);
      proposal.reject(new HostError('OUTCOME_UNKNOWN', `group ${this.id}: a snapshot at ${index} covers the proposal at ${at}`, { group: this.id }));
    }
  }

  published(index: Index, term: Term, nowMs: number, bytesAtStart: number): void {
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.snapshotAtMs = nowMs;
    this.bytesSinceSnapshot = Math.max(0, this.bytesSinceSnapshot - bytesAtStart);
  }

  /** Confirmed read points; each read resolves once the state machine has applied up to it. */
  serveReads(readStates: readonly ReadState[]): void {
    for (const state of readStates) {
      const read = this.reads.get(state.context);
      if (read !== undefined) read.index = state.index;
    }
    const applied = this.machine.appliedIndex();
    for (const [context, read] of this.reads) {
      if (read.index === null || read.index > applied) continue;
      this.reads.delete(context);
      read.resolve();
    }
  }

  /** Rejects requests whose deadline passed; returns how many. */
  expire(nowMs: number): number {
    let expired = 0;
    for (const [at, proposal] of this.proposals) {
      if (proposal.deadlineMs > nowMs) continue;
      this.proposals.delete(at);
      proposal.reject(new RequestTimeoutError(this.id, `proposal at index ${at}`, proposal.timeoutMs));
      expired++;
    }
    for (const [context, read] of this.reads) {
      if (read.deadlineMs > nowMs) continue;
      this.reads.delete(context);
      read.reject(new RequestTimeoutError(this.id, 'read', read.timeoutMs));
      expired++;
    }
    return expired;
  }

  /** Rejects every waiting request (the host stops or the group failed). */
  rejectAll(error: Error): void {
    for (const proposal of this.proposals.values()) proposal.reject(error);
    for (const read of this.reads.values()) read.reject(error);
    this.proposals.clear();
    this.reads.clear();
  }

  /** A deposed leader's unconfirmed reads will never be confirmed: the client retries elsewhere. */
  private rejectUnconfirmedReads(): void {
    for (const [context, read] of this.reads) {
      if (read.index !== null) continue;
      this.reads.delete(context);
      read.reject(new NotLeaderError(this.leader));
    }
  }
}

/** Membership after one single-server change, as the core computes it (thesis §4.1). */
export function withChange(config: ConfigState, change: ConfigChange): ConfigState {
  const voters = config.voters.filter((id) => id !== change.node);
  const learners = config.learners.filter((id) => id !== change.node);
  if (change.type === 'add-learner') learners.push(change.node);
  if (change.type === 'promote') voters.push(change.node);
  return { voters, learners, epoch: config.epoch + 1 };
}
