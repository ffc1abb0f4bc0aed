import { decodeConfigChange, encodeConfigChange } from './config-codec.ts';
import { InvariantError, NotLeaderError, RaftError, assertIndex, invariant } from './errors.ts';
import { isLeaderMessage, newMessage, voteResponseType } from './messages.ts';
import { Progress } from './progress.ts';
import { committedIndex, majority, voteOutcome } from './quorum.ts';
import { RaftLog } from './raft-log.ts';
import type {
  ConfigChange,
  ConfigState,
  Entry,
  HardState,
  Index,
  Message,
  NodeId,
  ProgressStatus,
  RaftConfig,
  ReadState,
  Ready,
  Role,
  Snapshot,
  Status,
  Term,
} from './types.ts';

/** Defaults; each limit exists so one group cannot exhaust a process shared by thousands. */
export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;
/** Payload bytes per append message: keeps one message well under gRPC's 4 MiB default. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Append messages in flight per follower: bounds memory per follower and pipelining depth. */
export const DEFAULT_MAX_INFLIGHT_MESSAGES = 256;
/** Bytes proposed but not committed: a leader cut off from its quorum stops accepting. */
export const DEFAULT_MAX_UNCOMMITTED_BYTES = 64 * 1024 * 1024;
/** CurveFS's catch-up margin before a new peer may vote. */
export const DEFAULT_CATCH_UP_MARGIN_ENTRIES = 1000;
/** Ticks of clock drift a lease tolerates between replicas (thesis §6.4.1). */
export const DEFAULT_LEASE_DRIFT_TICKS = 1;
/** Context of the heartbeat by which an idle leader puts its followers to sleep. */
export const QUIESCE_CONTEXT = 'quiesce';
/** Bytes of committed entries handed out per Ready: bounds one apply batch. */
const MAX_APPLY_BYTES_PER_READY = 64 * 1024 * 1024;
/** Inflight bytes per follower, beyond the message count. */
const MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;

const EMPTY_DATA = new Uint8Array(0);

type CampaignKind = 'pre-election' | 'election' | 'transfer';

interface ReadRound {
  readonly id: string;
  readonly index: Index;
  readonly contexts: string[];
  readonly acks: Set<NodeId>;
}

interface OutstandingReady {
  readonly lastEntry: Entry | null;
  readonly snapshotIndex: Index;
  readonly lastCommitted: Index;
}

