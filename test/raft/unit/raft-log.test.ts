import { describe, expect, it } from 'vitest';
import { CompactedError, InvariantError, UnavailableError } from '../../../src/raft/errors.ts';
import { MemoryLogStorage } from '../../../src/raft/memory-storage.ts';
import { RaftLog } from '../../../src/raft/raft-log.ts';
import type { Entry, Snapshot } from '../../../src/raft/types.ts';

const CONFIG = { voters: [1, 2, 3], learners: [], epoch: 0 };

function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(data) };
}

/** Entries 1..terms.length with the given terms. */
function entriesWithTerms(terms: number[], from = 1): Entry[] {
  return terms.map((t, k) => entry(from + k, t));
}

/** A log whose storage holds `stable` and whose unstable part holds `unstable`. */
function makeLog(stable: Entry[], unstable: Entry[] = [], committed = 0): RaftLog {
  const storage = new MemoryLogStorage(CONFIG);
  storage.append(stable);
  const log = new RaftLog(storage, committed, 0);
  log.append(unstable);
  return log;
}

function terms(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i));
  return out;
}

function snapshot(index: number, term: number): Snapshot {
  return { metadata: { index, term, config: CONFIG }, data: new Uint8Array([7]) };
}

describe('RaftLog.maybeAppend (§5.3)', () => {
  it('appends after a matching previous entry and commits min(leaderCommit, last new)', () => {
    const log = makeLog(entriesWithTerms([1, 2, 3]));
    expect(log.maybeAppend(3, 3, 10, [entry(4, 3), entry(5, 3)])).toBe(5);
    expect(terms(log)).toEqual([1, 2, 3, 3, 3]);
    // leaderCommit beyond what this append proves matches: only up to the last new entry.
    expect(log.committed).toBe(5);
    const log2 = makeLog(entriesWithTerms([1, 2, 3]));
    expect(log2.maybeAppend(3, 3, 4, [entry(4, 3), entry(5, 3)])).toBe(5);
    expect(log2.committed).toBe(4);
  });

  it('commits only up to the last entry the append covers, not our longer suffix', () => {
    // Our entries beyond prevIndex+len may be from a stale leader: commit must not reach them.
    const log = makeLog(entriesWithTerms([1, 1, 1, 1, 1]));
    expect(log.maybeAppend(2, 1, 5, [])).toBe(2);
    expect(log.committed).toBe(2);
  });

  it('rejects when the previous entry is missing or has another term', () => {
    const log = makeLog(entriesWithTerms([1, 2, 3]));
    expect(log.maybeAppend(3, 2, 3, [entry(4, 3)])).toBe(-1); // term mismatch
    expect(log.maybeAppend(4, 3, 3, [entry(5, 3)])).toBe(-1); // missing
    expect(terms(log)).toEqual([1, 2, 3]);
    expect(log.committed).toBe(0);
  });

  it('deletes a conflicting suffix and keeps the matching prefix', () => {
    const log = makeLog(entriesWithTerms([1, 1, 2, 2, 2]));
    expect(log.maybeAppend(2, 1, 0, [entry(3, 3), entry(4, 3)])).toBe(4);
    expect(terms(log)).toEqual([1, 1, 3, 3]);
    expect(log.lastIndex()).toBe(4);
  });

  it('does not truncate on a duplicate (reordered, older) append whose entries all match', () => {
    const log = makeLog(entriesWithTerms([1, 1, 2, 2, 2]));
    expect(log.maybeAppend(1, 1, 0, [entry(2, 1), entry(3, 2)])).toBe(3);
    expect(terms(log)).toEqual([1, 1, 2, 2, 2]);
    expect(log.lastIndex()).toBe(5);
  });

  it('refuses to overwrite a committed entry (§5.4 Leader Completeness)', () => {
    const log = makeLog(entriesWithTerms([1, 1, 2]), [], 3);
    expect(() => log.maybeAppend(1, 1, 3, [entry(2, 5)])).toThrow(InvariantError);
  });
});

describe('RaftLog.findConflict', () => {
  const log = makeLog(entriesWithTerms([1, 2, 3]));
  it.each([
    { given: [] as Entry[], want: 0 },
    { given: entriesWithTerms([1, 2, 3]), want: 0 },
    { given: entriesWithTerms([2, 3], 2), want: 0 },
    { given: entriesWithTerms([1, 2, 3, 4, 4]), want: 4 },
    { given: entriesWithTerms([3, 4, 4], 3), want: 4 },
    { given: entriesWithTerms([1, 4, 4]), want: 2 },
    { given: entriesWithTerms([4, 4], 3), want: 3 },
  ])('first entry differing or missing: $want', ({ given, want }) => {
    expect(log.findConflict(given)).toBe(want);
  });
});

describe('RaftLog.findConflictByTerm (fast back-off)', () => {
  // index: 1 2 3 4 5 6 7
  // term:  1 1 2 2 4 4 5
  const log = makeLog(entriesWithTerms([1, 1, 2, 2, 4, 4, 5]));
  it.each([
    { index: 7, term: 5, want: 7 },
    { index: 7, term: 4, want: 6 },
    { index: 7, term: 3, want: 4 },
    { index: 6, term: 2, want: 4 },
    { index: 7, term: 1, want: 2 },
    { index: 7, term: 0, want: 0 },
    { index: 20, term: 4, want: 6 }, // clamped to the last index
    { index: 3, term: 9, want: 3 },
  ])('largest index <= $index with term <= $term is $want', ({ index, term, want }) => {
    expect(log.findConflictByTerm(index, term)).toBe(want);
  });

  it('stops at the snapshot boundary of a compacted log', () => {
    const storage = new MemoryLogStorage(CONFIG);
    storage.append(entriesWithTerms([1, 1, 3, 3, 5]));
    storage.createSnapshot(3, CONFIG, new Uint8Array(0));
    storage.compact(3);
    const compacted = new RaftLog(storage, 3, 3);
    expect(compacted.findConflictByTerm(5, 4)).toBe(4);
    // Nothing above the boundary has term <= 2: answer the boundary itself, never below it.
    expect(compacted.findConflictByTerm(5, 2)).toBe(3);
  });
});

