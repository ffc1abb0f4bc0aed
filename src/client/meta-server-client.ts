/**
 * The low-level client: one typed method per RPC of MetaServerService, CliService2,
 * CopysetService, metaraft's own MetaraftService and the client calls of TxService.
 * MetaServerService, MetaraftService and TxService calls are routed by the request's
 * (poolId, copysetId) to that copyset's leader through {@link CopysetCaller}; their
 * answers come back on OK and throw {@link MetaClientError} otherwise. Reads carry the
 * highest appliedIndex seen from the copyset.
 */

import {
  META_READ_METHODS,
  MetaStatusCode,
  type Encodable,
  type MethodName,
  type RequestOf,
  type ResponseOf,
} from '../proto/index.ts';
import type * as P from '../proto/index.ts';
import { MetaClientError } from './client-errors.ts';
import { CopysetCaller, type AnswerVerdict, type CopysetRef } from './copyset-caller.ts';
import { GrpcPeerTransport } from './grpc-peer-transport.ts';
import { PartitionTable, type PartitionRoute, type PartitionTableSource } from './partition-table.ts';
import type { PeerTransport } from './peer-transport.ts';
import { DEFAULT_RETRY_POLICY, checkRetryPolicy, systemClock, type ClientClock, type RetryPolicy } from './retry-policy.ts';

export const META_SERVICE = 'curvefs.metaserver.MetaServerService';
export const CLI_SERVICE = 'curvefs.metaserver.copyset.CliService2';
export const COPYSET_SERVICE = 'curvefs.metaserver.copyset.CopysetService';
export const METARAFT_SERVICE = 'metaraft.meta.MetaraftService';
export const TX_SERVICE = 'metaraft.tx.TxService';

/** The client calls of TxService (Prepare, Resolve and Status are between metaservers). */
export type TxClientMethod = 'Rename' | 'Link' | 'Create' | 'Unlink';

export type MetaMethod = MethodName<typeof META_SERVICE>;
export type MetaRequest<M extends MetaMethod> = Encodable<RequestOf<typeof META_SERVICE, M>>;
export type MetaResponse<M extends MetaMethod> = ResponseOf<typeof META_SERVICE, M>;

/** The reads: answered from applied state, so they carry the client's appliedIndex. */
export const READ_METHODS = META_READ_METHODS;

export interface CallOptions {
  /** Absolute deadline on the client clock (ClientClock.nowMs); default now + operationTimeoutMs. */
  readonly deadlineMs?: number;
}

export interface MetaServerClientOptions {
  /** The partition table, or its rows. */
  readonly partitions: PartitionTable | readonly PartitionRoute[];
  /** Where refreshPartitions() reads the table from (a coordinator); none by default. */
  readonly partitionSource?: PartitionTableSource;
  /** Default: gRPC ({@link GrpcPeerTransport}). */
  readonly transport?: PeerTransport;
  /** Default: the system clock. */
  readonly clock?: ClientClock;
  /** Uniform in [0, 1), for backoff jitter and placement. Default Math.random. */
  readonly random?: () => number;
  readonly retry?: Partial<RetryPolicy>;
}

/** REDIRECTED: not the leader. COPYSET_NOTEXIST: the copyset left that peer (membership changed). */
export function metaVerdict(response: { statusCode: number }): AnswerVerdict {
  switch (response.statusCode) {
    case MetaStatusCode.REDIRECTED:
    case MetaStatusCode.COPYSET_NOTEXIST:
      return 'not-leader';
    case MetaStatusCode.OVERLOAD:
      return 'overloaded';
    default:
      return 'final';
  }
}

export class MetaServerClient {
  readonly partitions: PartitionTable;
  readonly caller: CopysetCaller;
  readonly clock: ClientClock;
  readonly random: () => number;
  readonly retry: RetryPolicy;
  private readonly transport: PeerTransport;
  private readonly partitionSource: PartitionTableSource | undefined;

  constructor(options: MetaServerClientOptions) {
    this.partitions = options.partitions instanceof PartitionTable ? options.partitions : new PartitionTable(options.partitions);
    this.partitionSource = options.partitionSource;
    this.transport = options.transport ?? new GrpcPeerTransport();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    checkRetryPolicy(this.retry);
    this.caller = new CopysetCaller({
      transport: this.transport,
      clock: this.clock,
      random: this.random,
      retry: this.retry,
      peersOf: (copyset) => this.partitions.copyset(copyset.poolId, copyset.copysetId).peers,
    });
  }

