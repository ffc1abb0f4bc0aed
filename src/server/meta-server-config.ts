/**
 * The MetaServer's configuration: what a user passes, its validation (a typed
 * ConfigError with a stable code and a one-line message), and the defaults, each with
 * its source (curve-facts.md where CurveFS has one).
 */
import { DEFAULT_ELECTION_TICKS, DEFAULT_MAX_IN_FLIGHT_REQUESTS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_SNAPSHOT_INTERVAL_MS, DEFAULT_SNAPSHOT_LOG_BYTES, DEFAULT_TICK_MS } from '../host/host-options.ts';
import { DEFAULT_LEASE_DRIFT_TICKS } from '../raft/raft-node.ts';
import { PeerAddressError, canonicalPeerAddress, groupIdOf } from './peer-id.ts';
import { DEFAULT_TX_TIMINGS } from '../tx/tx-manager.ts';

export type ConfigErrorCode = 'BAD_ADDRESS' | 'BAD_PEER' | 'BAD_OPTION' | 'PORT_IN_USE' | 'DATA_DIR_UNWRITABLE' | 'BAD_CONFIG_FILE';

/** A configuration the server cannot run with. `message` is one line, fit for a terminal. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.code = code;
  }
}

/** CurveFS: trash scan period 600 s ... */
export const DEFAULT_TRASH_SCAN_PERIOD_MS = 600 * 1000;
/** ... and an unlinked inode is kept 7 days before it is reclaimed. */
export const DEFAULT_TRASH_KEEP_SECONDS = 7 * 24 * 3600;
/** How often the leader looks for DELETING partitions to empty (a few seconds: deletion is not urgent). */
export const DEFAULT_PARTITION_CLEAN_PERIOD_MS = 5 * 1000;
/** How long AddPeer waits for a new learner to catch up (a large copyset takes a snapshot transfer). */
export const DEFAULT_CATCH_UP_TIMEOUT_MS = 60 * 1000;

export interface CopysetRef {
  readonly poolId: number;
  readonly copysetId: number;
}

export interface MetaServerConfig {
  /** A name for this server in status, events and logs (the Raft node id comes from `advertise`). */
  readonly id?: string;
  /** `ip:port` to serve on (all services and the Raft transport share it); port 0 picks a free one. */
  readonly listen: string;
  /** `ip:port` other servers and clients reach this one at (default: `listen`); IPv4, not 0.0.0.0. */
  readonly advertise?: string;
  /** Folder for the log store (`log/`) and snapshot files (`snapshots/`); created if missing. */
  readonly dataDir: string;
  /** Peer addresses (`ip:port[:index]`) of the servers that make up the `copysets` below. */
  readonly peers?: readonly string[];
  /** Copysets to create at start with `peers` (plus this server) when not on disk yet. */
  readonly copysets?: readonly CopysetRef[];
  readonly tickMs?: number;
  /** Election timeout in ticks (CurveFS: 1000 ms = 10 ticks of 100 ms). */
  readonly electionTicks?: number;
  readonly snapshotIntervalMs?: number;
  readonly snapshotLogBytes?: number;
  /** Sync each log write batch (default true; CurveFS later turned it off for speed). */
  readonly fsync?: boolean;
  /** 'lease' (CurveFS's default) or 'read-index'. */
  readonly readMode?: 'lease' | 'read-index';
  /** MetaServerService requests in flight before OVERLOAD (CurveFS: 5000). */
  readonly maxInFlightRequests?: number;
  readonly requestTimeoutMs?: number;
  readonly catchUpTimeoutMs?: number;
  readonly trashScanPeriodMs?: number;
  readonly trashKeepSeconds?: number;
  readonly partitionCleanPeriodMs?: number;
  /** Cross-copyset operations (docs/transactions.md §11): give-up and query delays, retention. */
  readonly txPrepareTimeoutMs?: number;
  readonly txRetryBudgetMs?: number;
  readonly txIntentQueryAfterMs?: number;
  readonly txOutcomeRetentionMs?: number;
}

