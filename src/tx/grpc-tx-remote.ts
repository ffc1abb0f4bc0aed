/**
 * The TxRemote of a metaserver over gRPC: Prepare, Resolve and Status of
 * metaraft.tx.TxService and the two MetaServerService reads a coordinator plans with,
 * sent to the leader of another copyset through the client library's CopysetCaller
 * (leader search, REDIRECTED / COPYSET_NOTEXIST → find the leader, OVERLOAD → backoff,
 * failover), until the caller's deadline.
 *
 * The peers of a copyset are those the latest call named (`target.peers`, from routes
 * and intents); the caller keeps its leader cache while they stay the same. Deadlines
 * are Date.now() instants, so this remote runs on the wall clock.
 */
import {
  type Encodable,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type ServiceName,
  type TxPrepareRequest,
  type TxResolveRequest,
  type TxResolveResponse,
  type TxStatusRequest,
  type TxStatusResponse,
} from '../proto/index.ts';
import type * as P from '../proto/index.ts';
import type { GetDentryRequest, GetDentryResponse, GetInodeRequest, GetInodeResponse } from '../executor/requests.ts';
import { ClientCallError } from '../client/client-errors.ts';
import { CopysetCaller, type CopysetRef } from '../client/copyset-caller.ts';
import { metaVerdict } from '../client/meta-server-client.ts';
import { GrpcPeerTransport } from '../client/grpc-peer-transport.ts';
import { copysetKey } from '../client/partition-table.ts';
import type { PeerTransport } from '../client/peer-transport.ts';
import { DEFAULT_RETRY_POLICY, checkRetryPolicy, type ClientClock, type RetryPolicy } from '../client/retry-policy.ts';
import { TxRemoteError, type CopysetAddress, type TxPrepareAnswer, type TxRemote } from './tx-remote.ts';

const TX_SERVICE = 'metaraft.tx.TxService';
const META_SERVICE = 'curvefs.metaserver.MetaServerService';

export interface GrpcTxRemoteOptions {
  readonly retry?: Partial<RetryPolicy>;
  /** Uniform in [0, 1): backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /** Default: gRPC ({@link GrpcPeerTransport}); tests may script one. */
  readonly transport?: PeerTransport;
}

