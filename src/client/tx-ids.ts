/**
 * The names of a client's operations across copysets (docs/transactions.md §2, §12): a
 * clientId drawn at random once per client, and a sequence number per operation. A
 * retry of an operation resends its txId, so the coordinator answers it from its record
 * instead of applying it twice. `ackedBelow` tells the coordinator which records it may
 * forget: every seq below it has been answered (or given up) and will not be retried.
 */
import type { TxIdWire } from '../proto/index.ts';

/** 2^21: the high part of a 53-bit id (2^53 = 2^21 · 2^32 keeps it a safe integer). */
const HIGH_RANGE = 2 ** 21;
/** 2^32: the low part of a 53-bit id. */
const LOW_RANGE = 2 ** 32;

export class TxIdSource {
  /** A random 53-bit safe integer (two draws: one draw of Math.random holds fewer random bits). */
  readonly clientId: number;
  private nextSeq = 1;
  /** Seqs handed out and not answered yet. */
  private readonly outstanding = new Set<number>();

  /** `random`: uniform in [0, 1); inject a seeded source for reproducible ids. */
  constructor(random: () => number = Math.random) {
    const high = Math.floor(random() * HIGH_RANGE);
    const low = Math.floor(random() * LOW_RANGE);
    this.clientId = high * LOW_RANGE + low;
    if (!Number.isSafeInteger(this.clientId) || this.clientId < 0) throw new RangeError('TxIdSource: random() must return values in [0, 1)');
  }

  /** The name of a new operation. */
  next(): TxIdWire {
    const seq = this.nextSeq++;
    this.outstanding.add(seq);
    return { clientId: this.clientId, seq };
  }

  /** The operation `seq` is over: answered, or given up (it will not be retried). */
  answered(seq: number): void {
    this.outstanding.delete(seq);
  }

  /** The lowest seq handed out and not yet answered; the next seq when none is outstanding. */
  ackedBelow(): number {
    let lowest = this.nextSeq;
    for (const seq of this.outstanding) if (seq < lowest) lowest = seq;
    return lowest;
  }
}