  /** A deadline `operationTimeoutMs` from now, to share between the calls of one operation. */
  deadline(): number {
    return this.clock.nowMs() + this.retry.operationTimeoutMs;
  }

  /**
   * Reloads the partition table of `fsId` from the configured source (a coordinator).
   * Rows of other file systems are kept.
   */
  async refreshPartitions(fsId: number): Promise<void> {
    if (this.partitionSource === undefined) throw new Error('refreshPartitions: no partitionSource configured');
    const loaded = await this.partitionSource.load(fsId);
    const others = this.partitions.routes().filter((route) => route.partition.fsId !== fsId);
    this.partitions.replace([...others, ...loaded.filter((route) => route.partition.fsId === fsId)]);
  }

  /**
   * A MetaServerService call, answered whatever its final status (REDIRECTED, OVERLOAD
   * and COPYSET_NOTEXIST are retried until the deadline).
   */
  send<M extends MetaMethod>(method: M, request: MetaRequest<M>, options: CallOptions = {}): Promise<MetaResponse<M>> {
    const copyset = copysetOfRequest(request);
    const isRead = READ_METHODS.has(method);
    return this.caller.call({
      copyset,
      service: META_SERVICE,
      method,
      request: (appliedIndex) => (isRead ? withAppliedIndex(request, appliedIndex) : request),
      verdict: (response) => metaVerdict(response as { statusCode: number }),
      appliedIndexOf: (response) => (response as { appliedIndex?: number }).appliedIndex,
      ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    });
  }

  /** A MetaServerService call whose answer must be OK; any other status throws MetaClientError. */
  async call<M extends MetaMethod>(method: M, request: MetaRequest<M>, options: CallOptions = {}): Promise<MetaResponse<M>> {
    const response = await this.send(method, request, options);
    const status = (response as { statusCode: number }).statusCode;
    if (status !== MetaStatusCode.OK) throw new MetaClientError(method, status);
    return response;
  }

  // ---- MetaServerService, one method per RPC ----

  getDentry(request: MetaRequest<'GetDentry'>, options?: CallOptions): Promise<P.GetDentryResponse> {
    return this.call('GetDentry', request, options);
  }
  listDentry(request: MetaRequest<'ListDentry'>, options?: CallOptions): Promise<P.ListDentryResponse> {
    return this.call('ListDentry', request, options);
  }
  createDentry(request: MetaRequest<'CreateDentry'>, options?: CallOptions): Promise<P.CreateDentryResponse> {
    return this.call('CreateDentry', request, options);
  }
  deleteDentry(request: MetaRequest<'DeleteDentry'>, options?: CallOptions): Promise<P.DeleteDentryResponse> {
    return this.call('DeleteDentry', request, options);
  }
  prepareRenameTx(request: MetaRequest<'PrepareRenameTx'>, options?: CallOptions): Promise<P.PrepareRenameTxResponse> {
    return this.call('PrepareRenameTx', request, options);
  }
  getInode(request: MetaRequest<'GetInode'>, options?: CallOptions): Promise<P.GetInodeResponse> {
    return this.call('GetInode', request, options);
  }
  createInode(request: MetaRequest<'CreateInode'>, options?: CallOptions): Promise<P.CreateInodeResponse> {
    return this.call('CreateInode', request, options);
  }
  updateInode(request: MetaRequest<'UpdateInode'>, options?: CallOptions): Promise<P.UpdateInodeResponse> {
    return this.call('UpdateInode', request, options);
  }
  deleteInode(request: MetaRequest<'DeleteInode'>, options?: CallOptions): Promise<P.DeleteInodeResponse> {
    return this.call('DeleteInode', request, options);
  }
  createRootInode(request: MetaRequest<'CreateRootInode'>, options?: CallOptions): Promise<P.CreateRootInodeResponse> {
    return this.call('CreateRootInode', request, options);
  }
  createManageInode(request: MetaRequest<'CreateManageInode'>, options?: CallOptions): Promise<P.CreateManageInodeResponse> {
    return this.call('CreateManageInode', request, options);
  }
  batchGetInodeAttr(request: MetaRequest<'BatchGetInodeAttr'>, options?: CallOptions): Promise<P.BatchGetInodeAttrResponse> {
    return this.call('BatchGetInodeAttr', request, options);
  }
  batchGetXAttr(request: MetaRequest<'BatchGetXAttr'>, options?: CallOptions): Promise<P.BatchGetXAttrResponse> {
    return this.call('BatchGetXAttr', request, options);
  }
  createPartition(request: MetaRequest<'CreatePartition'>, options?: CallOptions): Promise<P.CreatePartitionResponse> {
    return this.call('CreatePartition', request, options);
  }
  deletePartition(request: MetaRequest<'DeletePartition'>, options?: CallOptions): Promise<P.DeletePartitionResponse> {
    return this.call('DeletePartition', request, options);
  }

