import { CompactedError, UnavailableError, invariant } from './errors.ts';
import type { ConfigState, Entry, HardState, Index, LogStorage, Snapshot, Term } from './types.ts';

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/**
 * An in-memory log: the simulator's disk image and the real host's mirror of its
 * level store. Holds the latest snapshot and the entries after it.
 *
 * Layout: `log[0]` is a dummy entry at the snapshot's index/term, so term() can
 * answer for firstIndex()-1 (needed for prevLogTerm, §5.3).
 */
export class MemoryLogStorage implements LogStorage {
  private hard: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  private log: Entry[];

  constructor(config: ConfigState = { voters: [], learners: [], epoch: 0 }) {
    this.snap = { metadata: { index: 0, term: 0, config }, data: new Uint8Array(0) };
    this.log = [{ index: 0, term: 0, type: 'normal', data: new Uint8Array(0) }];
  }

  initialState(): { hardState: HardState; config: ConfigState } {
    return { hardState: this.hard, config: this.snap.metadata.config };
  }

  hardState(): HardState {
    return this.hard;
  }

  setHardState(hs: HardState): void {
    this.hard = hs;
  }

  firstIndex(): Index {
    return this.offset() + 1;
  }

  lastIndex(): Index {
    return this.offset() + this.log.length - 1;
  }

  term(i: Index): Term {
    const offset = this.offset();
    if (i < offset) throw new CompactedError(i, offset + 1);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    return this.log[i - offset]!.term;
  }

  entries(lo: Index, hi: Index, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    invariant(hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - offset]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Appends entries, first discarding any existing suffix from entries[0].index (§5.3). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const offset = this.offset();
    invariant(first > offset, () => `append at ${first} overlaps the snapshot at ${offset}`);
    invariant(first <= this.lastIndex() + 1, () => `append at ${first} leaves a hole after ${this.lastIndex()}`);
    this.log.length = first - offset;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      invariant(e.index === first + k, 'appended entries must be contiguous');
      this.log.push(e);
    }
  }

  /** Replaces the whole log by a snapshot received from the leader (§7). */
  applySnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    invariant(index >= this.offset(), () => `snapshot at ${index} is older than the one at ${this.offset()}`);
    this.snap = snap;
    this.log = [{ index, term, type: 'normal', data: new Uint8Array(0) }];
  }

  /** Records a snapshot the local state machine took at `index` (≤ lastIndex). */
  createSnapshot(index: Index, config: ConfigState, data: Uint8Array): Snapshot {
    invariant(index > this.snap.metadata.index, () => `snapshot at ${index} is not newer than ${this.snap.metadata.index}`);
    this.snap = { metadata: { index, term: this.term(index), config }, data };
    return this.snap;
  }

  /** Drops entries up to and including `index`, which a snapshot must cover. */
  compact(index: Index): void {
    const offset = this.offset();
    if (index <= offset) return;
    invariant(index <= this.snap.metadata.index, () => `compact(${index}) beyond snapshot ${this.snap.metadata.index}`);
    invariant(index <= this.lastIndex(), () => `compact(${index}) beyond last index ${this.lastIndex()}`);
    const head = this.log[index - offset]!;
    this.log = [{ index: head.index, term: head.term, type: 'normal', data: new Uint8Array(0) }, ...this.log.slice(index - offset + 1)];
  }

  private offset(): Index {
    return this.log[0]!.index;
  }
}
