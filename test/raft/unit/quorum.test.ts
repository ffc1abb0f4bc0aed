import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committedIndex, majority, voteOutcome } from '../../../src/raft/quorum.ts';

const SEED = 20240611;

/** The brute-force definition: the largest i such that a majority of voters have match >= i. */
function bruteCommitted(voters: number[], match: Map<number, number>): number {
  let best = 0;
  const candidates = new Set([0, ...voters.map((v) => match.get(v) ?? 0)]);
  for (const i of candidates) {
    const holders = voters.filter((v) => (match.get(v) ?? 0) >= i).length;
    if (holders * 2 > voters.length && i > best) best = i;
  }
  return best;
}

const votersArb = fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 9 });

describe('quorum', () => {
  it('majority is more than half', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('committedIndex equals the brute-force majority match', () => {
    fc.assert(
      fc.property(votersArb, fc.array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.nat(50)), { maxLength: 15 }), (voters, pairs) => {
        const match = new Map(pairs);
        expect(committedIndex(voters, (id) => match.get(id) ?? 0)).toBe(bruteCommitted(voters, match));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('committedIndex of no voters is 0 and ignores non-voters', () => {
    expect(committedIndex([], () => 99)).toBe(0);
    const match = new Map([[1, 5], [2, 5], [3, 0], [4, 9], [5, 9]]);
    // 4 and 5 are not voters: their high match must not count.
    expect(committedIndex([1, 2, 3], (id) => match.get(id) ?? 0)).toBe(5);
    expect(committedIndex([1, 3, 4], (id) => match.get(id) ?? 0)).toBe(5);
    expect(committedIndex([3, 4, 5], (id) => match.get(id) ?? 0)).toBe(9);
  });

  it('voteOutcome equals the brute-force tally', () => {
    fc.assert(
      fc.property(votersArb, fc.array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.boolean()), { maxLength: 15 }), (voters, pairs) => {
        const votes = new Map(pairs);
        const granted = voters.filter((v) => votes.get(v) === true).length;
        const undecided = voters.filter((v) => !votes.has(v)).length;
        const need = Math.floor(voters.length / 2) + 1;
        const want = granted >= need ? 'won' : granted + undecided >= need ? 'pending' : 'lost';
        expect(voteOutcome(voters, votes)).toBe(want);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('votes of non-voters do not count', () => {
    const votes = new Map([[1, true], [7, true], [8, true]]);
    expect(voteOutcome([1, 2, 3], votes)).toBe('pending');
    expect(voteOutcome([1, 2, 3], new Map([[1, true], [2, false], [3, false]]))).toBe('lost');
    expect(voteOutcome([1, 2, 3, 4], new Map([[1, true], [2, true], [3, false]]))).toBe('pending');
  });
});