  // ---- MetaraftService (metaraft's own calls) ----

  /**
   * metaraft's atomic rename of two names in partitions of ONE copyset (one log entry:
   * dentries, parents' nlink and times, the moved and the replaced inode). Routed and
   * retried like a MetaServerService write; a status other than OK throws
   * MetaClientError (e.g. TX_FAILED: a directory move whose ancestry leaves the copyset).
   */
  async rename(request: Encodable<P.MetaraftRenameRequest>, options: CallOptions = {}): Promise<P.MetaraftRenameResponse> {
    const response = await this.caller.call({
      copyset: { poolId: request.poolId, copysetId: request.copysetId },
      service: METARAFT_SERVICE,
      method: 'Rename',
      request: () => request,
      verdict: (answer) => metaVerdict(answer),
      appliedIndexOf: (answer) => answer.appliedIndex,
      ...deadlineOf(options),
    });
    if (response.statusCode !== MetaStatusCode.OK) throw new MetaClientError('Rename', response.statusCode);
    return response;
  }

  // ---- TxService (operations across copysets, docs/transactions.md) ----

  /**
   * An operation whose keys live in several copysets, sent to the leader of its home
   * copyset (the request's poolId/copysetId) and retried there like a write. The same
   * request object, txId included, is resent on every retry: the coordinator answers a
   * repeated txId from its record. A status other than OK throws MetaClientError.
   */
  txRename(request: Encodable<P.TxRenameRequest>, options: CallOptions = {}): Promise<P.TxReply> {
    return this.txCall('Rename', request, options);
  }
  txLink(request: Encodable<P.TxLinkRequest>, options: CallOptions = {}): Promise<P.TxReply> {
    return this.txCall('Link', request, options);
  }
  txCreate(request: Encodable<P.TxCreateRequest>, options: CallOptions = {}): Promise<P.TxReply> {
    return this.txCall('Create', request, options);
  }
  txUnlink(request: Encodable<P.TxUnlinkRequest>, options: CallOptions = {}): Promise<P.TxReply> {
    return this.txCall('Unlink', request, options);
  }

  private async txCall(method: TxClientMethod, request: Encodable<P.TxRenameRequest | P.TxLinkRequest | P.TxCreateRequest | P.TxUnlinkRequest>, options: CallOptions): Promise<P.TxReply> {
    const response = (await this.caller.call({
      copyset: { poolId: request.poolId, copysetId: request.copysetId },
      service: TX_SERVICE,
      method,
      request: () => request as never,
      verdict: (answer) => metaVerdict(answer as P.TxReply),
      appliedIndexOf: (answer) => (answer as P.TxReply).appliedIndex,
      ...deadlineOf(options),
    })) as P.TxReply;
    if (response.statusCode !== MetaStatusCode.OK) throw new MetaClientError(method, response.statusCode);
    return response;
  }

  // ---- CliService2 ----

  /** Asks one given peer who leads the copyset (the answer may name no leader: empty or 0.0.0.0:0:0). */
  getLeader(request: Encodable<P.GetLeaderRequest2>, peer: string, options: CallOptions = {}): Promise<P.GetLeaderResponse2> {
    return this.caller.call({ copyset: request, service: CLI_SERVICE, method: 'GetLeader', request: () => request, peer, ...deadlineOf(options) });
  }

  /** Asks the copyset's peers until one names a leader; undefined if none does before the deadline. */
  findLeader(copyset: CopysetRef, options: CallOptions = {}): Promise<string | undefined> {
    return this.caller.discoverLeader(copyset, options.deadlineMs);
  }

  async addPeer(request: Encodable<P.AddPeerRequest2>, options: CallOptions = {}): Promise<P.AddPeerResponse2> {
    const response = await this.leaderCall('AddPeer', request, options);
    this.learnPeers(request, response.newPeers);
    return response;
  }

