/**
 * The vocabulary of the Raft core: log entries, messages, hard state, snapshots,
 * configurations, the Ready bundle and the storage interface the core reads from.
 *
 * The core is pure (no timers, no I/O, no randomness of its own): everything here is
 * plain data so that a simulator, a test or the real host can drive it identically.
 */

/** A Raft term (§5.1). A non-negative safe integer. */
export type Term = number;
/** A log index (§5.3); 0 means "before the first entry". A non-negative safe integer. */
export type Index = number;
/** A replica's id inside one group. A positive safe integer; 0 means "none". */
export type NodeId = number;
/** A Raft group (copyset) id, used by hosts and simulators, never by the core itself. */
export type GroupId = number;

export const NO_NODE: NodeId = 0;

export type EntryType = 'normal' | 'config';

/**
 * One log entry. A `normal` entry with empty data is the no-op a new leader appends
 * (§8); a `config` entry carries an encoded {@link ConfigChange} (see config-codec.ts).
 */
export interface Entry {
  readonly term: Term;
  readonly index: Index;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves (§5.1, Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

/** A group's membership. `epoch` counts committed configuration changes. */
export interface ConfigState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly epoch: number;
}

/**
 * A single-server membership change (thesis §4.1). A new peer joins as a learner,
 * catches up, and is then promoted; `remove` drops a voter or learner.
 */
export type ConfigChangeType = 'add-learner' | 'promote' | 'remove';
export interface ConfigChange {
  readonly type: ConfigChangeType;
  readonly node: NodeId;
}

export interface SnapshotMetadata {
  readonly index: Index;
  readonly term: Term;
  readonly config: ConfigState;
}

/**
 * A snapshot as the core sees it. `data` is opaque to the core: the simulator puts the
 * encoded state machine there; the real host puts a small descriptor of a snapshot
 * file and streams the file itself in chunks on its own channel.
 */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export type MessageType =
  | 'append' // AppendEntries (§5.3)
  | 'append-response'
  | 'heartbeat' // an empty AppendEntries carrying only commit (§5.2)
  | 'heartbeat-response'
  | 'pre-vote' // thesis §9.6
  | 'pre-vote-response'
  | 'vote' // RequestVote (§5.2)
  | 'vote-response'
  | 'snapshot' // InstallSnapshot (§7)
  | 'snapshot-response'
  | 'timeout-now'; // leadership transfer (thesis §3.10)

/**
 * A message between two replicas of one group. Fields not meaningful for a type are
 * zero / empty. Conventions (as etcd's raft library):
 * - append: `index`/`logTerm` are prevLogIndex/prevLogTerm, `entries` follow, `commit`.
 * - append-response: `index` is the last matched index on success; on reject, `index`
 *   is the rejected prevLogIndex and `rejectHint`/`logTerm` point at where the
 *   follower's log could match (fast back-off).
 * - vote/pre-vote: `index`/`logTerm` are the candidate's last index/term;
 *   `context` is 'transfer' when the campaign was asked for by the leader.
 * - heartbeat/heartbeat-response: `context` carries a ReadIndex round id.
 * - snapshot: `snapshot` carries metadata and data; snapshot-response `index` is the
 *   snapshot index the follower now has (or `reject`).
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
  readonly logTerm: Term;
  readonly index: Index;
  readonly entries: readonly Entry[];
  readonly commit: Index;
  readonly reject: boolean;
  readonly rejectHint: Index;
  readonly snapshot: Snapshot | null;
  readonly context: string;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** A confirmed linearizable read point: serve `context` once applied >= index. */
export interface ReadState {
  readonly index: Index;
  readonly context: string;
}

/**
 * What the outside must do, in order:
 * 1. persist `snapshot` (if any), then `entries` (they may overwrite a suffix starting
 *    at entries[0].index), then `hardState` (if any) — atomically and durably when
 *    `mustSync`;
 * 2. send `messages` (only after step 1: votes and acknowledgements depend on it; a
 *    leader whose term and vote are already durable may send its appends while its own
 *    entries are being written, §10.2.1 of the thesis, since it counts its own copy only
 *    on advance());
 * 3. install `snapshot` into the state machine, then apply `committedEntries` in order;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly role: Role;
  readonly leader: NodeId;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly mustSync: boolean;
}

/** Per-follower replication state kept by a leader (etcd's Progress). */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';
export interface ProgressStatus {
  readonly match: Index;
  readonly next: Index;
  readonly state: ProgressState;
  readonly learner: boolean;
  readonly recentActive: boolean;
  readonly inflight: number;
  readonly pendingSnapshot: Index;
}

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: Index;
  readonly applied: Index;
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  readonly config: ConfigState;
  readonly leadTransferee: NodeId;
  /** Idle and asleep (no heartbeats or election timer) until a message or wake(). */
  readonly quiesced: boolean;
  /** Only on a leader: each other peer's progress. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

/**
 * The durable log as the core reads it. Implementations: MemoryLogStorage (simulator
 * and the host's in-memory mirror of the level store). All calls are synchronous.
 *
 * Indexes: entries live in [firstIndex(), lastIndex()]; the snapshot covers everything
 * up to firstIndex() - 1, whose term is still answered by term().
 */
export interface LogStorage {
  initialState(): { hardState: HardState; config: ConfigState };
  /** Entries in [lo, hi), at most maxBytes of data (always at least one entry). */
  entries(lo: Index, hi: Index, maxBytes?: number): Entry[];
  /** Term of entry i for i in [firstIndex()-1, lastIndex()]; throws CompactedError below. */
  term(i: Index): Term;
  firstIndex(): Index;
  lastIndex(): Index;
  /** The latest snapshot (to send to a lagging follower). */
  snapshot(): Snapshot;
}

/** The core's options. Every count is in ticks, entries or bytes, as its name says. */
export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: LogStorage;
  /** Returns a float in [0, 1): the injected, seeded source of randomness. */
  readonly random: () => number;
  readonly electionTicks?: number; // default 10
  readonly heartbeatTicks?: number; // default 1
  readonly preVote?: boolean; // default true
  readonly checkQuorum?: boolean; // default true
  readonly readMode?: 'read-index' | 'lease'; // default 'read-index'
  readonly maxMessageBytes?: number; // default 1 MiB
  readonly maxInflightMessages?: number; // default 256
  readonly maxUncommittedBytes?: number; // default 64 MiB
  /** A learner is promoted only when within this many entries of the leader. */
  readonly catchUpMarginEntries?: number; // default 1000
  /**
   * An idle leader whose followers are caught up puts the group to sleep after this
   * many ticks (0: never). The host must then wake() followers when it suspects the
   * leader's process, since their election timers stop. Must exceed electionTicks.
   */
  readonly quiesceAfterTicks?: number; // default 0
  /** The applied index to start from (normally the snapshot's index). */
  readonly applied?: Index;
}