/**
 * One replica of one Raft group: a pure, synchronous state machine (etcd raft's shape).
 * Inputs are tick(), step(), propose(), readIndex() and the membership/leadership calls;
 * the output is a Ready, confirmed with advance(). Nothing here reads a clock, does I/O
 * or draws randomness other than through `config.random`.
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly random: () => number;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly readMode: 'read-index' | 'lease';
  private readonly maxMessageBytes: number;
  private readonly maxInflightMessages: number;
  private readonly maxUncommittedBytes: number;
  private readonly catchUpMarginEntries: number;
  private readonly leaseTicks: number;
  private readonly quiesceAfterTicks: number;

  private readonly log: RaftLog;
  private term: Term = 0;
  private vote: NodeId = 0;
  private leader: NodeId = 0;
  private role: Role = 'follower';
  private config: ConfigState;

  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Ticks since this node started: the leader's clock for leases. */
  private tickCount = 0;
  /** Idle: no heartbeats, no election timer, until a message, a proposal or wake(). */
  private quiesced = false;
  /** Leader: ticks without proposals or reads (quiescence). */
  private idleTicks = 0;
  private leadTransferee: NodeId = 0;
  /** Index of the newest config entry in the log not yet handed out for apply. */
  private pendingConfigIndex: Index = 0;
  private uncommittedBytes = 0;
  /** Highest index handed to the state machine (in a Ready). */
  private applying: Index;

  private outbox: Message[] = [];
  private readStates: ReadState[] = [];
  private readQueue: string[] = [];
  private readRounds: ReadRound[] = [];
  private readRoundSequence = 0;
  private replicationDirty = false;
  private prevHardState: HardState;
  private outstanding: OutstandingReady | null = null;

  private tickHandler: () => void = () => this.tickElection();
  private stepHandler: (m: Message) => void = (m) => this.stepFollower(m);

  constructor(config: RaftConfig) {
    this.id = config.id;
    if (!Number.isSafeInteger(config.id) || config.id <= 0) throw new RaftError('BAD_CONFIG', `node id must be a positive safe integer, got ${config.id}`);
    this.random = config.random;
    this.electionTicks = config.electionTicks ?? DEFAULT_ELECTION_TICKS;
    this.heartbeatTicks = config.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS;
    if (!(this.heartbeatTicks >= 1 && this.electionTicks > this.heartbeatTicks)) {
      throw new RaftError('BAD_CONFIG', `need 1 <= heartbeatTicks (${this.heartbeatTicks}) < electionTicks (${this.electionTicks})`);
    }
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.readMode = config.readMode ?? 'read-index';
    if (this.readMode === 'lease' && !this.checkQuorum) {
      throw new RaftError('BAD_CONFIG', 'lease reads need checkQuorum (thesis §6.4.1)');
    }
    this.leaseTicks = this.electionTicks - 1 - DEFAULT_LEASE_DRIFT_TICKS;
    if (this.readMode === 'lease' && this.leaseTicks < 1) {
      throw new RaftError('BAD_CONFIG', `electionTicks ${this.electionTicks} leaves no room for a lease`);
    }
    this.maxMessageBytes = config.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxInflightMessages = config.maxInflightMessages ?? DEFAULT_MAX_INFLIGHT_MESSAGES;
    this.maxUncommittedBytes = config.maxUncommittedBytes ?? DEFAULT_MAX_UNCOMMITTED_BYTES;
    this.catchUpMarginEntries = config.catchUpMarginEntries ?? DEFAULT_CATCH_UP_MARGIN_ENTRIES;
    this.quiesceAfterTicks = config.quiesceAfterTicks ?? 0;
    if (!(Number.isSafeInteger(this.quiesceAfterTicks) && (this.quiesceAfterTicks === 0 || this.quiesceAfterTicks > this.electionTicks))) {
      throw new RaftError('BAD_CONFIG', `quiesceAfterTicks must be 0 (off) or more than electionTicks, got ${this.quiesceAfterTicks}`);
    }

    const { hardState, config: membership } = config.storage.initialState();
    this.log = new RaftLog(config.storage, hardState.commit, config.applied ?? 0);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.config = membership;
    this.prevHardState = hardState;
    this.applying = this.log.applied;
    // The storage's config is the snapshot's: replay only the changes applied after it.
    this.replayAppliedConfigChanges(config.storage.snapshot().metadata.index + 1, this.log.applied);
    this.becomeFollower(this.term, 0);
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.tickCount++;
    this.tickHandler();
  }

  step(m: Message): void {
    invariant(Number.isSafeInteger(m.term) && m.term >= 0, 'message term must be a safe integer');
    if (m.to !== this.id || m.from === this.id || m.from <= 0) return;
    if (m.term === 0) return; // every message between replicas carries a term >= 1
    if (this.quiesced && !(m.type === 'heartbeat' && m.context === QUIESCE_CONTEXT)) this.wake();
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        // Thesis §9.6 / §4.2.3: a replica that heard from a leader within the minimum
        // election timeout ignores vote requests, unless the leader asked for them.
        const inLease = this.checkQuorum && this.leader !== 0 && this.electionElapsed < this.electionTicks;
        if (inLease && m.context !== 'transfer') return;
      }
      if (m.type === 'pre-vote') {
        // A pre-vote never changes our term (thesis §9.6).
      } else if (m.type === 'pre-vote-response' && !m.reject) {
        // Granted pre-votes carry the future term the candidate asked for.
      } else {
        this.becomeFollower(m.term, isLeaderMessage(m) ? m.from : 0);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // Tell a stale leader about the newer term, so it steps down instead of being
        // ignored forever (its followers would otherwise never hear of it).
        this.send(newMessage({ type: 'append-response', from: this.id, to: m.from, term: this.term }));
      } else if (m.type === 'pre-vote') {
        this.send(newMessage({ type: 'pre-vote-response', from: this.id, to: m.from, term: this.term, reject: true }));
      }
      return;
    }
    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVoteRequest(m);
      return;
    }
    this.stepHandler(m);
  }

  propose(data: Uint8Array): { index: Index; term: Term } {
    this.checkCanPropose();
    this.noteActivity();
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.length > this.maxUncommittedBytes) {
      throw new RaftError('PROPOSAL_DROPPED', `more than ${this.maxUncommittedBytes} bytes proposed and not committed`);
    }
    return this.appendOwnEntry('normal', data);
  }

  proposeConfigChange(change: ConfigChange): { index: Index; term: Term } {
    this.checkCanPropose();
    // Thesis §4.1 (and the single-server change bug): no change before the leader has
    // committed an entry of its own term, and at most one change in flight.
    if (!this.committedInCurrentTerm()) {
      throw new RaftError('CONFIG_CHANGE_REFUSED', 'the leader has not committed an entry in its term yet');
    }
    if (this.pendingConfigIndex > this.applying) {
      throw new RaftError('CONFIG_CHANGE_REFUSED', `configuration change at ${this.pendingConfigIndex} is still in flight`);
    }
    this.validateConfigChange(change);
    this.noteActivity();
    const result = this.appendOwnEntry('config', encodeConfigChange(change));
    this.pendingConfigIndex = result.index;
    return result;
  }

  campaign(): void {
    if (this.role === 'leader') return;
    this.startCampaign(this.preVote ? 'pre-election' : 'election');
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leader);
    if (to === this.id) return;
    if (!this.config.voters.includes(to)) throw new RaftError('TRANSFER_REFUSED', `node ${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.noteActivity();
    this.leadTransferee = to;
    // Thesis §3.10: the transfer must complete within an election timeout.
    this.electionElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.replicationDirty = true;
  }

  readIndex(context: string): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leader);
    this.noteActivity();
    this.readQueue.push(context);
  }

  /**
   * Leaves quiescence. A host calls this on followers when it suspects the leader's
   * process (its connection dropped or it stopped answering host-level heartbeats),
   * since a quiesced follower's election timer does not run.
   */
  wake(): void {
    if (!this.quiesced) return;
    this.quiesced = false;
    this.idleTicks = 0;
    this.electionElapsed = 0;
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = true;
      this.heartbeatElapsed = this.heartbeatTicks;
    }
  }

  reportUnreachable(peer: NodeId): void {
    const pr = this.role === 'leader' ? this.progress.get(peer) : undefined;
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    const pr = this.role === 'leader' ? this.progress.get(peer) : undefined;
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (or the next heartbeat) before probing.
    pr.probeSent = true;
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.log.hasUnstable() ||
      this.log.committed > this.applying ||
      this.term !== this.prevHardState.term ||
      this.vote !== this.prevHardState.vote ||
      this.log.committed !== this.prevHardState.commit ||
      (this.role === 'leader' && (this.replicationDirty || (this.readQueue.length > 0 && this.committedInCurrentTerm())))
    );
  }

  ready(): Ready {
    invariant(this.outstanding === null, 'ready() called again before advance()');
    if (this.role === 'leader') {
      this.flushReads();
      this.flushAppends();
    }
    const unstable = this.log.unstable();
    const snapshot = unstable.snapshot;
    if (snapshot !== null && snapshot.metadata.index > this.applying) this.applying = snapshot.metadata.index;
    const committedEntries = this.log.nextCommittedEntries(this.applying, MAX_APPLY_BYTES_PER_READY);
    for (const e of committedEntries) this.handOut(e);
    const hs = this.hardState();
    const hardStateChanged = !sameHardState(hs, this.prevHardState);
    const entries = unstable.entries.slice();
    const ready: Ready = {
      role: this.role,
      leader: this.leader,
      hardState: hardStateChanged ? hs : null,
      entries,
      snapshot,
      committedEntries,
      messages: this.outbox,
      readStates: this.readStates,
      mustSync: snapshot !== null || entries.length > 0 || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote,
    };
    this.outbox = [];
    this.readStates = [];
    this.prevHardState = hs;
    this.outstanding = {
      lastEntry: entries.length > 0 ? entries[entries.length - 1]! : null,
      snapshotIndex: snapshot?.metadata.index ?? 0,
      lastCommitted: committedEntries.length > 0 ? committedEntries[committedEntries.length - 1]!.index : 0,
    };
    return ready;
  }

  /** Confirms the last Ready: its entries and state are durable and its entries applied. */
  advance(ready: Ready): void {
    const done = this.outstanding;
    invariant(done !== null, 'advance() without an outstanding ready()');
    invariant(done.lastCommitted === (ready.committedEntries.at(-1)?.index ?? 0), 'advance() must be given the last Ready');
    this.outstanding = null;
    if (done.snapshotIndex > 0) {
      this.log.stableSnapshotTo(done.snapshotIndex);
      if (done.snapshotIndex > this.log.applied) this.log.applied = done.snapshotIndex;
    }
    if (done.lastEntry !== null) {
      this.log.stableTo(done.lastEntry.index, done.lastEntry.term);
      // The leader counts its own copy only once it is durable (§5.3 with parallel writes).
      if (this.role === 'leader' && this.log.matchTerm(done.lastEntry.index, done.lastEntry.term)) {
        this.progress.get(this.id)?.maybeUpdate(done.lastEntry.index);
        if (this.maybeCommit()) this.replicationDirty = true;
      }
    }
    if (done.lastCommitted > 0) this.log.appliedTo(done.lastCommitted);
  }

  /** The current term while this node leads, else 0 (a hot-path read: status() builds a progress map). */
  leaderTerm(): Term {
    return this.role === 'leader' ? this.term : 0;
  }

  /** The node this one believes leads (0: none known). */
  knownLeader(): NodeId {
    return this.leader;
  }

  /** The last index of the log, proposals appended by propose() included. */
  lastIndex(): Index {
    return this.log.lastIndex();
  }

  status(): Status {
    const progress = new Map<NodeId, ProgressStatus>();
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) if (id !== this.id) progress.set(id, pr.status());
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      config: this.config,
      leadTransferee: this.leadTransferee,
      quiesced: this.quiesced,
      progress,
    };
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: Term, leader: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
    this.tickHandler = () => this.tickElection();
    this.stepHandler = (m) => this.stepFollower(m);
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    // Thesis §9.6: a pre-candidate keeps its term and vote.
    this.votes = new Map();
    this.role = 'pre-candidate';
    this.leader = 0;
    this.tickHandler = () => this.tickElection();
    this.stepHandler = (m) => this.stepCandidate(m);
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id; // §5.2: vote for self, persisted with the new term
    this.role = 'candidate';
    this.tickHandler = () => this.tickElection();
    this.stepHandler = (m) => this.stepCandidate(m);
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', () => `only a candidate can become leader, not a ${this.role}`);
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    this.tickHandler = () => this.tickLeader();
    this.stepHandler = (m) => this.stepLeader(m);
    const lastIndex = this.log.lastIndex();
    for (const id of this.members()) {
      const pr = this.newProgress(id, lastIndex + 1);
      if (id === this.id) {
        pr.match = this.stableLastIndex();
        pr.becomeReplicate();
        pr.recentActive = true;
      }
      this.progress.set(id, pr);
    }
    // Any config entry not yet applied may be pending: forbid a second one until then.
    this.pendingConfigIndex = lastIndex;
    // §8: a no-op in the new term lets entries of earlier terms commit (Figure 8).
    this.appendOwnEntry('normal', EMPTY_DATA);
  }

  private reset(term: Term): void {
    if (term !== this.term) {
      invariant(term > this.term, () => `term must not go backwards (${this.term} -> ${term}) (§5.1)`);
      this.term = term;
      this.vote = 0; // a new term has no vote yet; the same term keeps it (§5.2)
    }
    this.leader = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + Math.floor(this.random() * this.electionTicks);
    this.votes = new Map();
    this.progress = new Map();
    this.leadTransferee = 0;
    this.readQueue = [];
    this.readRounds = [];
    this.uncommittedBytes = 0;
    this.replicationDirty = false;
    this.quiesced = false;
    this.idleTicks = 0;
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    if (this.quiesced) return;
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startCampaign(this.preVote ? 'pre-election' : 'election');
    }
  }

  private tickLeader(): void {
    if (this.quiesced) return;
    this.idleTicks++;
    if (this.maybeQuiesce()) return;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        // Thesis §6.2: a leader that has not heard from a quorum within an election
        // timeout steps down, so clients can find the real leader.
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, 0);
          return;
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
      }
      if (this.leadTransferee !== 0) this.leadTransferee = 0; // thesis §3.10: abort a slow transfer
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat('');
    }
  }

  // ---------------------------------------------------------------- elections

  private startCampaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let voteType: 'pre-vote' | 'vote';
    let voteTerm: Term;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = 'pre-vote';
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = 'vote';
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.tallyVotes()) return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.config.voters) {
      if (id === this.id) continue;
      this.send(
        newMessage({
          type: voteType,
          from: this.id,
          to: id,
          term: voteTerm,
          index: lastIndex,
          logTerm: lastTerm,
          context: kind === 'transfer' ? 'transfer' : '',
        }),
      );
    }
  }

  /** Applies the vote outcome; returns true if the campaign ended. */
  private tallyVotes(): boolean {
    const outcome = voteOutcome(this.config.voters, this.votes);
    if (outcome === 'won') {
      if (this.role === 'pre-candidate') this.startCampaign('election');
      else this.becomeLeader();
      return true;
    }
    if (outcome === 'lost') {
      this.becomeFollower(this.term, 0);
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: Message): void {
    // §5.2: at most one vote per term; §5.4.1: only for a log at least as up to date.
    const canVote =
      this.vote === m.from || (this.vote === 0 && this.leader === 0) || (m.type === 'pre-vote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send(newMessage({ type: voteResponseType(m), from: this.id, to: m.from, term: m.term }));
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(newMessage({ type: voteResponseType(m), from: this.id, to: m.from, term: this.term, reject: true }));
    }
  }

  // ---------------------------------------------------------------- step by role

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        break;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        break;
      case 'timeout-now':
        // Thesis §3.10: the leader asks us to start an election at once.
        this.startCampaign('transfer');
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // §5.2: a leader of our term exists; recognise it.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case 'vote-response':
      case 'pre-vote-response': {
        const expected = this.role === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
        if (m.type !== expected) break;
        if (this.config.voters.includes(m.from)) this.votes.set(m.from, !m.reject);
        this.tallyVotes();
        break;
      }
      default:
        break;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // §5.2 Election Safety: at most one leader per term.
        throw new InvariantError(`two leaders in term ${this.term}: ${this.id} and ${m.from} (§5.2)`);
      case 'append-response':
        if (pr !== undefined) this.handleAppendResponse(m, pr);
        break;
      case 'heartbeat-response':
        if (pr !== undefined) this.handleHeartbeatResponse(m, pr);
        break;
      case 'snapshot-response':
        this.reportSnapshot(m.from, !m.reject);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      // Already committed here: acknowledge what we have so the leader moves on.
      this.respondAppend(m.from, this.log.committed);
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.respondAppend(m.from, lastNew);
      return;
    }
    // §5.3 with the fast back-off optimization: point the leader at the last index
    // whose term is <= the leader's prevLogTerm; everything after cannot match.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(
      newMessage({
        type: 'append-response',
        from: this.id,
        to: m.from,
        term: this.term,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: Math.max(0, this.log.termOrNone(hintIndex)),
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    // The leader sends min(match, commit), which our log is known to hold.
    this.log.commitTo(m.commit);
    if (m.context === QUIESCE_CONTEXT) {
      this.quiesced = true;
      return;
    }
    this.send(
      newMessage({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.term, index: m.index, context: m.context }),
    );
  }

  private handleSnapshot(m: Message): void {
    const snapshot = m.snapshot;
    if (snapshot === null) return;
    if (this.restore(snapshot)) this.respondAppend(m.from, this.log.lastIndex());
    else this.respondAppend(m.from, this.log.committed);
  }

  /** §7: install a snapshot unless it is stale or our log already contains it. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term } = snapshot.metadata;
    assertIndex(index, 'snapshot index');
    // A stale snapshot must not truncate entries already matched (raft.md bug list).
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // Our log holds the snapshot's last entry: keep the suffix, just commit.
      this.log.commitTo(index);
      return false;
    }
    // Otherwise the whole log goes, including any conflicting entry at `index`.
    this.log.restore(snapshot);
    this.config = snapshot.metadata.config;
    return true;
  }

  private respondAppend(to: NodeId, index: Index): void {
    this.send(newMessage({ type: 'append-response', from: this.id, to, term: this.term, index }));
  }

  // ---------------------------------------------------------------- leader handlers

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
      if (pr.maybeDecreaseTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.replicationDirty = true;
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (pr.state === 'replicate') pr.inflights.freeTo(m.index);
      if (wasPaused && !pr.isPaused()) this.replicationDirty = true;
      return;
    }
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeTo(m.index);
    }
    this.maybeCommit();
    this.replicationDirty = true;
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (m.index > pr.ackedHeartbeatTick) pr.ackedHeartbeatTick = m.index;
    // §5.3: the leader retries until every follower stores every entry. A follower that
    // made no progress over a heartbeat interval may have lost an append: free a slot of
    // a full window and send from `next` even if empty, so a mismatch is found and fixed.
    const lastIndex = this.log.lastIndex();
    if (pr.match < lastIndex && pr.match === pr.matchAtLastHeartbeat) {
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
      pr.forceSend = true;
    }
    pr.matchAtLastHeartbeat = pr.match;
    if (pr.match < lastIndex || pr.sentCommit < this.log.committed) this.replicationDirty = true;
    if (m.context !== '' && m.context !== QUIESCE_CONTEXT && this.config.voters.includes(m.from)) this.ackReadRound(m.context, m.from);
  }

  /** §5.3/§5.4.2: commit the highest index on a majority, if it is of the current term. */
  private maybeCommit(): boolean {
    const index = committedIndex(this.config.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (index <= this.log.committed) return false;
    // Figure 8: never commit an entry of an earlier term by counting replicas.
    if (this.log.termOrNone(index) !== this.term) return false;
    this.log.commitTo(index);
    return true;
  }

  private flushAppends(): void {
    if (!this.replicationDirty) return;
    this.replicationDirty = false;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.maybeSendAppend(id, pr, pr.forceSend || pr.sentCommit < this.log.committed);
      pr.forceSend = false;
      while (pr.state === 'replicate' && !pr.isPaused() && pr.next <= this.log.lastIndex()) {
        if (!this.maybeSendAppend(id, pr, false)) break;
      }
    }
  }

  /** Sends entries from pr.next (or a snapshot if they are compacted); false if nothing sent. */
  private maybeSendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.termOrNone(prevIndex);
    if (prevTerm < 0) return this.sendSnapshot(to, pr);
    const lastIndex = this.log.lastIndex();
    const entries = pr.next <= lastIndex ? this.log.slice(pr.next, lastIndex + 1, this.maxMessageBytes) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.send(newMessage({ type: 'append', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit }));
    pr.sentCommit = commit;
    if (entries.length > 0) {
      let bytes = 0;
      for (const e of entries) bytes += e.data.length;
      pr.sentEntries(entries[entries.length - 1]!.index, bytes);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Only to a follower heard from recently: a snapshot is expensive (etcd's rule).
    if (!pr.recentActive) return false;
    const snapshot = this.log.storage.snapshot();
    invariant(snapshot.metadata.index >= this.log.firstIndex() - 1, 'the snapshot must cover every compacted entry (§7)');
    this.send(newMessage({ type: 'snapshot', from: this.id, to, term: this.term, snapshot }));
    pr.becomeSnapshot(snapshot.metadata.index);
    return true;
  }

  private broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send(newMessage({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, index: this.tickCount, context }));
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: 'timeout-now', from: this.id, to, term: this.term }));
  }

  // ---------------------------------------------------------------- reads

  /** Starts one ReadIndex round for every queued read (thesis §6.4), or serves by lease. */
  private flushReads(): void {
    if (this.readQueue.length === 0) return;
    // Thesis §6.4 step 1: the commit index is only known once the no-op has committed.
    if (!this.committedInCurrentTerm()) return;
    const index = this.log.committed;
    const contexts = this.readQueue;
    this.readQueue = [];
    const alone = this.config.voters.length === 1 && this.config.voters[0] === this.id;
    if (alone || (this.readMode === 'lease' && this.leaseValid())) {
      for (const context of contexts) this.readStates.push({ index, context });
      return;
    }
    const round: ReadRound = { id: `${this.term}.${++this.readRoundSequence}`, index, contexts, acks: new Set([this.id]) };
    this.readRounds.push(round);
    this.broadcastHeartbeat(round.id);
  }

  private ackReadRound(roundId: string, from: NodeId): void {
    const at = this.readRounds.findIndex((r) => r.id === roundId);
    if (at < 0) return;
    const round = this.readRounds[at]!;
    round.acks.add(from);
    let acked = 0;
    for (const id of this.config.voters) if (round.acks.has(id)) acked++;
    if (acked < majority(this.config.voters.length)) return;
    // A quorum confirmed leadership after this round started: it and all earlier rounds hold.
    for (const r of this.readRounds.splice(0, at + 1)) {
      for (const context of r.contexts) this.readStates.push({ index: r.index, context });
    }
  }

  /**
   * Thesis §6.4.1: a quorum acknowledged a heartbeat sent at tick T, and none of them
   * will vote for another candidate before T + electionTicks of their clocks.
   */
  private leaseValid(): boolean {
    if (!this.checkQuorum || this.leadTransferee !== 0 || this.quiesced) return false;
    const sentTicks = this.config.voters.map((id) => (id === this.id ? this.tickCount : (this.progress.get(id)?.ackedHeartbeatTick ?? -1)));
    sentTicks.sort((a, b) => b - a);
    const quorumTick = sentTicks[majority(sentTicks.length) - 1]!;
    return quorumTick >= 0 && this.tickCount < quorumTick + this.leaseTicks;
  }

  // ---------------------------------------------------------------- membership

  private validateConfigChange(change: ConfigChange): void {
    const { voters, learners } = this.config;
    assertIndex(change.node, 'config change node');
    const refuse = (why: string): never => {
      throw new RaftError('CONFIG_CHANGE_REFUSED', `${change.type} ${change.node}: ${why}`);
    };
    if (change.node <= 0) refuse('node ids are positive');
    switch (change.type) {
      case 'add-learner':
        if (voters.includes(change.node) || learners.includes(change.node)) refuse('already a member');
        break;
      case 'promote': {
        if (!learners.includes(change.node)) refuse('not a learner');
        const pr = this.progress.get(change.node);
        // A learner votes only once it has caught up (thesis §4.2.1).
        if (pr === undefined || pr.match + this.catchUpMarginEntries < this.log.lastIndex()) refuse('not caught up yet');
        break;
      }
      case 'remove':
        if (!voters.includes(change.node) && !learners.includes(change.node)) refuse('not a member');
        if (voters.length === 1 && voters[0] === change.node) refuse('cannot remove the last voter');
        break;
    }
  }

  /** A committed config entry is being handed to the state machine: it takes effect now. */
  private applyConfigChange(change: ConfigChange): void {
    const voters = this.config.voters.filter((id) => id !== change.node);
    const learners = this.config.learners.filter((id) => id !== change.node);
    if (change.type === 'add-learner') learners.push(change.node);
    if (change.type === 'promote') voters.push(change.node);
    this.config = { voters, learners, epoch: this.config.epoch + 1 };
    if (this.role !== 'leader') return;
    if (change.type === 'remove' && change.node === this.id) {
      // A removed leader steps down and, no longer a voter, never campaigns again.
      this.becomeFollower(this.term, 0);
      return;
    }
    if (change.type === 'remove') this.progress.delete(change.node);
    if (change.type === 'add-learner') this.progress.set(change.node, this.newProgress(change.node, this.log.lastIndex() + 1));
    if (change.type === 'promote') {
      const pr = this.progress.get(change.node);
      if (pr !== undefined) pr.learner = false;
    }
    if (this.leadTransferee === change.node && change.type === 'remove') this.leadTransferee = 0;
    this.maybeCommit();
    this.replicationDirty = true;
  }

  private replayAppliedConfigChanges(firstIndex: Index, applied: Index): void {
    if (applied < firstIndex) return;
    for (const e of this.log.slice(firstIndex, applied + 1)) {
      if (e.type === 'config') this.applyConfigChange(decodeConfigChange(e.data));
    }
  }

  // ---------------------------------------------------------------- helpers

  private handOut(e: Entry): void {
    invariant(e.index === this.applying + 1, () => `entry ${e.index} handed out after ${this.applying} (entries apply in order)`);
    this.applying = e.index;
    if (e.type === 'config') this.applyConfigChange(decodeConfigChange(e.data));
    if (this.role === 'leader' && e.term === this.term) this.uncommittedBytes = Math.max(0, this.uncommittedBytes - e.data.length);
  }

  private appendOwnEntry(type: Entry['type'], data: Uint8Array): { index: Index; term: Term } {
    const index = this.log.lastIndex() + 1;
    this.log.append([{ term: this.term, index, type, data }]);
    this.uncommittedBytes += data.length;
    this.replicationDirty = true;
    return { index, term: this.term };
  }

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leader);
    if (this.leadTransferee !== 0) {
      throw new RaftError('PROPOSAL_DROPPED', `leadership is being transferred to ${this.leadTransferee}`);
    }
  }

  private committedInCurrentTerm(): boolean {
    return this.log.termOrNone(this.log.committed) === this.term;
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.config.voters) {
      if (id === this.id || this.progress.get(id)?.recentActive) active++;
    }
    return active >= majority(this.config.voters.length);
  }

  private promotable(): boolean {
    return this.config.voters.includes(this.id);
  }

  private members(): NodeId[] {
    return [...this.config.voters, ...this.config.learners];
  }

  private newProgress(id: NodeId, next: Index): Progress {
    return new Progress(next, this.config.learners.includes(id), this.maxInflightMessages, MAX_INFLIGHT_BYTES);
  }

  /** The last index known durable here (entries handed out in a Ready not yet advanced are not). */
  private stableLastIndex(): Index {
    const { snapshot, entries } = this.log.unstable();
    if (snapshot !== null) return 0;
    if (entries.length > 0) return entries[0]!.index - 1;
    return this.log.lastIndex();
  }

  private noteActivity(): void {
    this.idleTicks = 0;
    if (this.quiesced) this.wake();
  }

  /**
   * An idle leader whose followers hold its whole log and commit index stops sending
   * heartbeats, and tells them to stop their election timers: thousands of idle groups
   * then cost almost nothing. Lease reads are not served while quiesced (no fresh acks).
   */
  private maybeQuiesce(): boolean {
    if (this.quiesceAfterTicks === 0 || this.idleTicks < this.quiesceAfterTicks) return false;
    if (this.leadTransferee !== 0 || this.readRounds.length > 0 || this.readQueue.length > 0) return false;
    const lastIndex = this.log.lastIndex();
    if (this.log.committed !== lastIndex) return false;
    for (const [id, pr] of this.progress) {
      if (id !== this.id && (pr.match !== lastIndex || !pr.recentActive)) return false;
    }
    this.quiesced = true;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send(newMessage({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: this.log.committed, index: this.tickCount, context: QUIESCE_CONTEXT }));
      pr.sentCommit = this.log.committed;
    }
    return true;
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private send(m: Message): void {
    this.outbox.push(m);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