/** Deadlines are Date.now() instants (tx-remote.ts): the caller's clock must be the wall clock. */
const WALL_CLOCK: ClientClock = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export class GrpcTxRemote implements TxRemote {
  private readonly transport: PeerTransport;
  private readonly caller: CopysetCaller;
  /** copysetKey → the peers the latest call named (the same array while they do not change). */
  private readonly peers = new Map<string, readonly string[]>();
  private closed = false;

  constructor(options: GrpcTxRemoteOptions = {}) {
    const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    checkRetryPolicy(retry);
    this.transport = options.transport ?? new GrpcPeerTransport();
    this.caller = new CopysetCaller({
      transport: this.transport,
      clock: WALL_CLOCK,
      random: options.random ?? Math.random,
      retry,
      peersOf: (copyset) => this.peersOf(copyset),
    });
  }

  /** The peers of a copyset as the latest call named them ([] when never named). */
  peersOf(copyset: CopysetRef): readonly string[] {
    return this.peers.get(copysetKey(copyset.poolId, copyset.copysetId)) ?? [];
  }

  async prepare(target: CopysetAddress, request: TxPrepareRequest, deadlineMs: number): Promise<TxPrepareAnswer> {
    const { inode, ...rest } = await this.send(target, TX_SERVICE, 'Prepare', request, deadlineMs);
    return inode === undefined ? rest : { ...rest, inode: toExecutorInode(inode) };
  }

  resolve(target: CopysetAddress, request: TxResolveRequest, deadlineMs: number): Promise<TxResolveResponse> {
    return this.send(target, TX_SERVICE, 'Resolve', request, deadlineMs);
  }

  status(target: CopysetAddress, request: TxStatusRequest, deadlineMs: number): Promise<TxStatusResponse> {
    return this.send(target, TX_SERVICE, 'Status', request, deadlineMs);
  }

  async getDentry(target: CopysetAddress, request: GetDentryRequest, deadlineMs: number): Promise<GetDentryResponse> {
    const response = await this.send(target, META_SERVICE, 'GetDentry', request, deadlineMs, true);
    return response as GetDentryResponse;
  }

  async getInode(target: CopysetAddress, request: GetInodeRequest, deadlineMs: number): Promise<GetInodeResponse> {
    const response = await this.send(target, META_SERVICE, 'GetInode', request, deadlineMs, true);
    const { inode, ...rest } = response;
    return inode === undefined ? rest : { ...rest, inode: toExecutorInode(inode) };
  }

  close(): void {
    this.closed = true;
    this.caller.close();
    this.transport.close();
  }

  /**
   * One call to the copyset's leader. `isRead`: the request carries the highest
   * appliedIndex seen from the copyset (read-your-writes across leader changes).
   */
  private async send<S extends ServiceName, M extends MethodName<S>>(
    target: CopysetAddress,
    service: S,
    method: M,
    request: Encodable<RequestOf<S, M>>,
    deadlineMs: number,
    isRead = false,
  ): Promise<ResponseOf<S, M>> {
    if (this.closed) throw new TxRemoteError('CLOSED', `${method}: the remote is closed`);
    if (!this.notePeers(target)) {
      throw new TxRemoteError('DEADLINE_EXCEEDED', `${method}: copyset ${copysetKey(target.poolId, target.copysetId)} has no known peers`);
    }
    try {
      return await this.caller.call({
        copyset: { poolId: target.poolId, copysetId: target.copysetId },
        service,
        method,
        request: (appliedIndex) => (isRead ? withAppliedIndex(request, appliedIndex) : request),
        verdict: (response) => metaVerdict(response as { statusCode: number }),
        appliedIndexOf: (response) => (response as { appliedIndex?: number }).appliedIndex,
        deadlineMs,
      });
    } catch (error) {
      throw this.remoteError(method, error);
    }
  }

  /** Records the target's peers; false when neither it nor an earlier call named any. */
  private notePeers(target: CopysetAddress): boolean {
    const key = copysetKey(target.poolId, target.copysetId);
    const known = this.peers.get(key);
    if (target.peers.length > 0 && !samePeers(known, target.peers)) this.peers.set(key, [...target.peers]);
    return (this.peers.get(key)?.length ?? 0) > 0;
  }

  /**
   * CLIENT_CLOSED → CLOSED. DEADLINE_EXCEEDED, and RPC_FAILED (a peer that failed the call
   * in a way retrying cannot fix, e.g. UNIMPLEMENTED), → DEADLINE_EXCEEDED: in both no
   * leader gave an answer, which is what the coordinator must act on.
   */
  private remoteError(method: string, error: unknown): unknown {
    if (!(error instanceof ClientCallError)) return error;
    if (error.code === 'CLIENT_CLOSED' || this.closed) return new TxRemoteError('CLOSED', `${method}: the remote is closed`, { cause: error });
    return new TxRemoteError('DEADLINE_EXCEEDED', error.message, { cause: error });
  }
}

function samePeers(known: readonly string[] | undefined, peers: readonly string[]): boolean {
  return known !== undefined && known.length === peers.length && known.every((peer, i) => peer === peers[i]);
}

/** The request with appliedIndex raised to what has been seen (never lowered). */
function withAppliedIndex<T extends object>(request: T, seen: number): T {
  const own = (request as { appliedIndex?: number }).appliedIndex ?? 0;
  const appliedIndex = Math.max(own, seen);
  return appliedIndex > 0 ? { ...request, appliedIndex } : request;
}

/** The wire's inode (xattr as a Map) in the executor's shape (xattr as a record). */
function toExecutorInode(inode: P.Inode): NonNullable<GetInodeResponse['inode']> {
  return { ...inode, xattr: Object.fromEntries(inode.xattr) };
}