describe('RaftLog.stableTo', () => {
  it('marks entries durable only when the term matches (A→C→A)', () => {
    const log = makeLog([], entriesWithTerms([1, 1, 1]));
    // A newer leader overwrote index 2 and 3 meanwhile.
    log.append([entry(2, 2), entry(3, 2)]);
    log.stableTo(3, 1); // completion of the old write: must not count the new entries
    expect(log.unstable().entries.map((e) => e.index)).toEqual([1, 2, 3]);
    log.stableTo(3, 2);
    expect(log.unstable().entries).toEqual([]);
    expect(log.hasUnstable()).toBe(false);
  });

  it('keeps later entries unstable when a prefix becomes durable', () => {
    const log = makeLog([], entriesWithTerms([1, 1, 1, 1]));
    log.stableTo(2, 1);
    expect(log.unstable().entries.map((e) => e.index)).toEqual([3, 4]);
    log.stableTo(9, 1); // beyond: ignored
    expect(log.unstable().entries.map((e) => e.index)).toEqual([3, 4]);
  });
});

describe('RaftLog.restore (§7)', () => {
  it('replaces the whole log by the snapshot, including entries at and past it', () => {
    const log = makeLog(entriesWithTerms([1, 1, 2, 2]), entriesWithTerms([2, 2], 5), 2);
    log.restore(snapshot(6, 3));
    expect(log.firstIndex()).toBe(7);
    expect(log.lastIndex()).toBe(6);
    expect(log.term(6)).toBe(3);
    expect(log.committed).toBe(6);
    expect(log.unstable().snapshot?.metadata.index).toBe(6);
    expect(log.unstable().entries).toEqual([]);
    expect(() => log.term(5)).toThrow(CompactedError);
    // Appends continue right after the snapshot.
    expect(log.maybeAppend(6, 3, 7, [entry(7, 3)])).toBe(7);
    expect(log.committed).toBe(7);
    log.stableSnapshotTo(6);
    expect(log.unstable().snapshot).toBeNull();
  });

  it('refuses a snapshot that is not beyond the commit index', () => {
    const log = makeLog(entriesWithTerms([1, 1, 2]), [], 3);
    expect(() => log.restore(snapshot(3, 2))).toThrow(InvariantError);
  });
});

describe('RaftLog.term and slice across storage and unstable entries', () => {
  const storage = new MemoryLogStorage(CONFIG);
  storage.append([entry(1, 1, 'aa'), entry(2, 1, 'bb'), entry(3, 1, 'cc')]);
  storage.createSnapshot(1, CONFIG, new Uint8Array(0));
  storage.compact(1);
  const log = new RaftLog(storage, 1, 1);
  log.append([entry(4, 2, 'dd'), entry(5, 2, 'ee')]);

  it('answers terms from both parts and refuses outside them', () => {
    expect([1, 2, 3, 4, 5].map((i) => log.termOrNone(i))).toEqual([1, 1, 1, 2, 2]);
    expect(() => log.term(0)).toThrow(CompactedError);
    expect(() => log.term(6)).toThrow(UnavailableError);
    expect(log.termOrNone(0)).toBe(-1);
    expect(log.termOrNone(6)).toBe(-1);
  });

  it('slices across the boundary in order', () => {
    expect(log.slice(2, 6).map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(log.slice(4, 6).map((e) => e.index)).toEqual([4, 5]);
    expect(log.slice(3, 4).map((e) => e.index)).toEqual([3]);
    expect(log.slice(3, 3)).toEqual([]);
  });

  it('respects maxBytes across the boundary but always returns one entry', () => {
    expect(log.slice(2, 6, 6).map((e) => e.index)).toEqual([2, 3, 4]);
    expect(log.slice(2, 6, 4).map((e) => e.index)).toEqual([2, 3]);
    expect(log.slice(3, 6, 5).map((e) => e.index)).toEqual([3, 4]);
    expect(log.slice(4, 6, 0).map((e) => e.index)).toEqual([4]);
    expect(log.slice(2, 6, 0).map((e) => e.index)).toEqual([2]);
  });

  it('refuses slices outside the log', () => {
    expect(() => log.slice(1, 3)).toThrow();
    expect(() => log.slice(4, 7)).toThrow(InvariantError);
  });

  it('an unstable append below the unstable offset overrides storage', () => {
    const s = new MemoryLogStorage(CONFIG);
    s.append(entriesWithTerms([1, 1, 1, 1]));
    const l = new RaftLog(s, 1, 0);
    l.append([entry(3, 2)]);
    expect(l.lastIndex()).toBe(3);
    expect(l.slice(1, 4).map((e) => e.term)).toEqual([1, 1, 2]);
    expect(l.unstable().entries.map((e) => e.index)).toEqual([3]);
  });
});

describe('RaftLog.isUpToDate (§5.4.1)', () => {
  const log = makeLog(entriesWithTerms([1, 2, 2]));
  it.each([
    { index: 3, term: 2, want: true },
    { index: 4, term: 2, want: true },
    { index: 2, term: 2, want: false },
    { index: 1, term: 3, want: true },
    { index: 9, term: 1, want: false },
  ])('($index, $term) -> $want', ({ index, term, want }) => {
    expect(log.isUpToDate(index, term)).toBe(want);
  });
});
