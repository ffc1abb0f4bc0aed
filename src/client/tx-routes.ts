/**
 * The route hints a cross-copyset operation carries (docs/transactions.md §4): every
 * partition of the file system with its copyset's peers, as the client's partition
 * table knows them. The coordinator checks them against what it finds.
 */
import type { TxRoute } from '../proto/index.ts';
import type { PartitionTable } from './partition-table.ts';

/** Every partition of `fsId`, in range order, with its copyset's peers. */
export function txRoutesOf(table: PartitionTable, fsId: number): TxRoute[] {
  return table.partitionsOf(fsId).map((partition) => ({
    poolId: partition.poolId,
    copysetId: partition.copysetId,
    partitionId: partition.partitionId,
    start: partition.start,
    end: partition.end,
    peers: [...table.copysetOf(partition).peers],
  }));
}
