/**
 * The anchor's queue of directory moves (docs/transactions.md §8 as built): the
 * lock-only prepares of one file system's dirmove lock, taken one at a time in arrival
 * order. Only the head waits in the copyset for the lock's holder to resolve; the others
 * wait here for their turn. Without it every waiter was refused and backed off
 * exponentially, so the moves that had waited longest retried least often (p99 5.2 s at
 * 64 in flight, against 48 ms at p50).
 *
 * Leader memory only: a new leader starts with an empty queue, and a waiter whose turn
 * does not come within `maxWaitMs` gets the timeout answer (its coordinator backs off and
 * retries, as for any refusal).
 */
export class AnchorQueue {
  /** Per queue: the promise that settles when its last member is done. */
  private readonly tails = new Map<string, Promise<void>>();
  private waiting = 0;

  /** Members queued or running, over all queues (tests). */
  get length(): number {
    return this.waiting;
  }

  async run<T>(queue: string, maxWaitMs: number, work: () => Promise<T>, timedOut: () => T): Promise<T> {
    const previous = this.tails.get(queue) ?? Promise.resolve();
    let leave!: () => void;
    const left = new Promise<void>((resolve) => (leave = resolve));
    // The next member waits for this one and, through `previous`, for every one before.
    const tail = previous.then(() => left);
    this.tails.set(queue, tail);
    this.waiting++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const turn = await Promise.race([previous.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), maxWaitMs)))]);
      clearTimeout(timer);
      if (!turn) return timedOut();
      return await work();
    } finally {
      this.waiting--;
      leave();
      if (this.tails.get(queue) === tail) this.tails.delete(queue);
    }
  }
}
