/**
 * A Transport for hosts living in one process (tests, benchmarks, simulations): a hub
 * connects them, delivers each batch on a later event-loop turn (never re-entrantly),
 * keeps per-pair order, and can drop messages or cut links to model failures.
 *
 * Failure model: a send to a peer that is not connected, or across a cut link, is lost
 * and reported to the sender as `peerUnreachable` (as a broken gRPC stream would be). A
 * random drop rate loses batches silently (as a lossy network would).
 */
import type { NodeId } from '../raft/types.ts';
import type { SnapshotChunk } from '../transport/snapshot-chunks.ts';
import { HostError } from './host-errors.ts';
import type { Envelope, Transport, TransportHandler } from './interfaces.ts';

export class InMemoryHub {
  private readonly transports = new Map<NodeId, InMemoryTransport>();
  private readonly cut = new Set<string>();
  private readonly silenced = new Set<NodeId>();
  private dropRate = 0;
  private random: () => number = Math.random;
  /** Batches and envelopes delivered, for tests that count traffic. */
  readonly delivered = { batches: 0, envelopes: 0, keepalives: 0, snapshotChunks: 0 };

  /** The transport of host `node`; connecting again replaces a previous one (a restart). */
  connect(node: NodeId): InMemoryTransport {
    this.transports.get(node)?.detach();
    const transport = new InMemoryTransport(node, this);
    this.transports.set(node, transport);
    return transport;
  }

  /** Cuts the links between `a` and `b` (both directions). */
  partition(a: NodeId, b: NodeId): void {
    this.cut.add(linkKey(a, b));
  }

  /** Cuts every link of `node`. */
  isolate(node: NodeId): void {
    for (const other of this.transports.keys()) if (other !== node) this.partition(node, other);
  }

  /**
   * Loses everything to and from `node` without telling anyone: a process that hangs
   * or a network that blackholes, detectable only by missing keepalives.
   */
  silence(node: NodeId): void {
    this.silenced.add(node);
  }

  /** Restores every link and un-silences every node. */
  heal(): void {
    this.cut.clear();
    this.silenced.clear();
  }

  /** Loses each batch with this probability (drawn from `random`). */
  setDropRate(rate: number, random: () => number = Math.random): void {
    this.dropRate = rate;
    this.random = random;
  }

  /** @internal */
  route(from: NodeId, to: NodeId): InMemoryTransport | null {
    if (this.cut.has(linkKey(from, to))) return null;
    const target = this.transports.get(to);
    return target !== undefined && target.isListening ? target : null;
  }

  /** @internal */
  shouldDrop(from: NodeId, to: NodeId): boolean {
    if (this.silenced.has(from) || this.silenced.has(to)) return true;
    return this.dropRate > 0 && this.random() < this.dropRate;
  }

  /** @internal */
  forget(node: NodeId, transport: InMemoryTransport): void {
    if (this.transports.get(node) === transport) this.transports.delete(node);
  }
}

export class InMemoryTransport implements Transport {
  private handler: TransportHandler | null = null;
  private closed = false;

  /** @internal use InMemoryHub.connect */
  constructor(
    readonly node: NodeId,
    private readonly hub: InMemoryHub,
  ) {}

  get isListening(): boolean {
    return this.handler !== null && !this.closed;
  }

  listen(handler: TransportHandler): void {
    this.handler = handler;
  }

  send(to: NodeId, envelopes: readonly Envelope[]): void {
    if (this.closed) return;
    const target = this.hub.route(this.node, to);
    if (target === null) {
      this.reportUnreachable(to);
      return;
    }
    if (this.hub.shouldDrop(this.node, to)) return;
    const from = this.node;
    setImmediate(() => {
      const handler = target.handler;
      if (target.closed || handler === null || this.hub.route(from, to) !== target) return;
      this.hub.delivered.batches++;
      this.hub.delivered.envelopes += envelopes.length;
      if (envelopes.length === 0) this.hub.delivered.keepalives++;
      handler.receive(from, envelopes);
    });
  }

  async sendSnapshot(to: NodeId, chunks: AsyncIterable<SnapshotChunk> | Iterable<SnapshotChunk>): Promise<void> {
    const target = this.hub.route(this.node, to);
    if (this.closed || target === null || target.handler === null) {
      if (!this.closed) this.reportUnreachable(to);
      throw new HostError('SNAPSHOT_REFUSED', `host ${to} is unreachable from ${this.node}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
    const hub = this.hub;
    const from = this.node;
    // The receiver pulls chunks; a link cut mid-transfer ends the stream with an error.
    async function* stream(): AsyncIterable<SnapshotChunk> {
      for await (const chunk of chunks) {
        if (hub.route(from, to) !== target || hub.shouldDrop(from, to)) throw new HostError('SNAPSHOT_REFUSED', `link ${from}->${to} lost during a snapshot transfer`);
        hub.delivered.snapshotChunks++;
        yield chunk;
      }
    }
    await target.handler.receiveSnapshot(from, stream());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = null;
    this.hub.forget(this.node, this);
  }

  /** @internal the hub replaced this transport (its host restarted). */
  detach(): void {
    this.closed = true;
    this.handler = null;
  }

  private reportUnreachable(peer: NodeId): void {
    const handler = this.handler;
    if (handler === null) return;
    setImmediate(() => {
      if (!this.closed) handler.peerUnreachable(peer);
    });
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
