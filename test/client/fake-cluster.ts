/**
 * A fake copyset on real gRPC: a few "peers" (grpc-js servers on 127.0.0.1, port 0)
 * sharing one {@link FakeMetaState}, of which one is the leader. A follower answers
 * MetaServerService, MetaraftService and TxService calls REDIRECTED; every peer answers
 * CliService2.GetLeader with the current leader. TxService calls at the leader go to
 * `txHandler` (a fake coordinator, or the real one over the executor:
 * ExecutorMetaState.handleTx) and are recorded as `Tx<Method>`. Every call is recorded,
 * and faults can be injected: OVERLOAD answers, a peer that never answers, a peer shut
 * down.
 */

import * as grpc from '@grpc/grpc-js';
import {
  MetaStatusCode,
  PartitionStatus,
  SERVICES,
  serverServiceDefinition,
  type PartitionInfo,
  type ServerRequest,
} from '../../src/proto/index.ts';
import { FakeMetaState } from './fake-meta-state.ts';

/** What answers a fake copyset's MetaServerService calls: the map-backed fake, or the real executor. */
export interface MetaStateBackend {
  readonly appliedIndex: number;
  addPartition(info: PartitionInfo): void;
  handle(method: string, request: Record<string, any>): { statusCode: number; [field: string]: unknown };
}

const META = 'curvefs.metaserver.MetaServerService';
const METARAFT = 'metaraft.meta.MetaraftService';
const TX = 'metaraft.tx.TxService';
const CLI = 'curvefs.metaserver.copyset.CliService2';
const COPYSET = 'curvefs.metaserver.copyset.CopysetService';

/** A TxService answer. */
export type TxAnswer = { statusCode: number; [field: string]: unknown };

export interface RecordedCall {
  readonly peer: string;
  readonly method: string;
  readonly request: Record<string, any>;
}

export interface FakePeer {
  readonly address: string;
  readonly server: grpc.Server;
  alive: boolean;
}

export class FakeCluster<State extends MetaStateBackend = FakeMetaState> {
  /** Every call, in arrival order (shared between clusters when one log is passed to start()). */
  readonly calls: RecordedCall[];
  readonly peers: FakePeer[] = [];
  leader: string | undefined;
  /** The next this-many MetaServerService / MetaraftService calls (at any peer) are answered OVERLOAD. */
  overloadNext = 0;
  /** Peers that accept calls but never answer (a partitioned process). */
  readonly silent = new Set<string>();
  /** Answers GetLeader with this instead of the leader (e.g. a stale view), when set. */
  leaderAnswer: ((peer: string) => string) | undefined;
  /** Answers TxService calls at the leader (at once or later); TX_FAILED when unset. */
  txHandler: ((method: string, request: Record<string, any>) => TxAnswer | Promise<TxAnswer>) | undefined;

  static async start(peerCount: number, poolId = 1, copysetId = 1, calls: RecordedCall[] = []): Promise<FakeCluster> {
    return FakeCluster.startWith(new FakeMetaState(), peerCount, poolId, copysetId, calls);
  }

  static async startWith<S extends MetaStateBackend>(state: S, peerCount: number, poolId = 1, copysetId = 1, calls: RecordedCall[] = []): Promise<FakeCluster<S>> {
    const cluster = new FakeCluster(state, poolId, copysetId, calls);
    for (let i = 0; i < peerCount; i++) await cluster.addPeer();
    cluster.leader = cluster.peers[0]!.address;
    return cluster;
  }

  private constructor(
    readonly state: State,
    readonly poolId: number,
    readonly copysetId: number,
    calls: RecordedCall[],
  ) {
    this.calls = calls;
  }

  get addresses(): string[] {
    return this.peers.map((peer) => peer.address);
  }

  /** Partition rows for the client's table. */
  routes(partitions: readonly PartitionInfo[]): { partition: PartitionInfo; peers: string[] }[] {
    return partitions.map((partition) => ({ partition, peers: this.addresses }));
  }

  /** A partition of this copyset, also created in the state. */
  partition(fsId: number, partitionId: number, start: number, end: number, extra: Partial<PartitionInfo> = {}): PartitionInfo {
    const info: PartitionInfo = {
      fsId,
      poolId: this.poolId,
      copysetId: this.copysetId,
      partitionId,
      start,
      end,
      status: PartitionStatus.READWRITE,
      fileType2inodeNum: new Map(),
      ...extra,
    };
    this.state.addPartition(info);
    return info;
  }

  /** The MetaServerService calls made so far, as `method` names (GetLeader probes left out). */
  metaMethods(): string[] {
    return this.calls.filter((call) => call.method !== 'GetLeader').map((call) => call.method);
  }

  /** Like metaMethods, as `method/partitionId`. */
  routedMethods(): string[] {
    return this.calls
      .filter((call) => call.method !== 'GetLeader')
      .map((call) => `${call.method}/${routedPartition(call.request)}`);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Shuts a peer down at once (its process "dies"); its connections are dropped. */
  kill(address: string): void {
    const peer = this.peers.find((p) => p.address === address);
    if (peer === undefined || !peer.alive) return;
    peer.alive = false;
    peer.server.forceShutdown();
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) this.kill(peer.address);
  }

