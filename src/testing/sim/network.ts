import type { GroupId, Message, NodeId } from '../../raft/types.ts';
import type { Random } from '../random.ts';
import type { EventQueue, SimEvent } from './event-queue.ts';

/** How the simulated network misbehaves. Random per-message delays also reorder. */
export interface NetworkOptions {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability that a message is silently lost. */
  readonly lossProbability: number;
  /** Probability that a message is delivered twice (with independent delays). */
  readonly duplicateProbability: number;
}

export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = {
  minDelayMs: 1,
  maxDelayMs: 5,
  lossProbability: 0,
  duplicateProbability: 0,
};

/** A core Message with the group it belongs to, as a multi-group transport carries it. */
export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly group: GroupId;
  readonly message: Message;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  cut: number;
  duplicated: number;
}

/** Encodes a directed link as one number (node ids stay far below 2^20). */
function linkKey(from: NodeId, to: NodeId): number {
  return from * 0x10_0000 + to;
}

/**
 * Point-to-point links between simulated nodes. A cut link drops what crosses it at
 * delivery time (so messages in flight when a partition starts are lost too).
 */
export class SimNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, cut: 0, duplicated: 0 };
  private options: NetworkOptions;
  private readonly cuts = new Set<number>();
  private readonly inFlight = new Map<SimEvent, Envelope>();

  constructor(
    private readonly queue: EventQueue,
    private readonly random: Random,
    options: Partial<NetworkOptions>,
    private readonly deliver: (envelope: Envelope) => void,
    /** Told of every message dropped: a real transport notices cut links and broken snapshot streams. */
    private readonly onDrop: (envelope: Envelope, reason: 'cut' | 'lost') => void,
  ) {
    this.options = { ...DEFAULT_NETWORK_OPTIONS, ...options };
  }

  get settings(): NetworkOptions {
    return this.options;
  }

  configure(options: Partial<NetworkOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** Sees every message sent (before loss or cuts), for tests that count traffic. */
  tap: ((envelope: Envelope) => void) | null = null;

  send(envelope: Envelope): void {
    this.stats.sent++;
    this.tap?.(envelope);
    if (this.isCut(envelope.from, envelope.to)) {
      this.stats.cut++;
      this.onDrop(envelope, 'cut');
      return;
    }
    if (this.random.chance(this.options.lossProbability)) {
      this.stats.lost++;
      this.onDrop(envelope, 'lost');
      return;
    }
    this.schedule(envelope);
    if (this.random.chance(this.options.duplicateProbability)) {
      this.stats.duplicated++;
      this.schedule(envelope);
    }
  }

  /** Cuts both directions between a and b. */
  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(linkKey(a, b));
    this.cuts.add(linkKey(b, a));
  }

  /** Cuts only messages from `from` to `to`. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(linkKey(from, to));
  }

  /** Cuts every link between nodes on different sides (nodes not listed are untouched). */
  partition(sides: readonly (readonly NodeId[])[]): void {
    for (let i = 0; i < sides.length; i++) {
      for (let j = i + 1; j < sides.length; j++) {
        for (const a of sides[i]!) for (const b of sides[j]!) this.cut(a, b);
      }
    }
  }

  /** Cuts `node` off from every node in `others`. */
  isolate(node: NodeId, others: readonly NodeId[]): void {
    for (const other of others) if (other !== node) this.cut(node, other);
  }

  /** Restores every link in both directions. */
  heal(): void {
    this.cuts.clear();
  }

  /** Restores the links between a and b. */
  reconnect(a: NodeId, b: NodeId): void {
    this.cuts.delete(linkKey(a, b));
    this.cuts.delete(linkKey(b, a));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.size > 0 && this.cuts.has(linkKey(from, to));
  }

  get hasCuts(): boolean {
    return this.cuts.size > 0;
  }

  /** Drops messages in flight (all of them, or those matching `filter`). Returns how many. */
  dropInFlight(filter: (envelope: Envelope) => boolean = () => true): number {
    let dropped = 0;
    for (const [event, envelope] of this.inFlight) {
      if (!filter(envelope)) continue;
      event.cancelled = true;
      this.inFlight.delete(event);
      this.onDrop(envelope, 'lost');
      dropped++;
    }
    this.stats.lost += dropped;
    return dropped;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private schedule(envelope: Envelope): void {
    const delay = this.random.int(this.options.minDelayMs, this.options.maxDelayMs);
    const event = this.queue.schedule(delay, () => {
      this.inFlight.delete(event);
      if (this.isCut(envelope.from, envelope.to)) {
        this.stats.cut++;
        this.onDrop(envelope, 'cut');
        return;
      }
      this.stats.delivered++;
      this.deliver(envelope);
    });
    this.inFlight.set(event, envelope);
  }
}
