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
  if (voters.length === 0) return 0;
  const values = voters.map(match).sort((a, b) => b - a);
  return values[majority(voters.length) - 1]!;
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
