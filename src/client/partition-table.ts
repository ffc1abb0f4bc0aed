/**
 * The partition table: which partition holds an inode id, and which peers serve a
 * partition's copyset. The caller gives it (a coordinator's job in CurveFS: the MDS
 * hands out partitions and tells clients where they live), or a
 * {@link PartitionTableSource} reads it from the cluster later.
 *
 * Routing (wire.md, Placement): an inode lives in the partition of its file system
 * whose inclusive range `[start, end]` holds its id; a dentry lives with its parent
 * inode. Ranges of one file system never overlap, so a binary search over ranges sorted
 * by `start` finds the one partition, or none.
 */

import { PartitionStatus, type PartitionInfo } from '../proto/index.ts';
import { RoutingError } from './client-errors.ts';
import { parsePeerAddress } from './peer-address.ts';

/** One row of the table as a caller gives it: a partition and its copyset's peers (`ip:port:index`). */
export interface PartitionRoute {
  readonly partition: PartitionInfo;
  readonly peers: readonly string[];
}

/**
 * Where a table can be (re)loaded from. A coordinator client implements it (in CurveFS:
 * the MDS's ListPartition plus GetMetaServerListInCopysets); metaraft has no coordinator
 * of its own, so the library only defines the hook.
 */
export interface PartitionTableSource {
  load(fsId: number): Promise<readonly PartitionRoute[]>;
}

export interface CopysetPeers {
  readonly poolId: number;
  readonly copysetId: number;
  readonly peers: readonly string[];
}

/** The key of a copyset in maps. */
export function copysetKey(poolId: number, copysetId: number): string {
  return `${poolId}/${copysetId}`;
}

interface FsRanges {
  /** Sorted by `start`; pairwise disjoint. */
  readonly partitions: PartitionInfo[];
}

export class PartitionTable {
  private readonly byFs = new Map<number, FsRanges>();
  private readonly byId = new Map<number, PartitionInfo>();
  private readonly copysets = new Map<string, CopysetPeers>();
  /** Peers set by setCopysetPeers: they win over the rows' peers and survive replace(). */
  private readonly explicitCopysets = new Map<string, CopysetPeers>();
  /** Partitions that answered PARTITION_ALLOC_ID_FAIL: no new inode goes there. */
  private readonly full = new Set<number>();

  constructor(routes: readonly PartitionRoute[] = []) {
    this.replace(routes);
  }

  /** Replaces the whole table (after a reload from a {@link PartitionTableSource}). */
  replace(routes: readonly PartitionRoute[]): void {
    const byFs = new Map<number, FsRanges>();
    const byId = new Map<number, PartitionInfo>();
    const copysets = new Map<string, CopysetPeers>();
    for (const route of routes) {
      checkRoute(route);
      const { partition } = route;
      if (byId.has(partition.partitionId)) {
        throw new RoutingError('INVALID_TABLE', `partition ${partition.partitionId} appears twice`);
      }
      byId.set(partition.partitionId, partition);
      const ranges = byFs.get(partition.fsId) ?? { partitions: [] };
      ranges.partitions.push(partition);
      byFs.set(partition.fsId, ranges);
      mergeCopyset(copysets, partition, route.peers);
    }
    for (const [fsId, ranges] of byFs) {
      ranges.partitions.sort((a, b) => a.start - b.start);
      checkDisjoint(fsId, ranges.partitions);
    }
    this.byFs.clear();
    this.byId.clear();
    this.copysets.clear();
    for (const [key, value] of byFs) this.byFs.set(key, value);
    for (const [key, value] of byId) this.byId.set(key, value);
    for (const [key, value] of copysets) this.copysets.set(key, value);
    for (const id of [...this.full]) if (!byId.has(id)) this.full.delete(id);
  }

  /** Adds or replaces one partition, keeping the table consistent (throws INVALID_TABLE otherwise). */
  upsert(route: PartitionRoute): void {
    const others = this.routes().filter((r) => r.partition.partitionId !== route.partition.partitionId);
    this.replace([...others, route]);
  }

  /** Every row, partitions in (fsId, start) order. */
  routes(): PartitionRoute[] {
    const rows: PartitionRoute[] = [];
    for (const fsId of [...this.byFs.keys()].sort((a, b) => a - b)) {
      for (const partition of this.byFs.get(fsId)!.partitions) {
        rows.push({ partition, peers: this.copysetOf(partition).peers });
      }
    }
    return rows;
  }

  /** The partition holding inode `inodeId` of file system `fsId`; NO_PARTITION when none does. */
  partitionOfInode(fsId: number, inodeId: number): PartitionInfo {
    const found = this.findPartition(fsId, inodeId);
    if (found === undefined) {
      throw new RoutingError('NO_PARTITION', `no partition of fs ${fsId} holds inode ${inodeId}`);
    }
    return found;
  }

  /** The partition holding the entries of directory `parentInodeId`: the parent's own partition. */
  partitionOfDentry(fsId: number, parentInodeId: number): PartitionInfo {
    return this.partitionOfInode(fsId, parentInodeId);
  }