  async removePeer(request: Encodable<P.RemovePeerRequest2>, options: CallOptions = {}): Promise<P.RemovePeerResponse2> {
    const response = await this.leaderCall('RemovePeer', request, options);
    this.learnPeers(request, response.newPeers);
    return response;
  }

  async changePeers(request: Encodable<P.ChangePeersRequest2>, options: CallOptions = {}): Promise<P.ChangePeersResponse2> {
    const response = await this.leaderCall('ChangePeers', request, options);
    this.learnPeers(request, response.newPeers);
    return response;
  }

  async transferLeader(request: Encodable<P.TransferLeaderRequest2>, options: CallOptions = {}): Promise<P.TransferLeaderResponse2> {
    const response = await this.leaderCall('TransferLeader', request, options);
    // The leader is moving: find it afresh on the next call.
    this.caller.setLeader(request, undefined);
    return response;
  }

  // ---- CopysetService ----

  /** The Raft status of the copyset on one peer: `peer`, else request.peer, else the leader. */
  async getCopysetStatus(request: Encodable<P.CopysetStatusRequest>, peer?: string, options: CallOptions = {}): Promise<P.CopysetStatusResponse> {
    const target = peer ?? request.peer?.address ?? (await this.leaderOrThrow(request, options));
    return this.caller.call({ copyset: request, service: COPYSET_SERVICE, method: 'GetCopysetStatus', request: () => request, peer: target, ...deadlineOf(options) });
  }

  getCopysetsStatus(request: Encodable<P.CopysetsStatusRequest>, peer: string, options: CallOptions = {}): Promise<P.CopysetsStatusResponse> {
    return this.caller.call({ copyset: { poolId: 0, copysetId: 0 }, service: COPYSET_SERVICE, method: 'GetCopysetsStatus', request: () => request, peer, ...deadlineOf(options) });
  }

  createCopysetNode(request: Encodable<P.CreateCopysetRequest>, peer: string, options: CallOptions = {}): Promise<P.CreateCopysetResponse> {
    return this.caller.call({ copyset: { poolId: 0, copysetId: 0 }, service: COPYSET_SERVICE, method: 'CreateCopysetNode', request: () => request, peer, ...deadlineOf(options) });
  }

  /** Closes every connection; calls in flight and later fail with CLIENT_CLOSED. */
  close(): void {
    this.caller.close();
    this.transport.close();
  }

  /** Membership and leadership calls go to the leader, found first if unknown. */
  private async leaderCall<M extends MethodName<typeof CLI_SERVICE>>(
    method: M,
    request: Encodable<RequestOf<typeof CLI_SERVICE, M>> & CopysetRef,
    options: CallOptions,
  ): Promise<ResponseOf<typeof CLI_SERVICE, M>> {
    const deadlineMs = options.deadlineMs ?? this.deadline();
    if (this.caller.leaderOf(request) === undefined) await this.caller.discoverLeader(request, deadlineMs);
    return this.caller.call({ copyset: request, service: CLI_SERVICE, method, request: () => request, deadlineMs });
  }

  private async leaderOrThrow(copyset: CopysetRef, options: CallOptions): Promise<string> {
    const leader = this.caller.leaderOf(copyset) ?? (await this.caller.discoverLeader(copyset, options.deadlineMs));
    if (leader === undefined) throw new Error(`copyset ${copyset.poolId}/${copyset.copysetId}: no leader found`);
    return leader;
  }

  private learnPeers(copyset: CopysetRef, peers: readonly P.Peer[]): void {
    const addresses = peers.map((peer) => peer.address).filter((address): address is string => address !== undefined && address !== '');
    if (addresses.length > 0) this.partitions.setCopysetPeers(copyset.poolId, copyset.copysetId, addresses);
  }
}

function deadlineOf(options: CallOptions): { deadlineMs?: number } {
  return options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs };
}

function copysetOfRequest(request: object): CopysetRef {
  const routed = 'partition' in request ? (request as { partition: CopysetRef }).partition : (request as CopysetRef);
  return { poolId: routed.poolId, copysetId: routed.copysetId };
}

/** The request with appliedIndex raised to what the client has seen (never lowered). */
function withAppliedIndex<T extends object>(request: T, seen: number): T {
  const own = (request as { appliedIndex?: number }).appliedIndex ?? 0;
  const appliedIndex = Math.max(own, seen);
  return appliedIndex > 0 ? { ...request, appliedIndex } : request;
}
