import { describe, expect, it } from 'vitest';
import { CompactedError, InvariantError, UnavailableError } from '../../../src/raft/errors.ts';
import { EMPTY_HARD_STATE, MemoryLogStorage } from '../../../src/raft/memory-storage.ts';
import type { Entry } from '../../../src/raft/types.ts';

const CONFIG = { voters: [1, 2, 3], learners: [], epoch: 0 };

function entry(index: number, term: number, bytes = 0): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(bytes) };
}

function filled(terms: number[]): MemoryLogStorage {
  const s = new MemoryLogStorage(CONFIG);
  s.append(terms.map((t, k) => entry(k + 1, t, 2)));
  return s;
}

describe('MemoryLogStorage', () => {
  it('starts empty with the bootstrap configuration in a snapshot at index 0', () => {
    const s = new MemoryLogStorage(CONFIG);
    expect(s.initialState()).toEqual({ hardState: EMPTY_HARD_STATE, config: CONFIG });
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.snapshot().metadata).toEqual({ index: 0, term: 0, config: CONFIG });
  });

  it('persists the hard state', () => {
    const s = new MemoryLogStorage(CONFIG);
    s.setHardState({ term: 3, vote: 2, commit: 0 });
    expect(s.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 0 });
    expect(s.hardState()).toEqual({ term: 3, vote: 2, commit: 0 });
  });

  it('append overwrites the suffix from the first new index', () => {
    const s = filled([1, 1, 1, 1, 1]);
    s.append([entry(3, 2), entry(4, 2)]);
    expect(s.lastIndex()).toBe(4); // entry 5 of term 1 is gone
    expect([1, 2, 3, 4].map((i) => s.term(i))).toEqual([1, 1, 2, 2]);
    s.append([entry(5, 2)]);
    expect(s.lastIndex()).toBe(5);
  });

  it('refuses holes and non-contiguous batches', () => {
    const s = filled([1, 1]);
    expect(() => s.append([entry(4, 1)])).toThrow(InvariantError);
    expect(() => s.append([entry(3, 1), entry(5, 1)])).toThrow(InvariantError);
  });

  it('entries honours [lo, hi) and maxBytes, returning at least one entry', () => {
    const s = filled([1, 1, 2, 2]); // 2 bytes each
    expect(s.entries(1, 5).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(s.entries(2, 4).map((e) => e.index)).toEqual([2, 3]);
    expect(s.entries(1, 5, 5).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 5, 0).map((e) => e.index)).toEqual([1]);
    expect(() => s.entries(1, 6)).toThrow(InvariantError);
    expect(() => s.term(5)).toThrow(UnavailableError);
  });

  it('createSnapshot + compact keep the term of the snapshot index and refuse reads below', () => {
    const s = filled([1, 1, 2, 2, 3]);
    const snap = s.createSnapshot(3, CONFIG, new Uint8Array([9]));
    expect(snap.metadata).toEqual({ index: 3, term: 2, config: CONFIG });
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(5);
    expect(s.term(3)).toBe(2); // prevLogTerm for the first entry kept (§5.3)
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5)).toThrow(CompactedError);
    expect(s.entries(4, 6).map((e) => e.term)).toEqual([2, 3]);
    expect(() => s.append([entry(3, 9)])).toThrow(InvariantError); // would overlap the snapshot
    s.compact(2); // already compacted: no-op
    expect(s.firstIndex()).toBe(4);
  });

  it('refuses to compact beyond the snapshot or to take an older snapshot', () => {
    const s = filled([1, 1, 2, 2, 3]);
    s.createSnapshot(2, CONFIG, new Uint8Array(0));
    expect(() => s.compact(3)).toThrow(InvariantError);
    expect(() => s.createSnapshot(2, CONFIG, new Uint8Array(0))).toThrow(InvariantError);
    expect(() => s.createSnapshot(1, CONFIG, new Uint8Array(0))).toThrow(InvariantError);
  });

  it('applySnapshot discards the whole log, including entries after the snapshot', () => {
    const s = filled([1, 1, 2, 2, 3]);
    const config = { voters: [1, 2], learners: [4], epoch: 2 };
    s.applySnapshot({ metadata: { index: 4, term: 5, config }, data: new Uint8Array([1]) });
    expect(s.firstIndex()).toBe(5);
    expect(s.lastIndex()).toBe(4);
    expect(s.term(4)).toBe(5); // the snapshot's term, not the old entry's term 2
    expect(s.initialState().config).toEqual(config);
    s.append([entry(5, 5)]);
    expect(s.lastIndex()).toBe(5);
    expect(() => s.applySnapshot({ metadata: { index: 2, term: 1, config }, data: new Uint8Array(0) })).toThrow(InvariantError);
  });
});
