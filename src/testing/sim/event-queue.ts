/**
 * The simulator's clock: a binary min-heap of events ordered by (time, sequence).
 * The sequence number breaks ties in scheduling order, which makes a run fully
 * deterministic for a seed.
 */

export interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
  /** A cancelled event is skipped when it reaches the head of the queue. */
  cancelled: boolean;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private nextSeq = 0;
  private clock = 0;

  /** The virtual time of the event being run (ms). */
  get now(): number {
    return this.clock;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `run` at now + delayMs (delay clamped at 0: no event runs in the past). */
  schedule(delayMs: number, run: () => void): SimEvent {
    const event: SimEvent = { time: this.clock + Math.max(0, delayMs), seq: this.nextSeq++, run, cancelled: false };
    this.push(event);
    return event;
  }

  /** Time of the next live event, or Infinity. */
  peekTime(): number {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap.length > 0 ? this.heap[0]!.time : Number.POSITIVE_INFINITY;
  }

  /** Runs the next event; returns false when the queue is empty. */
  runNext(): boolean {
    for (;;) {
      const event = this.pop();
      if (event === undefined) return false;
      if (event.cancelled) continue;
      this.clock = event.time;
      event.run();
      return true;
    }
  }

  /** Moves the clock forward to `time` when nothing is scheduled before it. */
  advanceTo(time: number): void {
    if (time > this.clock) this.clock = time;
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
