/**
 * The host's plug-in interfaces, apart from any implementation (dragonboat keeps its
 * plugin interfaces apart from its internals the same way): the state machine a group
 * replicates, the transport that carries messages between host processes, and the
 * clock. Implementations: test/host's KV machine and the metastore; InMemoryTransport
 * here and the gRPC transport in src/transport; SYSTEM_CLOCK.
 *
 * Addressing: a host process has one NodeId, and it is the replica id of that process
 * in every group it hosts. A "peer" is therefore both a replica and a process.
 */
import type { ConfigState, Entry, GroupId, Index, Message, NodeId, Term } from '../raft/types.ts';
import type { SnapshotChunk } from '../transport/snapshot-chunks.ts';

// ---------------------------------------------------------------------------------------
// State machine

/** Where and as of what a snapshot is to be written. */
export interface SnapshotTarget {
  /** The file to write (temporary name, fsync, rename, folder fsync: snapshot-file.ts does all). */
  readonly path: string;
  /** The applied index at the moment of the call: the file must hold exactly the state after it. */
  readonly index: Index;
  /** Term of the entry at `index`, and the membership as of `index`, to record in the file. */
  readonly term: Term;
  readonly config: ConfigState;
}

/** A published snapshot file to load (on restart, or one received from a leader). */
export interface SnapshotSource {
  readonly path: string;
  readonly index: Index;
  readonly term: Term;
  readonly config: ConfigState;
}

/**
 * The replicated state of one group. Every replica applies the same entries in the same
 * order; apply never validates and never fails (architecture.md, decision 2).
 */
export interface StateMachine {
  /**
   * Applies committed entries, in log order, each exactly once. `config` entries and
   * empty `normal` entries (a new leader's no-op) change nothing but still advance the
   * applied index, so that a snapshot taken afterwards is at the right index.
   */
  apply(entries: readonly Entry[]): void;
  /** The index of the last entry applied (or of the snapshot loaded). */
  appliedIndex(): Index;
  /**
   * Writes the state at exactly `target.index`, which is the applied index when this is
   * called: the view must be captured before this returns its promise, and applies may
   * continue while the file is written (decision 3). Resolves once the file is published.
   */
  takeSnapshot(target: SnapshotTarget): Promise<void>;
  /** Replaces the whole state by a snapshot file's (no stale key survives); applied becomes its index. */
  restoreSnapshot(source: SnapshotSource): Promise<void>;
}

/** Builds the state machine of a group found on disk at startup (empty: restore or apply fills it). */
export type StateMachineFactory = (groupId: GroupId) => StateMachine;

// ---------------------------------------------------------------------------------------
// Transport

/** One Raft message of one group. */
export interface Envelope {
  readonly group: GroupId;
  readonly message: Message;
}

/** What a transport delivers to its host. */
export interface TransportHandler {
  /**
   * Messages from the host process `from`, in the order it sent them. An empty batch is
   * a keepalive: the peer process is alive (quiesced groups rely on it).
   */
  receive(from: NodeId, envelopes: readonly Envelope[]): void;
  /**
   * One whole snapshot transfer from `from`: resolves once the snapshot is stored and
   * handed to its group, rejects if refused (too many installs, bad chunk, no group).
   */
  receiveSnapshot(from: NodeId, chunks: AsyncIterable<SnapshotChunk>): Promise<void>;
  /** The connection to `peer` failed or timed out: its groups' leaders may be gone. */
  peerUnreachable(peer: NodeId): void;
}

/**
 * Carries messages between host processes. Best effort: a message may be lost (Raft
 * retries), but messages to one peer that arrive do so in the order sent (one stream per
 * peer). Implementations: InMemoryTransport (tests, simulations), the gRPC transport.
 */
export interface Transport {
  /** Starts delivering to `handler`. Called once, before any send. */
  listen(handler: TransportHandler): void;
  /**
   * Sends one batch (all groups' messages to `to` of one Ready round; empty = keepalive).
   * Never throws for a dead peer: it reports `peerUnreachable` instead.
   */
  send(to: NodeId, envelopes: readonly Envelope[]): void;
  /**
   * Streams one snapshot (chunks from splitSnapshot) on its own channel; resolves when
   * the receiver has accepted it (its handler's receiveSnapshot resolved), rejects otherwise.
   */
  sendSnapshot(to: NodeId, chunks: AsyncIterable<SnapshotChunk> | Iterable<SnapshotChunk>): Promise<void>;
  /** Stops sending and delivering. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Clock

/** Milliseconds for deadlines, ages and liveness; tests may inject their own. */
export interface Clock {
  now(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => performance.now() };
