/**
 * The outbound side of one peer process: one long-lived RaftTransport.Stream carrying
 * the batches of every group, in the order they were sent.
 *
 * States: `connecting` (stream opened, the peer has not answered yet: batches queue),
 * `up` (batches are written as the stream takes them), `down` (the stream failed:
 * batches are dropped, Raft retries; a reconnect waits its backoff). The peer's
 * silence is watched too: a stream with batches unacknowledged for the liveness timeout
 * is treated as failed, since the transport sends keepalives and the peer acks them.
 *
 * The peer is reported unreachable once when an outage starts and again each liveness
 * timeout while it lasts; an answer from the peer ends the outage.
 */
import * as grpc from '@grpc/grpc-js';
import type { RaftAck } from '../proto/index.ts';
import type { NodeId } from '../raft/types.ts';
import type { ResolvedGrpcTransportOptions } from './grpc-transport-options.ts';
import { encodeBatches, withSequence, type EncodedBatch } from './raft-batch-framing.ts';
import { STREAM_PATH, raftTransportClientMethods } from './raft-transport-rpc.ts';
import type { TransportMetrics } from './transport-metrics.ts';

/** Spread of reconnect waits (±20 %), so that peers restarted together do not retry in lockstep. */
const BACKOFF_JITTER = 0.2;
/** A drained prefix of the queue is cut off once it is this long (amortized O(1) dequeue). */
const QUEUE_COMPACT_AFTER = 1024;

export type PeerChannelState = 'connecting' | 'up' | 'down' | 'closed';

/** What a channel needs from its transport. */
export interface PeerChannelContext {
  readonly nodeId: NodeId;
  readonly options: ResolvedGrpcTransportOptions;
  readonly metrics: TransportMetrics;
  readonly channelOptions: grpc.ChannelOptions;
  /** Tells the handler (later, never re-entrantly); false when there is no handler yet. */
  readonly reportUnreachable: (peer: NodeId) => boolean;
}

