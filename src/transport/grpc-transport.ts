/**
 * The Transport between host processes over gRPC (architecture.md, decision 4): one
 * long-lived RaftTransport.Stream per peer process carries the batched messages of all
 * groups (peer-channel.ts); snapshots travel in chunks on their own InstallSnapshot
 * calls. This process serves the same service for its peers.
 *
 * What arrives is validated at the gate: a batch that fails decoding is dropped and
 * counted; a batch addressed to another node id ends its stream with
 * FAILED_PRECONDITION (the sender has the wrong address for that node); snapshot chunks
 * pass the InboundSnapshotGate (order, size, checksum) on their way to the handler.
 */
import * as grpc from '@grpc/grpc-js';
import type { Envelope, Transport, TransportHandler } from '../host/interfaces.ts';
import type { RaftAck, SnapshotAck } from '../proto/index.ts';
import { WireFormatError } from '../proto/wire-format-error.ts';
import { invariant } from '../raft/errors.ts';
import type { NodeId } from '../raft/types.ts';
import {
  MESSAGE_FRAMING_ALLOWANCE_BYTES,
  assertAddress,
  assertNodeId,
  resolveGrpcTransportOptions,
  type GrpcTransportOptions,
  type ResolvedGrpcTransportOptions,
} from './grpc-transport-options.ts';
import { PeerChannel, type PeerChannelContext, type PeerChannelState } from './peer-channel.ts';
import { encodeBatches } from './raft-batch-framing.ts';
import { decodeRaftBatch } from './raft-codec.ts';
import { raftTransportServerDefinition, type InboundChunk } from './raft-transport-rpc.ts';
import { sendSnapshotChunks } from './snapshot-sender.ts';
import { InboundSnapshotGate } from './snapshot-chunk-wire.ts';
import type { SnapshotChunk } from './snapshot-chunks.ts';
import { TransportError } from './transport-errors.ts';
import { newTransportMetrics, type TransportMetrics } from './transport-metrics.ts';

/**
 * HTTP/2 pings from the server find a peer process that hangs mid-call (a snapshot
 * sender that stopped): its calls are cancelled and their resources freed.
 */
const SERVER_PING_INTERVAL_MS = 10_000;
const SERVER_PING_TIMEOUT_MS = 5_000;

/** State of one inbound Raft stream on the server side. */
interface InboundStream {
  readonly call: grpc.ServerDuplexStream<Buffer, RaftAck>;
  fromNode: NodeId;
  lastSequence: number;
  ackScheduled: boolean;
}

export class GrpcTransport implements Transport {
  private readonly options: ResolvedGrpcTransportOptions;
  private readonly counters: TransportMetrics = newTransportMetrics();
  private readonly server: grpc.Server;
  private readonly channelContext: PeerChannelContext;
  private readonly channels = new Map<NodeId, PeerChannel>();
  private readonly inbound = new Set<InboundStream>();
  private readonly snapshotCalls = new Set<grpc.Call>();
  private readonly unknownPeerReportedAtMs = new Map<NodeId, number>();
  private handler: TransportHandler | null = null;
  private phase: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private boundPort = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private installsInFlight = 0;