  /** Like partitionOfInode, but undefined instead of an error. */
  findPartition(fsId: number, inodeId: number): PartitionInfo | undefined {
    const partitions = this.byFs.get(fsId)?.partitions;
    if (partitions === undefined) return undefined;
    let lo = 0;
    let hi = partitions.length - 1;
    // The last partition whose start <= inodeId is the only candidate (ranges are disjoint).
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (partitions[mid]!.start <= inodeId) lo = mid + 1;
      else hi = mid - 1;
    }
    const candidate = partitions[hi];
    return candidate !== undefined && inodeId <= candidate.end ? candidate : undefined;
  }

  partition(partitionId: number): PartitionInfo | undefined {
    return this.byId.get(partitionId);
  }

  /** The partitions of a file system in range order. */
  partitionsOf(fsId: number): readonly PartitionInfo[] {
    return this.byFs.get(fsId)?.partitions ?? [];
  }

  /** True when a new inode may be placed in the partition: READWRITE, ids left as far as the client knows. */
  isWritable(partition: PartitionInfo): boolean {
    if (partition.status !== PartitionStatus.READWRITE || this.full.has(partition.partitionId)) return false;
    return partition.nextId === undefined || partition.nextId <= partition.end;
  }

  /** The partition answered PARTITION_ALLOC_ID_FAIL: place no new inode there. */
  markFull(partitionId: number): void {
    this.full.add(partitionId);
  }

  /** The committed rename transaction id the client knows for a partition (PartitionInfo.txId). */
  txIdOf(partitionId: number): number | undefined {
    return this.byId.get(partitionId)?.txId;
  }

  /** Records a partition's newly committed rename transaction id. */
  setTxId(partitionId: number, txId: number): void {
    const partition = this.byId.get(partitionId);
    if (partition === undefined) return;
    this.upsert({ partition: { ...partition, txId }, peers: this.copysetOf(partition).peers });
  }

  /** The peers of a copyset; UNKNOWN_COPYSET when the table does not know it. */
  copyset(poolId: number, copysetId: number): CopysetPeers {
    const key = copysetKey(poolId, copysetId);
    const found = this.explicitCopysets.get(key) ?? this.copysets.get(key);
    if (found === undefined) throw new RoutingError('UNKNOWN_COPYSET', `copyset ${poolId}/${copysetId} is not in the table`);
    return found;
  }

  copysetOf(partition: PartitionInfo): CopysetPeers {
    return this.copyset(partition.poolId, partition.copysetId);
  }

  /** Adds a copyset with no partition yet (to create partitions in it), or replaces its peers. */
  setCopysetPeers(poolId: number, copysetId: number, peers: readonly string[]): void {
    checkPeers(peers, `copyset ${poolId}/${copysetId}`);
    this.explicitCopysets.set(copysetKey(poolId, copysetId), { poolId, copysetId, peers: [...peers] });
  }
}

function checkRoute(route: PartitionRoute): void {
  const { partition } = route;
  const id = partition.partitionId;
  const integers = [partition.fsId, partition.poolId, partition.copysetId, id, partition.start, partition.end];
  if (!integers.every((value) => Number.isSafeInteger(value) && value >= 0)) {
    throw new RoutingError('INVALID_TABLE', `partition ${id}: ids and range must be non-negative safe integers`);
  }
  if (partition.start > partition.end) {
    throw new RoutingError('INVALID_TABLE', `partition ${id}: start ${partition.start} > end ${partition.end}`);
  }
  checkPeers(route.peers, `partition ${id}`);
}

function checkPeers(peers: readonly string[], what: string): void {
  if (peers.length === 0) throw new RoutingError('INVALID_TABLE', `${what}: no peers`);
  for (const peer of peers) parsePeerAddress(peer);
  if (new Set(peers).size !== peers.length) throw new RoutingError('INVALID_TABLE', `${what}: a peer appears twice`);
}

/** Partitions of one copyset must name the same peers (set equality; order may differ). */
function mergeCopyset(copysets: Map<string, CopysetPeers>, partition: PartitionInfo, peers: readonly string[]): void {
  const key = copysetKey(partition.poolId, partition.copysetId);
  const known = copysets.get(key);
  if (known === undefined) {
    copysets.set(key, { poolId: partition.poolId, copysetId: partition.copysetId, peers: [...peers] });
    return;
  }
  const same = known.peers.length === peers.length && peers.every((peer) => known.peers.includes(peer));
  if (!same) {
    throw new RoutingError('INVALID_TABLE', `copyset ${key}: partitions disagree about its peers`);
  }
}

function checkDisjoint(fsId: number, sorted: readonly PartitionInfo[]): void {
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (current.start <= previous.end) {
      throw new RoutingError(
        'INVALID_TABLE',
        `fs ${fsId}: partitions ${previous.partitionId} [${previous.start}, ${previous.end}] and ` +
          `${current.partitionId} [${current.start}, ${current.end}] overlap`,
      );
    }
  }
}
