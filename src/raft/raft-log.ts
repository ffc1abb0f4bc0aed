import { CompactedError, UnavailableError, invariant } from './errors.ts';
import type { Entry, Index, LogStorage, Snapshot, Term } from './types.ts';

/**
 * The log as the core sees it: the durable part in LogStorage, followed by entries
 * (and possibly a snapshot) handed out in a Ready but not yet confirmed durable.
 *
 *   storage: [firstIndex ...... lastIndex]
 *   unstable:                 [offset ...... ]   (overrides storage from offset on)
 */
export class RaftLog {
  readonly storage: LogStorage;
  private unstableSnapshot: Snapshot | null = null;
  private unstableEntries: Entry[] = [];
  private unstableOffset: Index;
  committed: Index;
  applied: Index;

  constructor(storage: LogStorage, committed: Index, applied: Index) {
    this.storage = storage;
    this.unstableOffset = storage.lastIndex() + 1;
    // Entries may be kept below the snapshot (compact(j) with j < snapshot index), but the
    // state machine restarts from the snapshot, so nothing at or below it is re-applied.
    const snapshotIndex = storage.snapshot().metadata.index;
    this.committed = Math.max(committed, snapshotIndex);
    this.applied = Math.max(applied, snapshotIndex);
    invariant(this.committed <= this.lastIndex(), () => `commit ${this.committed} beyond last index ${this.lastIndex()}`);
    invariant(this.applied <= this.committed, () => `applied ${this.applied} beyond commit ${this.committed}`);
  }

  firstIndex(): Index {
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.metadata.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): Index {
    if (this.unstableEntries.length > 0) return this.unstableOffset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.metadata.index;
    return this.storage.lastIndex();
  }

  lastTerm(): Term {
    return this.term(this.lastIndex());
  }

  /** Term of entry i; throws for compacted or missing indexes. */
  term(i: Index): Term {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i, dummy + 1);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    if (this.unstableSnapshot !== null && i === this.unstableSnapshot.metadata.index) {
      return this.unstableSnapshot.metadata.term;
    }
    if (i >= this.unstableOffset && this.unstableEntries.length > 0) {
      return this.unstableEntries[i - this.unstableOffset]!.term;
    }
    return this.storage.term(i);
  }

  /** Term of entry i, or -1 if it is compacted or missing. */
  termOrNone(i: Index): Term {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return -1;
    return this.term(i);
  }

  matchTerm(i: Index, term: Term): boolean {
    return this.termOrNone(i) === term;
  }

  /** Whether a log ending at (index, term) is at least as up to date as ours (§5.4.1). */
  isUpToDate(index: Index, term: Term): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries (§5.3): if our log has (prevIndex, prevTerm),
   * append the entries (dropping a conflicting suffix) and advance commit.
   * Returns the index of the last new entry, or -1 if the previous entry does not match.
   */
  maybeAppend(prevIndex: Index, prevTerm: Term, leaderCommit: Index, entries: readonly Entry[]): Index {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      // §5.4: an entry that is committed can never be overwritten.
      invariant(conflict > this.committed, () => `entry ${conflict} conflicts with the committed prefix (commit ${this.committed})`);
      this.append(entries.slice(conflict - entries[0]!.index));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 if none. */
  findConflict(entries: readonly Entry[]): Index {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (fast back-off over
   * divergent logs, thesis §5.3 optimization): everything above it cannot match.
   */
  findConflictByTerm(index: Index, term: Term): Index {
    let i = Math.min(index, this.lastIndex());
    const floor = this.firstIndex() - 1;
    while (i > floor) {
      const t = this.termOrNone(i);
      if (t <= term) return i;
      i--;
    }
    return i;
  }

  /** Appends to the unstable part, replacing any suffix from entries[0].index. */
  append(entries: readonly Entry[]): Index {
    if (entries.length === 0) return this.lastIndex();
    const first = entries[0]!.index;
    invariant(first > this.committed, () => `append at ${first} would overwrite committed ${this.committed} (§5.4)`);
    invariant(first <= this.lastIndex() + 1, () => `append at ${first} leaves a hole after ${this.lastIndex()}`);
    if (first === this.unstableOffset + this.unstableEntries.length) {
      for (const e of entries) this.unstableEntries.push(e);
    } else if (first <= this.unstableOffset) {
      // The new entries replace everything unstable (and part of storage's suffix,
      // which the next Ready's entries overwrite durably).
      this.unstableOffset = first;
      this.unstableEntries = entries.slice();
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, first - this.unstableOffset);
      for (const e of entries) this.unstableEntries.push(e);
    }
    return this.lastIndex();
  }

  commitTo(index: Index): void {
    if (index <= this.committed) return;
    invariant(index <= this.lastIndex(), () => `commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: Index): void {
    if (index === 0) return;
    invariant(index <= this.committed && index >= this.applied, () => `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  unstable(): { snapshot: Snapshot | null; entries: readonly Entry[] } {
    return { snapshot: this.unstableSnapshot, entries: this.unstableEntries };
  }

  hasUnstable(): boolean {
    return this.unstableSnapshot !== null || this.unstableEntries.length > 0;
  }

  /**
   * Entries up to (index, term) are durable. The term check matters: a newer leader may
   * have overwritten that index meanwhile, and an older write's completion must not
   * mark the newer entry durable (the A→C→A bug).
   */
  stableTo(index: Index, term: Term): void {
    if (this.unstableEntries.length === 0 || index < this.unstableOffset) return;
    const k = index - this.unstableOffset;
    const e = this.unstableEntries[k];
    if (e === undefined || e.term !== term) return;
    this.unstableEntries = this.unstableEntries.slice(k + 1);
    this.unstableOffset = index + 1;
  }

  stableSnapshotTo(index: Index): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.metadata.index === index) this.unstableSnapshot = null;
  }

  /** Replaces the whole log by a snapshot (§7): used when our log does not contain it. */
  restore(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    invariant(index > this.committed, () => `snapshot ${index} is not beyond commit ${this.committed}`);
    this.committed = index;
    this.unstableSnapshot = snapshot;
    this.unstableEntries = [];
    this.unstableOffset = index + 1;
  }

  /** Entries in [lo, hi), at most maxBytes of payload (always at least one). */
  slice(lo: Index, hi: Index, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    if (lo >= hi) return [];
    invariant(lo >= this.firstIndex(), () => `slice from ${lo} below first index ${this.firstIndex()}`);
    invariant(hi <= this.lastIndex() + 1, () => `slice to ${hi} beyond last index ${this.lastIndex()}`);
    let out: Entry[] = [];
    if (lo < this.unstableOffset) {
      out = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes);
      if (out.length < Math.min(hi, this.unstableOffset) - lo) return out;
    }
    if (hi > this.unstableOffset) {
      let bytes = 0;
      for (const e of out) bytes += e.data.length;
      for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
        const e = this.unstableEntries[i - this.unstableOffset]!;
        bytes += e.data.length;
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  /** Committed entries not yet handed to the state machine, starting after `from`. */
  nextCommittedEntries(from: Index, maxBytes: number): Entry[] {
    const lo = Math.max(from, this.firstIndex() - 1) + 1;
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }
}