export class PeerChannel {
  private stateNow: PeerChannelState = 'down';
  private client: grpc.Client | null = null;
  private call: grpc.ClientDuplexStream<Buffer, RaftAck> | null = null;
  private queue: EncodedBatch[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private writable = false;
  /** Sequence of the last batch written on the current stream, and the last one acknowledged. */
  private streamSequence = 0;
  private ackedSequence = 0;
  /** Since when the peer owes an answer (stream opened, or batches unacked without progress). */
  private awaitingSinceMs: number | null = null;
  private lastSentMs: number;
  private lastHeardMs: number;
  private outage = false;
  private reportedAtMs: number | null = null;
  private backoffMs: number;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private lastFailureText = '';

  constructor(
    readonly peer: NodeId,
    readonly address: string,
    private readonly context: PeerChannelContext,
  ) {
    const now = this.now();
    this.lastSentMs = now;
    this.lastHeardMs = now;
    this.backoffMs = context.options.initialBackoffMs;
  }

  get state(): PeerChannelState {
    return this.stateNow;
  }

  /** Opens the stream (called once, when the transport starts or learns the peer). */
  open(): void {
    if (this.stateNow !== 'down' || this.reconnectTimer !== null) return;
    this.connect();
  }

  /** Queues the batches of one send() (dropped at once while the stream is down). */
  enqueue(batches: readonly EncodedBatch[]): void {
    const metrics = this.context.metrics;
    if (this.stateNow === 'closed') return;
    if (this.stateNow === 'down') {
      metrics.batchesDroppedWhileDown += batches.length;
      for (const batch of batches) metrics.messagesDroppedWhileDown += batch.messageCount;
      return;
    }
    for (const batch of batches) {
      this.queue.push(batch);
      this.queuedBytes += batch.body.length;
    }
    this.lastSentMs = this.now();
    this.dropOldestBeyondLimit();
    this.flush();
  }

  /** Whether a batch sent now would be dropped (so that send() need not encode it). */
  get dropsEverything(): boolean {
    return this.stateNow === 'down' || this.stateNow === 'closed';
  }

  /** Why the stream last failed (for diagnostics). */
  get lastFailure(): string {
    return this.lastFailureText;
  }

  /** The peer showed it is alive (a batch from it arrived on our server). */
  heard(): void {
    this.lastHeardMs = this.now();
    this.maybeEndOutage();
  }

  /** Periodic duties: keepalive, silence detection, repeated outage reports. */
  tick(): void {
    if (this.stateNow === 'closed') return;
    const now = this.now();
    const { keepaliveIntervalMs, livenessTimeoutMs, connectTimeoutMs } = this.context.options;
    if (this.stateNow !== 'down' && now - this.lastSentMs >= keepaliveIntervalMs) {
      this.enqueue(encodeBatches(this.context.nodeId, this.peer, [], this.context.options.maxBatchBytes).batches);
    }
    const answerTimeoutMs = this.stateNow === 'connecting' ? connectTimeoutMs : livenessTimeoutMs;
    if (this.awaitingSinceMs !== null && now - this.awaitingSinceMs > answerTimeoutMs) {
      this.fail(`no answer from node ${this.peer} within ${answerTimeoutMs} ms`);
      return;
    }
    if (!this.outage && now - this.lastHeardMs > livenessTimeoutMs) this.startOutage();
    if (this.outage && (this.reportedAtMs === null || now - this.reportedAtMs >= livenessTimeoutMs)) this.report();
  }

  /** Ends the stream and stops reconnecting. */
  close(): void {
    if (this.stateNow === 'closed') return;
    this.stateNow = 'closed';
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.discardQueue(false);
    const call = this.call;
    this.call = null;
    call?.end();
    this.client?.close();
    this.client = null;
  }

  // ------------------------------------------------------------- stream lifecycle

  private connect(): void {
    if (this.failures > 0) this.context.metrics.reconnects++;
    const methods = raftTransportClientMethods().stream;
    const client = new grpc.Client(this.address, grpc.credentials.createInsecure(), this.context.channelOptions);
    const call = client.makeBidiStreamRequest(STREAM_PATH, methods.requestSerialize, methods.responseDeserialize);
    this.client = client;
    this.call = call;
    this.stateNow = 'connecting';
    this.streamSequence = 0;
    this.ackedSequence = 0;
    this.writable = false;
    this.awaitingSinceMs = this.now();
    // The server sends its headers as soon as it takes the stream: that is "up".
    call.on('metadata', () => this.call === call && this.becomeUp());
    call.on('data', (ack: RaftAck) => this.call === call && this.acknowledged(ack.sequence));
    call.on('drain', () => {
      if (this.call !== call) return;
      this.writable = true;
      this.flush();
    });
    call.on('error', (error: grpc.ServiceError) => this.call === call && this.fail(`stream to node ${this.peer} failed: ${error.details || error.message}`));
    call.on('status', () => this.call === call && this.fail(`stream to node ${this.peer} ended by the peer`));
  }

  /**
   * The peer took the stream. Backoff and outage are only reset by its first ack: a
   * process that takes streams but refuses our batches (it is another node) must not
   * make us reconnect and report in a tight loop.
   */
  private becomeUp(): void {
    this.stateNow = 'up';
    this.writable = true;
    this.awaitingSinceMs = null;
    this.lastHeardMs = this.now();
    this.flush();
  }

  private acknowledged(sequence: number): void {
    // Acks are cumulative; one for a batch never written is a confused peer: ignore it.
    if (sequence <= this.ackedSequence || sequence > this.streamSequence) return;
    this.context.metrics.batchesAcked += sequence - this.ackedSequence;
    this.ackedSequence = sequence;
    const now = this.now();
    this.lastHeardMs = now;
    this.awaitingSinceMs = this.ackedSequence === this.streamSequence ? null : now;
    this.backoffMs = this.context.options.initialBackoffMs;
    this.maybeEndOutage();
  }

  private fail(reason: string): void {
    if (this.stateNow === 'closed' || this.stateNow === 'down') return;
    this.lastFailureText = reason;
    this.context.metrics.streamFailures++;
    this.failures++;
    this.stateNow = 'down';
    const call = this.call;
    const client = this.client;
    this.call = null;
    this.client = null;
    call?.cancel();
    client?.close();
    this.discardQueue(true);
    this.awaitingSinceMs = null;
    this.startOutage();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const jitter = 1 + BACKOFF_JITTER * (2 * this.context.options.random() - 1);
    const waitMs = Math.round(this.backoffMs * jitter);
    this.backoffMs = Math.min(this.context.options.maxBackoffMs, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stateNow === 'down') this.connect();
    }, waitMs);
    this.reconnectTimer.unref();
  }

  // ------------------------------------------------------------- outage reports

  private startOutage(): void {
    if (this.outage) return;
    this.outage = true;
    this.reportedAtMs = null;
    this.report();
  }

  /** An outage ends when the stream is up and the peer answers. */
  private maybeEndOutage(): void {
    if (!this.outage || this.stateNow !== 'up') return;
    this.outage = false;
    this.reportedAtMs = null;
  }

  private report(): void {
    // Without a handler yet, the next tick tries again.
    if (this.context.reportUnreachable(this.peer)) this.reportedAtMs = this.now();
  }

  // ------------------------------------------------------------- the queue

  private flush(): void {
    const call = this.call;
    if (this.stateNow !== 'up' || call === null) return;
    const metrics = this.context.metrics;
    while (this.writable && this.queueHead < this.queue.length) {
      const batch = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as never;
      this.queuedBytes -= batch.body.length;
      this.streamSequence++;
      if (this.awaitingSinceMs === null) this.awaitingSinceMs = this.now();
      metrics.batchesSent++;
      metrics.messagesSent += batch.messageCount;
      if (batch.messageCount === 0) metrics.keepalivesSent++;
      this.writable = call.write(withSequence(batch.body, this.streamSequence));
    }
    this.compactQueue();
  }

  private dropOldestBeyondLimit(): void {
    const metrics = this.context.metrics;
    while (this.queuedBytes > this.context.options.maxQueuedBytesPerPeer && this.queueHead < this.queue.length) {
      const batch = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as never;
      this.queuedBytes -= batch.body.length;
      metrics.batchesDroppedQueueFull++;
      metrics.messagesDroppedQueueFull += batch.messageCount;
    }
    this.compactQueue();
  }

  private discardQueue(count: boolean): void {
    const metrics = this.context.metrics;
    if (count) {
      for (let i = this.queueHead; i < this.queue.length; i++) {
        metrics.batchesDroppedWhileDown++;
        metrics.messagesDroppedWhileDown += this.queue[i]!.messageCount;
      }
    }
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
  }

  private compactQueue(): void {
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead >= QUEUE_COMPACT_AFTER && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private now(): number {
    return this.context.options.clock.now();
  }
}