export interface ResolvedMetaServerConfig {
  readonly id: string;
  readonly listenHost: string;
  /** 0: pick a free port at start. */
  readonly listenPort: number;
  readonly advertiseHost: string;
  /** 0: the listen port. */
  readonly advertisePort: number;
  readonly dataDir: string;
  readonly peers: readonly string[];
  readonly copysets: readonly CopysetRef[];
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotIntervalMs: number;
  readonly snapshotLogBytes: number;
  readonly fsync: boolean;
  readonly readMode: 'lease' | 'read-index';
  readonly maxInFlightRequests: number;
  readonly requestTimeoutMs: number;
  readonly catchUpTimeoutMs: number;
  readonly trashScanPeriodMs: number;
  readonly trashKeepSeconds: number;
  readonly partitionCleanPeriodMs: number;
  readonly txPrepareTimeoutMs: number;
  readonly txRetryBudgetMs: number;
  readonly txIntentQueryAfterMs: number;
  readonly txOutcomeRetentionMs: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseHostPort(text: unknown, what: string): { host: string; port: number } {
  if (typeof text !== 'string') throw new ConfigError('BAD_ADDRESS', `${what} must be "ip:port", got ${JSON.stringify(text)}`);
  const match = /^([^:]+):(\d{1,5})$/.exec(text);
  if (match === null || Number(match[2]) > 65535) throw new ConfigError('BAD_ADDRESS', `${what} must be "ip:port", got "${text}"`);
  if (!IPV4.test(match[1]!)) throw new ConfigError('BAD_ADDRESS', `${what} "${text}": the host must be an IPv4 address`);
  return { host: match[1]!, port: Number(match[2]) };
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError('BAD_OPTION', `${name} must be a positive number, got ${JSON.stringify(value)}`);
  return value;
}

function nonNegative(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigError('BAD_OPTION', `${name} must be a number >= 0, got ${JSON.stringify(value)}`);
  return value;
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  const resolved = positive(value, name, fallback);
  if (!Number.isSafeInteger(resolved)) throw new ConfigError('BAD_OPTION', `${name} must be a positive integer, got ${resolved}`);
  return resolved;
}

/** Validates a configuration; throws ConfigError naming the first problem. */
export function resolveMetaServerConfig(config: MetaServerConfig): ResolvedMetaServerConfig {
  if (typeof config !== 'object' || config === null) throw new ConfigError('BAD_OPTION', 'the configuration must be an object');
  const listen = parseHostPort(config.listen, 'listen');
  const advertise = config.advertise === undefined ? listen : parseHostPort(config.advertise, 'advertise');
  if (advertise.host === '0.0.0.0') throw new ConfigError('BAD_ADDRESS', 'advertise must name a reachable IPv4 address, not 0.0.0.0 (set "advertise" when listening on 0.0.0.0)');
  if (typeof config.dataDir !== 'string' || config.dataDir === '') throw new ConfigError('BAD_OPTION', 'dataDir must be a non-empty path');
  const peers = (config.peers ?? []).map((peer) => {
    try {
      return canonicalPeerAddress(String(peer));
    } catch (error) {
      throw new ConfigError('BAD_PEER', (error as PeerAddressError).message, { cause: error });
    }
  });
  const copysets = (config.copysets ?? []).map((copyset) => {
    if (typeof copyset !== 'object' || copyset === null || groupIdOf(copyset.poolId, copyset.copysetId) === null) {
      throw new ConfigError('BAD_OPTION', `copysets: ${JSON.stringify(copyset)} is not a {poolId, copysetId} with a valid id`);
    }
    return { poolId: copyset.poolId, copysetId: copyset.copysetId };
  });
  if (config.readMode !== undefined && config.readMode !== 'lease' && config.readMode !== 'read-index') {
    throw new ConfigError('BAD_OPTION', `readMode must be "lease" or "read-index", got ${JSON.stringify(config.readMode)}`);
  }
  if (config.fsync !== undefined && typeof config.fsync !== 'boolean') throw new ConfigError('BAD_OPTION', `fsync must be true or false, got ${JSON.stringify(config.fsync)}`);
  // Thesis §6.4.1: a lease is the election timeout less one tick and the drift allowance.
  const electionTicks = positiveInteger(config.electionTicks, 'electionTicks', DEFAULT_ELECTION_TICKS);
  if ((config.readMode ?? 'lease') === 'lease' && electionTicks - 1 - DEFAULT_LEASE_DRIFT_TICKS < 1) {
    throw new ConfigError('BAD_OPTION', `electionTicks ${electionTicks} leaves no room for a read lease (at least ${DEFAULT_LEASE_DRIFT_TICKS + 2}, or readMode "read-index")`);
  }
  if (config.id !== undefined && typeof config.id !== 'string') throw new ConfigError('BAD_OPTION', `id must be a string, got ${JSON.stringify(config.id)}`);
  return {
    id: config.id ?? `${advertise.host}:${advertise.port}`,
    listenHost: listen.host,
    listenPort: listen.port,
    advertiseHost: advertise.host,
    advertisePort: config.advertise === undefined ? 0 : advertise.port,
    dataDir: config.dataDir,
    peers,
    copysets,
    tickMs: positive(config.tickMs, 'tickMs', DEFAULT_TICK_MS),
    electionTicks,
    snapshotIntervalMs: positive(config.snapshotIntervalMs, 'snapshotIntervalMs', DEFAULT_SNAPSHOT_INTERVAL_MS),
    snapshotLogBytes: positiveInteger(config.snapshotLogBytes, 'snapshotLogBytes', DEFAULT_SNAPSHOT_LOG_BYTES),
    fsync: config.fsync ?? true,
    readMode: config.readMode ?? 'lease',
    maxInFlightRequests: positiveInteger(config.maxInFlightRequests, 'maxInFlightRequests', DEFAULT_MAX_IN_FLIGHT_REQUESTS),
    requestTimeoutMs: positive(config.requestTimeoutMs, 'requestTimeoutMs', DEFAULT_REQUEST_TIMEOUT_MS),
    catchUpTimeoutMs: positive(config.catchUpTimeoutMs, 'catchUpTimeoutMs', DEFAULT_CATCH_UP_TIMEOUT_MS),
    trashScanPeriodMs: positive(config.trashScanPeriodMs, 'trashScanPeriodMs', DEFAULT_TRASH_SCAN_PERIOD_MS),
    trashKeepSeconds: nonNegative(config.trashKeepSeconds, 'trashKeepSeconds', DEFAULT_TRASH_KEEP_SECONDS),
    partitionCleanPeriodMs: positive(config.partitionCleanPeriodMs, 'partitionCleanPeriodMs', DEFAULT_PARTITION_CLEAN_PERIOD_MS),
    txPrepareTimeoutMs: positive(config.txPrepareTimeoutMs, 'txPrepareTimeoutMs', DEFAULT_TX_TIMINGS.prepareTimeoutMs),
    txRetryBudgetMs: positive(config.txRetryBudgetMs, 'txRetryBudgetMs', DEFAULT_TX_TIMINGS.retryBudgetMs),
    txIntentQueryAfterMs: positive(config.txIntentQueryAfterMs, 'txIntentQueryAfterMs', DEFAULT_TX_TIMINGS.intentQueryAfterMs),
    txOutcomeRetentionMs: positive(config.txOutcomeRetentionMs, 'txOutcomeRetentionMs', DEFAULT_TX_TIMINGS.outcomeRetentionMs),
  };
}
