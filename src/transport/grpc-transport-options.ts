/**
 * The gRPC transport's options and their defaults. Each default says where it comes
 * from; each limit exists so that one peer cannot exhaust a process shared by many.
 */
import type { Clock } from '../host/interfaces.ts';
import { SYSTEM_CLOCK } from '../host/interfaces.ts';
import type { NodeId } from '../raft/types.ts';
import { TransportError } from './transport-errors.ts';

/** gRPC's own default maximum message size: a larger batch is split before it is sent. */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Encoded batches waiting for one peer's stream (connecting, or slower than we send).
 * Beyond it the oldest are dropped: Raft resends what matters, and memory stays bounded
 * per peer however many groups talk to it.
 */
export const DEFAULT_MAX_QUEUED_BYTES_PER_PEER = 32 * 1024 * 1024;
/** An empty batch goes to a peer sent nothing else for this long: five per liveness timeout, so one lost keepalive raises no alarm. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 200;
/** A peer unheard (no batch, no ack) for this long is reported unreachable: CurveFS's election timeout. */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 1000;
/**
 * A stream the peer has not taken within this long is abandoned and retried. Longer
 * than the liveness timeout: a cold process may need a while for its first connection
 * (the peer is still reported unreachable after the liveness timeout meanwhile).
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** First wait before re-opening a broken stream; doubled per failure up to the maximum. */
export const DEFAULT_INITIAL_BACKOFF_MS = 100;
export const DEFAULT_MAX_BACKOFF_MS = 2000;
/** CurveFS: concurrent snapshot installs per disk. */
export const DEFAULT_MAX_CONCURRENT_SNAPSHOT_INSTALLS = 10;
/** Largest snapshot chunk accepted: the host cuts 1 MiB chunks; room for a 4 MiB setting. */
export const DEFAULT_MAX_SNAPSHOT_CHUNK_BYTES = 4 * 1024 * 1024;
/** close() waits this long for calls to finish before cutting them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 1000;
/** Below this not even one append of a few entries would fit a batch. */
export const MIN_BATCH_BYTES = 1024;
/** Room for the framing around a batch or chunk payload in gRPC's receive limit. */
export const MESSAGE_FRAMING_ALLOWANCE_BYTES = 64 * 1024;

export interface GrpcTransportOptions {
  /** This process's node id: batches addressed to another id are refused. */
  readonly nodeId: NodeId;
  /** `host:port` to serve on; port 0 picks a free port (see GrpcTransport.port). */
  readonly listenAddress: string;
  /** Known peer processes: node id → `host:port`. Updatable with addPeer/removePeer. */
  readonly peers?: ReadonlyMap<NodeId, string>;
  readonly maxBatchBytes?: number;
  readonly maxQueuedBytesPerPeer?: number;
  readonly keepaliveIntervalMs?: number;
  readonly livenessTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxConcurrentSnapshotInstalls?: number;
  readonly maxSnapshotChunkBytes?: number;
  readonly shutdownGraceMs?: number;
  readonly clock?: Clock;
  /** Jitter of reconnect waits (injectable for reproducible tests). */
  readonly random?: () => number;
}

export type ResolvedGrpcTransportOptions = Required<GrpcTransportOptions>;

const POSITIVE_OPTIONS = [
  'maxBatchBytes',
  'maxQueuedBytesPerPeer',
  'keepaliveIntervalMs',
  'livenessTimeoutMs',
  'connectTimeoutMs',
  'initialBackoffMs',
  'maxBackoffMs',
  'maxConcurrentSnapshotInstalls',
  'maxSnapshotChunkBytes',
  'shutdownGraceMs',
] as const;

export function resolveGrpcTransportOptions(options: GrpcTransportOptions): ResolvedGrpcTransportOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as GrpcTransportOptions;
  const resolved: ResolvedGrpcTransportOptions = {
    peers: new Map(),
    maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
    maxQueuedBytesPerPeer: DEFAULT_MAX_QUEUED_BYTES_PER_PEER,
    keepaliveIntervalMs: DEFAULT_KEEPALIVE_INTERVAL_MS,
    livenessTimeoutMs: DEFAULT_LIVENESS_TIMEOUT_MS,
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    initialBackoffMs: DEFAULT_INITIAL_BACKOFF_MS,
    maxBackoffMs: DEFAULT_MAX_BACKOFF_MS,
    maxConcurrentSnapshotInstalls: DEFAULT_MAX_CONCURRENT_SNAPSHOT_INSTALLS,
    maxSnapshotChunkBytes: DEFAULT_MAX_SNAPSHOT_CHUNK_BYTES,
    shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
    clock: SYSTEM_CLOCK,
    random: Math.random,
    ...defined,
  };
  for (const key of POSITIVE_OPTIONS) {
    const value = resolved[key];
    if (!(Number.isFinite(value) && value > 0)) throw new TransportError('BAD_CONFIG', `transport option ${key} must be positive, got ${String(value)}`);
  }
  assertNodeId(resolved.nodeId, 'nodeId');
  if (resolved.maxBatchBytes < MIN_BATCH_BYTES) {
    throw new TransportError('BAD_CONFIG', `maxBatchBytes must be at least ${MIN_BATCH_BYTES}, got ${resolved.maxBatchBytes}`);
  }
  if (resolved.maxQueuedBytesPerPeer < resolved.maxBatchBytes) {
    throw new TransportError('BAD_CONFIG', `maxQueuedBytesPerPeer (${resolved.maxQueuedBytesPerPeer}) must hold at least one batch of maxBatchBytes (${resolved.maxBatchBytes})`);
  }
  if (resolved.maxBackoffMs < resolved.initialBackoffMs) {
    throw new TransportError('BAD_CONFIG', `maxBackoffMs (${resolved.maxBackoffMs}) is below initialBackoffMs (${resolved.initialBackoffMs})`);
  }
  if (resolved.livenessTimeoutMs <= resolved.keepaliveIntervalMs) {
    throw new TransportError('BAD_CONFIG', `livenessTimeoutMs (${resolved.livenessTimeoutMs}) must exceed keepaliveIntervalMs (${resolved.keepaliveIntervalMs})`);
  }
  assertAddress(resolved.listenAddress);
  for (const [peer, address] of resolved.peers) {
    assertNodeId(peer, 'peer id');
    assertAddress(address);
  }
  return resolved;
}

export function assertNodeId(value: number, what: string): void {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new TransportError('BAD_CONFIG', `${what} must be a positive safe integer, got ${value}`);
}

/** `host:port` (IPv6 hosts in brackets); the port 0..65535. */
export function assertAddress(address: string): void {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(address);
  if (match === null || Number(match[2]) > 65535) throw new TransportError('BAD_CONFIG', `address must be host:port, got "${address}"`);
}
