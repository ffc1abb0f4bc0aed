import { invariant } from './errors.ts';
import type { Index, ProgressState, ProgressStatus } from './types.ts';

/**
 * A bounded window of append messages in flight to one follower (flow control):
 * each slot holds the last index a message carried and its payload bytes.
 */
export class Inflights {
  private readonly lastIndexes: Index[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytesInFlight = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.lastIndexes.length - this.head;
  }

  full(): boolean {
    return this.count >= this.maxMessages || this.bytesInFlight >= this.maxBytes;
  }

  add(lastIndex: Index, bytes: number): void {
    invariant(!this.full(), 'cannot add to a full inflight window');
    const n = this.lastIndexes.length;
    invariant(n === this.head || this.lastIndexes[n - 1]! <= lastIndex, 'inflight indexes must not decrease');
    this.lastIndexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytesInFlight += bytes;
  }

  /** Frees every message whose last index is <= index (acknowledged). */
  freeTo(index: Index): void {
    while (this.head < this.lastIndexes.length && this.lastIndexes[this.head]! <= index) {
      this.bytesInFlight -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.lastIndexes.length) {
      this.lastIndexes.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Frees the oldest slot: after a silence, one message is presumed lost (etcd's FreeFirstOne). */
  freeFirst(): void {
    if (this.count === 0) return;
    this.bytesInFlight -= this.sizes[this.head]!;
    this.head++;
  }

  reset(): void {
    this.lastIndexes.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.bytesInFlight = 0;
  }
}

/**
 * The leader's view of one follower (etcd raft's Progress): how much of the log it
 * holds (`match`), what to send next (`next`), and how to send it:
 * - probe: one append at a time until the follower's position is known;
 * - replicate: optimistic pipelining, bounded by the inflight window;
 * - snapshot: waiting for a snapshot to be installed, nothing else is sent.
 */
export class Progress {
  match: Index = 0;
  next: Index;
  state: ProgressState = 'probe';
  pendingSnapshot: Index = 0;
  /** Heard from within the current election timeout (CheckQuorum, §6.2 of the thesis). */
  recentActive = false;
  /** In probe state: an append was sent and is unanswered. */
  probeSent = false;
  /** The commit index last sent to this follower. */
  sentCommit: Index = 0;
  /** Match when the previous heartbeat response arrived: no movement since means a stall. */
  matchAtLastHeartbeat = -1;
  /** Send an append on the next flush even if it carries no entries (a stall probe). */
  forceSend = false;
  /** The leader tick at which the newest acknowledged heartbeat was sent (leases). */
  ackedHeartbeatTick = -1;
  learner: boolean;
  readonly inflights: Inflights;

  constructor(next: Index, learner: boolean, maxInflightMessages: number, maxInflightBytes: number) {
    this.next = next;
    this.learner = learner;
    this.inflights = new Inflights(maxInflightMessages, maxInflightBytes);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      this.next = Math.max(this.match + 1, this.pendingSnapshot + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = 'probe';
    this.pendingSnapshot = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.pendingSnapshot = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.state = 'snapshot';
    this.pendingSnapshot = snapshotIndex;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** A successful append response up to `index`; returns whether match moved. */
  maybeUpdate(index: Index): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Pipelining: entries up to `lastIndex` were just sent. */
  sentEntries(lastIndex: Index, bytes: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex, bytes);
    } else {
      invariant(this.state === 'probe', 'appends are not sent to a follower receiving a snapshot');
      this.probeSent = true;
    }
  }

  /**
   * A rejected append for prevIndex `rejected`; `hint` is where the follower's log may
   * match. Returns false if the rejection is stale (out of order).
   */
  maybeDecreaseTo(rejected: Index, hint: Index): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      // Pipelined appends after the rejected one are lost: restart from what matched.
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      learner: this.learner,
      recentActive: this.recentActive,
      inflight: this.inflights.count,
      pendingSnapshot: this.pendingSnapshot,
    };
  }
}
