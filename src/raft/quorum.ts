import type { Index, NodeId } from './types.ts';

/** Size of a majority of `voters` (§5.2). */
export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest index stored on a majority of voters (§5.3, §5.4.2): the
 * majority()-th largest match index. `match` returns 0 for unknown voters.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => Index): Index {
  const n = voters.length;
  if (n === 0) return 0;
  if (n === 3) {
    // The common case without allocating: the median of three.
    const a = match(voters[0]!);
    const b = match(voters[1]!);
    const c = match(voters[2]!);
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }
  const values = voters.map(match).sort((x, y) => y - x);
  return values[majority(n) - 1]!;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies granted and rejected votes among voters (§5.2). */
export function voteOutcome(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const need = majority(voters.length);
  if (granted >= need) return 'won';
  if (voters.length - rejected < need) return 'lost';
  return 'pending';
}