  private async addPeer(): Promise<void> {
    const server = new grpc.Server();
    const holder: { address: string } = { address: '' };
    server.addService(serverServiceDefinition(META), this.metaHandlers(holder, META) as grpc.UntypedServiceImplementation);
    server.addService(serverServiceDefinition(METARAFT), this.metaHandlers(holder, METARAFT) as grpc.UntypedServiceImplementation);
    server.addService(serverServiceDefinition(TX), this.metaHandlers(holder, TX) as grpc.UntypedServiceImplementation);
    server.addService(serverServiceDefinition(CLI), this.cliHandlers(holder) as grpc.UntypedServiceImplementation);
    server.addService(serverServiceDefinition(COPYSET), this.copysetHandlers(holder) as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    holder.address = `127.0.0.1:${port}:0`;
    this.peers.push({ address: holder.address, server, alive: true });
  }

  private metaHandlers(holder: { address: string }, service: typeof META | typeof METARAFT | typeof TX): Record<string, grpc.handleUnaryCall<any, any>> {
    const handlers: Record<string, grpc.handleUnaryCall<any, any>> = {};
    for (const method of Object.keys(SERVICES[service])) {
      handlers[method] = (call: grpc.ServerUnaryCall<ServerRequest<typeof META, any>, unknown>, callback: grpc.sendUnaryData<any>) => {
        const decoded = call.request;
        const request = decoded.ok ? (decoded.value as Record<string, any>) : {};
        this.calls.push({ peer: holder.address, method: service === TX ? `Tx${method}` : method, request });
        if (this.silent.has(holder.address)) return; // never answers: the client's deadline fires
        if (!decoded.ok) return callback(null, emptyAnswer(method, MetaStatusCode.PARAM_ERROR));
        if (this.overloadNext > 0) {
          this.overloadNext--;
          return callback(null, emptyAnswer(method, MetaStatusCode.OVERLOAD));
        }
        if (holder.address !== this.leader) return callback(null, emptyAnswer(method, MetaStatusCode.REDIRECTED));
        if (service === TX) {
          // A handler that throws fails the call with gRPC INTERNAL, as the real service does.
          return void Promise.resolve()
            .then(() => this.txHandler?.(method, request) ?? { statusCode: MetaStatusCode.TX_FAILED })
            .then(
              (answer) => callback(null, answer),
              (error: unknown) => callback({ code: grpc.status.INTERNAL, details: `internal error: ${(error as Error).message}` }),
            );
        }
        callback(null, this.state.handle(method, request));
      };
    }
    return handlers;
  }

  private copysetHandlers(holder: { address: string }): Record<string, grpc.handleUnaryCall<any, any>> {
    return {
      GetCopysetStatus: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<any>) => {
        this.calls.push({ peer: holder.address, method: 'GetCopysetStatus', request: call.request.ok ? call.request.value : {} });
        const counters = { term: 1, committedIndex: this.state.appliedIndex, knownAppliedIndex: this.state.appliedIndex, pendingIndex: 0, pendingQueueSize: 0, applyingIndex: 0, firstIndex: 1, lastIndex: this.state.appliedIndex, diskIndex: this.state.appliedIndex, epoch: 0 };
        callback(null, {
          status: 0,
          copysetStatus: { state: holder.address === this.leader ? 1 : 3, peer: { address: holder.address }, leader: { address: this.leader ?? '' }, readonly: false, ...counters },
        });
      },
    };
  }

  private cliHandlers(holder: { address: string }): Record<string, grpc.handleUnaryCall<any, any>> {
    return {
      GetLeader: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<any>) => {
        this.calls.push({ peer: holder.address, method: 'GetLeader', request: call.request.ok ? call.request.value : {} });
        if (this.silent.has(holder.address)) return;
        const leader = this.leaderAnswer?.(holder.address) ?? this.leader ?? '';
        callback(null, { leader: { address: leader } });
      },
      ChangePeers: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<any>) => {
        this.calls.push({ peer: holder.address, method: 'ChangePeers', request: call.request.ok ? call.request.value : {} });
        if (holder.address !== this.leader) return callback({ code: grpc.status.FAILED_PRECONDITION, details: 'not leader' });
        callback(null, { oldPeers: this.addresses.map((address) => ({ address })), newPeers: call.request.value.newPeers });
      },
      TransferLeader: (call: grpc.ServerUnaryCall<any, unknown>, callback: grpc.sendUnaryData<any>) => {
        this.calls.push({ peer: holder.address, method: 'TransferLeader', request: call.request.ok ? call.request.value : {} });
        this.leader = call.request.value.transferee.address;
        callback(null, {});
      },
    };
  }
}

export interface CopysetStatusAnswer {
  readonly peer: string;
  readonly leader: string;
}

/** The partition a recorded call is routed by (Rename: its source's; TxService: its home name's). */
export function routedPartition(request: Record<string, any>): number | undefined {
  return request.partitionId ?? request.partition?.partitionId ?? request.srcPartitionId ?? request.src?.partitionId ?? request.dst?.partitionId ?? request.name?.partitionId;
}

/** A response with no payload: repeated fields empty, as the executor answers failures. */
function emptyAnswer(method: string, statusCode: MetaStatusCode): Record<string, unknown> {
  switch (method) {
    case 'ListDentry':
      return { statusCode, dentrys: [] };
    case 'BatchGetInodeAttr':
      return { statusCode, attr: [] };
    case 'BatchGetXAttr':
      return { statusCode, xattr: [] };
    default:
      return { statusCode };
  }
}