  constructor(options: GrpcTransportOptions) {
    this.options = resolveGrpcTransportOptions(options);
    const maxMessageBytes = Math.max(this.options.maxBatchBytes, this.options.maxSnapshotChunkBytes) + MESSAGE_FRAMING_ALLOWANCE_BYTES;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.keepalive_time_ms': SERVER_PING_INTERVAL_MS,
      'grpc.keepalive_timeout_ms': SERVER_PING_TIMEOUT_MS,
    });
    this.channelContext = {
      nodeId: this.options.nodeId,
      options: this.options,
      metrics: this.counters,
      channelOptions: {
        // Each peer stream gets its own connection, re-made from scratch on reconnect,
        // so that only this transport's backoff governs retries.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.initial_reconnect_backoff_ms': this.options.initialBackoffMs,
        'grpc.max_reconnect_backoff_ms': this.options.maxBackoffMs,
        'grpc.max_receive_message_length': maxMessageBytes,
        // Retries would buffer every streamed message until the call commits.
        'grpc.enable_retries': 0,
      },
      reportUnreachable: (peer) => this.reportUnreachable(peer),
    };
    for (const [peer, address] of this.options.peers) this.channels.set(peer, new PeerChannel(peer, address, this.channelContext));
  }

  /** Builds and starts a transport (binds its port). */
  static async start(options: GrpcTransportOptions): Promise<GrpcTransport> {
    const transport = new GrpcTransport(options);
    await transport.start();
    return transport;
  }

  /** Binds the listen address and opens the peer streams; resolves with the bound port. */
  async start(): Promise<number> {
    invariant(this.phase === 'new', 'a transport starts once');
    this.phase = 'starting';
    this.server.addService(raftTransportServerDefinition(), {
      Stream: (call: grpc.ServerDuplexStream<Buffer, RaftAck>) => this.serveStream(call),
      InstallSnapshot: (call: grpc.ServerReadableStream<InboundChunk, SnapshotAck>, callback: grpc.sendUnaryData<SnapshotAck>) =>
        this.serveInstallSnapshot(call, callback),
    });
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(this.options.listenAddress, grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
    });
    if ((this.phase as string) === 'closed') return this.boundPort;
    this.phase = 'running';
    // Half the keepalive interval: a keepalive leaves at most half an interval late.
    this.timer = setInterval(() => this.tick(), this.options.keepaliveIntervalMs / 2);
    this.timer.unref();
    for (const channel of this.channels.values()) channel.open();
    return this.boundPort;
  }

  /** The port bound by start() (the one chosen when the listen address asked for 0). */
  get port(): number {
    invariant(this.boundPort !== 0, 'the port is known once start() resolved');
    return this.boundPort;
  }

  /** `host:port` peers reach this transport at. */
  get address(): string {
    return `${this.options.listenAddress.replace(/:\d+$/, '')}:${this.port}`;
  }

  get nodeId(): NodeId {
    return this.options.nodeId;
  }

  /** A copy of the counters. */
  get metrics(): Readonly<TransportMetrics> {
    return { ...this.counters };
  }

  /** The state of the stream to `peer`, or null for an unknown peer. */
  peerState(peer: NodeId): PeerChannelState | null {
    return this.channels.get(peer)?.state ?? null;
  }

  /** Known peers and their addresses. */
  peers(): ReadonlyMap<NodeId, string> {
    return new Map([...this.channels].map(([peer, channel]) => [peer, channel.address]));
  }

  /** Learns (or changes) the address of a peer process; a changed address re-opens its stream. */
  addPeer(peer: NodeId, address: string): void {
    assertNodeId(peer, 'peer id');
    assertAddress(address);
    invariant(peer !== this.options.nodeId, 'a transport is not its own peer');
    const existing = this.channels.get(peer);
    if (existing !== undefined && existing.address === address) return;
    existing?.close();
    const channel = new PeerChannel(peer, address, this.channelContext);
    this.channels.set(peer, channel);
    this.unknownPeerReportedAtMs.delete(peer);
    if (this.phase === 'running') channel.open();
  }

  /** Forgets a peer process (it left every group): its stream ends. */
  removePeer(peer: NodeId): void {
    this.channels.get(peer)?.close();
    this.channels.delete(peer);
  }

  listen(handler: TransportHandler): void {
    invariant(this.handler === null, 'listen is called once');
    this.handler = handler;
  }

  send(to: NodeId, envelopes: readonly Envelope[]): void {
    if (this.phase !== 'running') {
      // Not started yet, or closed: nothing can leave (start() must resolve before the host runs).
      this.counters.batchesDroppedWhileDown++;
      this.counters.messagesDroppedWhileDown += envelopes.length;
      return;
    }
    const channel = this.channels.get(to);
    if (channel === undefined) {
      this.counters.batchesDroppedUnknownPeer++;
      this.maybeReportUnknownPeer(to);
      return;
    }
    if (channel.dropsEverything) {
      // Down: no need to encode what would be dropped (the outage was reported).
      this.counters.batchesDroppedWhileDown++;
      this.counters.messagesDroppedWhileDown += envelopes.length;
      return;
    }
    const { batches, oversizedMessages } = encodeBatches(this.options.nodeId, to, envelopes, this.options.maxBatchBytes);
    this.counters.messagesOversized += oversizedMessages;
    channel.enqueue(batches);
  }

  async sendSnapshot(to: NodeId, chunks: AsyncIterable<SnapshotChunk> | Iterable<SnapshotChunk>): Promise<void> {
    if (this.phase !== 'running') throw new TransportError('CLOSED', `transport of node ${this.options.nodeId} is not running`);
    const channel = this.channels.get(to);
    if (channel === undefined) {
      this.maybeReportUnknownPeer(to);
      throw new TransportError('UNKNOWN_PEER', `no address known for node ${to}`);
    }
    try {
      await sendSnapshotChunks(channel.address, this.channelContext.channelOptions, chunks, this.snapshotCalls);
      this.counters.snapshotsSent++;
    } catch (error) {
      this.counters.snapshotsSendFailed++;
      throw error;
    }
  }

  /** Ends every stream, then shuts the server down: gracefully, then by force after the grace period. */
  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    const wasBound = this.phase !== 'new';
    this.phase = 'closed';
    this.handler = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const channel of this.channels.values()) channel.close();
    for (const call of this.snapshotCalls) call.cancel();
    for (const stream of this.inbound) stream.call.end();
    this.inbound.clear();
    if (!wasBound) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, this.options.shutdownGraceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  // ------------------------------------------------------------- periodic duties

  private tick(): void {
    for (const channel of this.channels.values()) channel.tick();
  }

  private reportUnreachable(peer: NodeId): boolean {
    const handler = this.handler;
    if (handler === null || this.phase !== 'running') return false;
    this.counters.unreachableReports++;
    // Never from inside send() or a gRPC callback's stack: the handler may send.
    setImmediate(() => {
      if (this.handler === handler) handler.peerUnreachable(peer);
    });
    return true;
  }

  /** A node without an address is reported like a down peer: once per liveness timeout. */
  private maybeReportUnknownPeer(peer: NodeId): void {
    const now = this.options.clock.now();
    const last = this.unknownPeerReportedAtMs.get(peer);
    if (last !== undefined && now - last < this.options.livenessTimeoutMs) return;
    if (this.reportUnreachable(peer)) this.unknownPeerReportedAtMs.set(peer, now);
  }

  // ------------------------------------------------------------- serving Stream

  private serveStream(call: grpc.ServerDuplexStream<Buffer, RaftAck>): void {
    if (this.phase !== 'running') {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'transport is closing' });
      return;
    }
    const stream: InboundStream = { call, fromNode: 0, lastSequence: 0, ackScheduled: false };
    this.inbound.add(stream);
    call.sendMetadata(new grpc.Metadata()); // tells the sender the stream is up
    call.on('data', (bytes: Buffer) => this.receiveBatch(stream, bytes));
    call.on('end', () => {
      this.inbound.delete(stream);
      call.end();
    });
    call.on('error', () => this.inbound.delete(stream));
    call.on('cancelled', () => this.inbound.delete(stream));
  }

  private receiveBatch(stream: InboundStream, bytes: Buffer): void {
    if (this.phase !== 'running' || !this.inbound.has(stream)) return;
    let batch;
    try {
      batch = decodeRaftBatch(bytes);
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
      this.counters.batchesMalformed++;
      return;
    }
    if (batch.toNode !== this.options.nodeId) {
      this.refuseStream(stream, `batch for node ${batch.toNode} reached node ${this.options.nodeId}`);
      return;
    }
    if (batch.fromNode <= 0 || (stream.fromNode !== 0 && batch.fromNode !== stream.fromNode)) {
      this.refuseStream(stream, `batch from node ${batch.fromNode} on a stream from node ${stream.fromNode}`);
      return;
    }
    // Sequence numbers only grow on a stream; a gap is a batch dropped as malformed.
    if (batch.sequence <= stream.lastSequence) {
      this.counters.batchesRefused++;
      return;
    }
    stream.fromNode = batch.fromNode;
    stream.lastSequence = batch.sequence;
    this.scheduleAck(stream);
    this.channels.get(batch.fromNode)?.heard();
    const handler = this.handler;
    if (handler === null) {
      this.counters.batchesDroppedNoHandler++;
      return;
    }
    this.counters.batchesReceived++;
    this.counters.messagesReceived += batch.messages.length;
    if (batch.messages.length === 0) this.counters.keepalivesReceived++;
    const envelopes: Envelope[] = batch.messages.map((item) => ({ group: item.groupId, message: item.message }));
    handler.receive(batch.fromNode, envelopes);
  }

  /** One ack per event-loop turn covers every batch that turn delivered (acks are cumulative). */
  private scheduleAck(stream: InboundStream): void {
    if (stream.ackScheduled) return;
    stream.ackScheduled = true;
    setImmediate(() => {
      stream.ackScheduled = false;
      if (this.inbound.has(stream)) stream.call.write({ sequence: stream.lastSequence });
    });
  }

  private refuseStream(stream: InboundStream, reason: string): void {
    this.counters.batchesRefused++;
    this.inbound.delete(stream);
    stream.call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: reason });
  }

  // ------------------------------------------------------------- serving InstallSnapshot

  private serveInstallSnapshot(call: grpc.ServerReadableStream<InboundChunk, SnapshotAck>, callback: grpc.sendUnaryData<SnapshotAck>): void {
    const handler = this.handler;
    if (this.phase !== 'running' || handler === null) {
      this.refuseSnapshot(callback, 'the transport is not accepting snapshots');
      return;
    }
    if (this.installsInFlight >= this.options.maxConcurrentSnapshotInstalls) {
      this.refuseSnapshot(callback, `busy: ${this.installsInFlight} snapshot installs in progress`);
      return;
    }
    this.installsInFlight++;
    void this.install(call, handler).then((ack) => {
      this.installsInFlight--;
      if (ack.accepted) this.counters.snapshotsReceived++;
      else this.counters.snapshotsRefused++;
      callback(null, ack);
    });
  }

  private refuseSnapshot(callback: grpc.sendUnaryData<SnapshotAck>, reason: string): void {
    this.counters.snapshotsRefused++;
    callback(null, { group_id: 0, accepted: false, bytes_received: 0, error: reason });
  }

  /** Runs one transfer through the gate into the handler; never rejects (a refusal is an answer). */
  private async install(call: grpc.ServerReadableStream<InboundChunk, SnapshotAck>, handler: TransportHandler): Promise<SnapshotAck> {
    const gate = new InboundSnapshotGate(this.options.nodeId, this.options.maxSnapshotChunkBytes);
    const source = call[Symbol.asyncIterator]() as AsyncIterator<InboundChunk>;
    let groupId = 0;
    try {
      const first = await source.next();
      if (first.done === true) gate.end();
      const firstChunk = gate.accept(first.value as InboundChunk);
      groupId = firstChunk.group;
      await handler.receiveSnapshot(firstChunk.from, throughGate(gate, firstChunk, source));
      return { group_id: groupId, accepted: true, bytes_received: gate.bytesReceived, error: '' };
    } catch (error) {
      await source.return?.();
      return { group_id: groupId, accepted: false, bytes_received: gate.bytesReceived, error: describeRefusal(error) };
    }
  }
}

/** The rest of a transfer, each chunk checked by the gate before the handler sees it. */
async function* throughGate(gate: InboundSnapshotGate, first: SnapshotChunk, source: AsyncIterator<InboundChunk>): AsyncGenerator<SnapshotChunk> {
  yield first;
  for (;;) {
    const next = await source.next();
    if (next.done === true) {
      gate.end();
      return;
    }
    yield gate.accept(next.value);
  }
}

function describeRefusal(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
