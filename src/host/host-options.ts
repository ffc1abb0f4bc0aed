/**
 * The host's options and their defaults. Each default says where it comes from; each
 * limit exists so that one group or one peer cannot exhaust a process shared by many.
 */
import { RaftError } from '../raft/errors.ts';
import type { NodeId } from '../raft/types.ts';
import type { Clock, StateMachineFactory, Transport } from './interfaces.ts';
import { SYSTEM_CLOCK } from './interfaces.ts';
import type { LogStore } from '../storage/log-store.ts';

/** CurveFS: election timeout 1000 ms = 10 ticks of 100 ms. */
export const DEFAULT_TICK_MS = 100;
export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;
/** An idle group sleeps after three election timeouts: long enough not to flap. */
export const DEFAULT_QUIESCE_ELECTION_MULTIPLE = 3;
/** CurveFS: requests in flight before OVERLOAD. */
export const DEFAULT_MAX_IN_FLIGHT_REQUESTS = 5000;
/** A request waits this long for its outcome (a few election timeouts). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** CurveFS: snapshot every 1800 s ... */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 1800 * 1000;
/** ... and also once this many bytes were applied since the last one, bounding log size and replay time. */
export const DEFAULT_SNAPSHOT_LOG_BYTES = 64 * 1024 * 1024;
/** CurveFS: concurrent snapshot installs per disk. */
export const DEFAULT_MAX_CONCURRENT_SNAPSHOT_INSTALLS = 10;
/** Snapshots being sent at once: each holds a whole file in memory while it streams. */
export const DEFAULT_MAX_CONCURRENT_SNAPSHOT_SENDS = 4;
/** Groups loaded at once at startup (CurveFS loaded serially and took minutes). */
export const DEFAULT_LOAD_CONCURRENCY = 16;
/** Bytes per snapshot chunk (snapshot-chunks.ts). */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export interface RaftHostOptions {
  /** This process's replica id in every group. */
  readonly nodeId: NodeId;
  /** Folder for this host's snapshot files (one subfolder per group). */
  readonly snapshotDir: string;
  /** The opened log store; the host closes it on stop(). */
  readonly logStore: LogStore;
  readonly transport: Transport;
  /** Builds the state machine of each group found on disk at start(). */
  readonly stateMachineFactory: StateMachineFactory;
  readonly clock?: Clock;
  /** Election randomness (the core draws none of its own). */
  readonly random?: () => number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Ticks of idleness before a group sleeps; 0 disables quiescence. Default 3 × electionTicks. */
  readonly quiesceAfterTicks?: number;
  readonly readMode?: 'read-index' | 'lease';
  /** Sync each group-commit batch that holds entries, votes or snapshots (default true). */
  readonly fsync?: boolean;
  readonly maxInFlightRequests?: number;
  readonly requestTimeoutMs?: number;
  readonly snapshotIntervalMs?: number;
  readonly snapshotLogBytes?: number;
  readonly maxConcurrentSnapshotInstalls?: number;
  readonly maxConcurrentSnapshotSends?: number;
  readonly loadConcurrency?: number;
  readonly snapshotChunkBytes?: number;
  /** A peer process unheard for this long is suspected dead; default one election timeout. */
  readonly peerLivenessTimeoutMs?: number;
  /** Forwarded to the core: catch-up margin for promotions. */
  readonly catchUpMarginEntries?: number;
}

export type ResolvedHostOptions = Required<RaftHostOptions>;

export function resolveHostOptions(options: RaftHostOptions): ResolvedHostOptions {
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const electionTicks = options.electionTicks ?? DEFAULT_ELECTION_TICKS;
  const resolved: ResolvedHostOptions = {
    clock: SYSTEM_CLOCK,
    random: Math.random,
    tickMs,
    electionTicks,
    heartbeatTicks: DEFAULT_HEARTBEAT_TICKS,
    quiesceAfterTicks: DEFAULT_QUIESCE_ELECTION_MULTIPLE * electionTicks,
    readMode: 'read-index',
    fsync: true,
    maxInFlightRequests: DEFAULT_MAX_IN_FLIGHT_REQUESTS,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    snapshotIntervalMs: DEFAULT_SNAPSHOT_INTERVAL_MS,
    snapshotLogBytes: DEFAULT_SNAPSHOT_LOG_BYTES,
    maxConcurrentSnapshotInstalls: DEFAULT_MAX_CONCURRENT_SNAPSHOT_INSTALLS,
    maxConcurrentSnapshotSends: DEFAULT_MAX_CONCURRENT_SNAPSHOT_SENDS,
    loadConcurrency: DEFAULT_LOAD_CONCURRENCY,
    snapshotChunkBytes: DEFAULT_SNAPSHOT_CHUNK_BYTES,
    peerLivenessTimeoutMs: tickMs * electionTicks,
    catchUpMarginEntries: 1000,
    ...withoutUndefined(options),
  };
  const positive: Array<keyof ResolvedHostOptions> = ['tickMs', 'maxInFlightRequests', 'requestTimeoutMs', 'snapshotIntervalMs', 'snapshotLogBytes', 'maxConcurrentSnapshotInstalls', 'maxConcurrentSnapshotSends', 'loadConcurrency', 'snapshotChunkBytes', 'peerLivenessTimeoutMs'];
  for (const key of positive) {
    const value = resolved[key];
    if (!(typeof value === 'number' && value > 0)) throw new RaftError('BAD_CONFIG', `host option ${key} must be positive, got ${String(value)}`);
  }
  if (!(Number.isSafeInteger(resolved.nodeId) && resolved.nodeId > 0)) throw new RaftError('BAD_CONFIG', `nodeId must be a positive safe integer, got ${resolved.nodeId}`);
  return resolved;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
