/**
 * Where a new inode goes. CurveFS's client picked a random READWRITE partition, which
 * spread a directory's inodes over every copyset and unbalanced memory
 * (curve-facts.md). metaraft's client prefers the parent's own partition while it has
 * ids left, so that a create (one TxService.Create, or CreateInode then CreateDentry in
 * the parent's partition) stays inside one copyset and one entry; after that, the other
 * writable partitions of the file system in a random order drawn from the injected source.
 */

import type { PartitionInfo } from '../proto/index.ts';
import type { PartitionTable } from './partition-table.ts';

/** The partitions to try for a new inode under `parentInodeId`, best first. */
export function placementOrder(
  table: PartitionTable,
  fsId: number,
  parentInodeId: number,
  random: () => number,
): PartitionInfo[] {
  const parentPartition = table.findPartition(fsId, parentInodeId);
  const others = table
    .partitionsOf(fsId)
    .filter((partition) => partition !== parentPartition && table.isWritable(partition));
  shuffle(others, random);
  return parentPartition !== undefined && table.isWritable(parentPartition) ? [parentPartition, ...others] : others;
}

/** Fisher–Yates with an injected source, so that a seed fixes the order. */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const held = items[i]!;
    items[i] = items[j]!;
    items[j] = held;
  }
}
