/**
 * The state machine of one copyset on one replica (architecture decision 2): its
 * partitions and their maps, changed only by applying committed log entries made of
 * SET/DEL records, blindly and in log order. Apply never validates and never fails:
 * the leader's executor checked everything before it proposed the entry, and Log
 * Matching makes the same prefix hold on every replica. A record whose key does not
 * decode is a bug (or corruption that passed the batch checksum) and fails an invariant.
 *
 * Reads serve the applied maps. {@link MetaStore.beginSnapshot} freezes the state at the
 * applied index while applies continue (see snapshot-view.ts); {@link MetaStore.stateHash}
 * fingerprints the state so replicas can be compared.
 */
import { invariant } from '../raft/errors.ts';
import { crc32c } from '../storage/checksum.ts';
import { decodeKey } from './keys.ts';
import type { DecodedKey } from './keys.ts';
import { Partition } from './partition.ts';
import { decodeRecordBatch } from './record-codec.ts';
import type { MetaRecord } from './record-codec.ts';
import { SnapshotView } from './snapshot-view.ts';
import { TxTable } from './tx-table.ts';
import type { StatePair } from './snapshot-view.ts';
import type { Dentry, Inode, PartitionInfo } from './types.ts';
import { decodeDentryValue, decodeInode, decodePartitionInfo } from './value-codec.ts';

/** An inode the trash may reclaim. */
export interface TrashEntry {
  readonly partitionId: number;
  readonly fsId: number;
  readonly inodeId: number;
  readonly dtime: number;
}

export class MetaStore {
  private partitions = new Map<number, Partition>();
  private views = new Set<SnapshotView>();
  private applied = 0;
  /** Intents and records of cross-group operations (table 0x05), decoded, with their locks. */
  readonly tx = new TxTable();

  /** The index of the last entry applied (or the snapshot loaded). */
  get appliedIndex(): number {
    return this.applied;
  }

  // -------------------------------------------------------------------------------------
  // Apply

  /** Applies one committed entry's record batch (record-codec.ts). */
  applyEntry(index: number, batch: Uint8Array): void {
    this.applyRecords(index, decodeRecordBatch(batch));
  }

  /** Applies the records of entry `index`, in order, as one step. */
  applyRecords(index: number, records: readonly MetaRecord[]): void {
    this.checkNextIndex(index);
    for (const record of records) this.applyRecord(record);
    this.applied = index;
  }

  /** Moves the applied index over an entry that holds no records (no-op, configuration). */
  skipEntry(index: number): void {
    this.checkNextIndex(index);
    this.applied = index;
  }

  private checkNextIndex(index: number): void {
    invariant(Number.isSafeInteger(index) && index > this.applied, () => `entries apply in log order (applied ${this.applied}, got ${index})`);
  }

  /** One SET or DEL, blindly. */
  applyRecord(record: MetaRecord): void {
    let key: DecodedKey;
    try {
      key = decodeKey(record.key);
    } catch (error) {
      invariant(false, `apply: a committed record's key must decode (${(error as Error).message})`);
    }
    const partition = this.partitionForWrite(key.partitionId);
    switch (key.table) {
      case 'partition-info':
        partition.info = record.type === 'set' ? decodePartitionInfo(record.value) : undefined;
        break;
      case 'inode':
        for (const view of this.views) view.beforeInodeChange(partition, key.inodeId);
        if (record.type === 'set') {
          const inode = decodeInode(record.value);
          invariant(inode.inodeId === key.inodeId && inode.fsId === key.fsId, 'an inode value matches its key');
          partition.setInode(inode);
        } else {
          partition.deleteInode(key.inodeId);
        }
        break;
      case 'dentry':
        for (const view of this.views) view.beforeDentryChange(partition, key.parentInodeId, key.name);
        if (record.type === 'set') partition.dentries.set(key.fsId, key.parentInodeId, key.name, decodeDentryValue(record.value));
        else partition.dentries.delete(key.parentInodeId, key.name);
        break;
      case 'trash':
      case 'pending-tx': {
        const hex = Buffer.from(record.key).toString('hex');
        if (record.type === 'set') partition.rawRecords.set(hex, { key: copy(record.key), value: copy(record.value) });
        else partition.rawRecords.delete(hex);
        if (key.table === 'pending-tx') this.tx.apply(key.partitionId, key.txKey, record.type === 'set' ? record.value : null);
        break;
      }
    }
    this.maybeDropPartition(partition);
  }

  /**
   * The partition a snapshot load writes into directly (snapshot-io.ts), created if
   * needed. Only on a fresh store: nothing applied, no view open.
   */
  partitionForLoad(partitionId: number): Partition {
    invariant(this.applied === 0 && this.views.size === 0, 'a snapshot loads into a fresh store');
    return this.partitionForWrite(partitionId);
  }

  private partitionForWrite(partitionId: number): Partition {
    let partition = this.partitions.get(partitionId);
    if (partition === undefined) {
      partition = new Partition(partitionId);
      if (this.views.size > 0) partition.setKeepEmptyPages(true);
      this.partitions.set(partitionId, partition);
    }
    return partition;
  }

  /** A partition with no info and no content is forgotten, unless a dump may still visit it. */
  private maybeDropPartition(partition: Partition): void {
    if (partition.info === undefined && partition.isEmpty && this.views.size === 0) this.partitions.delete(partition.partitionId);
  }

  // -------------------------------------------------------------------------------------
  // Reads (applied state)

  partitionIds(): number[] {
    return [...this.partitions.keys()].filter((id) => this.partitions.get(id)!.info !== undefined).sort((a, b) => a - b);
  }

  /** The partition's info with its counts, or undefined when it does not exist. */
  partitionInfo(partitionId: number): PartitionInfo | undefined {
    return this.partitions.get(partitionId)?.infoWithCounts();
  }

  /** The partition's info as stored (without counts): cheap, for routing checks. */
  partitionInfoRaw(partitionId: number): PartitionInfo | undefined {
    return this.partitions.get(partitionId)?.info;
  }

  getInode(partitionId: number, inodeId: number): Inode | undefined {
    return this.partitions.get(partitionId)?.inodes.get(inodeId);
  }

  getDentry(partitionId: number, parentInodeId: number, name: string): Dentry | undefined {
    return this.partitions.get(partitionId)?.dentries.get(parentInodeId, name);
  }

  /** Entries of a directory after `after` in name byte order; `limit` 0 means all. */
  listDentries(partitionId: number, parentInodeId: number, after: string | undefined, limit: number, onlyDirectories: boolean): Dentry[] {
    return this.partitions.get(partitionId)?.dentries.list(parentInodeId, after, limit, onlyDirectories) ?? [];
  }

  childCount(partitionId: number, parentInodeId: number): number {
    return this.partitions.get(partitionId)?.dentries.childCount(parentInodeId) ?? 0;
  }

  inodeCount(partitionId: number): number {
    return this.partitions.get(partitionId)?.inodes.size ?? 0;
  }

  dentryCount(partitionId: number): number {
    return this.partitions.get(partitionId)?.dentries.size ?? 0;
  }

  /** Up to `limit` inode ids of a partition, ascending (background deletion). */
  inodeIds(partitionId: number, limit: number): number[] {
    return takeFrom(this.partitions.get(partitionId)?.inodes.ids(), limit);
  }

  /** Up to `limit` dentries of a partition (background deletion). */
  dentries(partitionId: number, limit: number): Dentry[] {
    const partition = this.partitions.get(partitionId);
    const found: Dentry[] = [];
    if (partition === undefined) return found;
    for (const parentId of partition.dentries.parents()) {
      found.push(...partition.dentries.list(parentId, undefined, limit - found.length, false));
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * Trash entries whose dtime is at least `keepSeconds` before `nowSeconds`, skipping
   * inodes still open somewhere (openmpcount > 0); at most `limit`.
   */
  expiredTrash(nowSeconds: number, keepSeconds: number, limit: number): TrashEntry[] {
    const expired: TrashEntry[] = [];
    for (const partition of this.partitions.values()) {
      for (const inodeId of partition.trash) {
        if (expired.length >= limit) return expired;
        const fields = partition.inodes.trashFields(inodeId);
        invariant(fields !== undefined && fields.nlink === 0 && fields.dtime !== undefined, 'the trash holds only unlinked inodes with a dtime');
        if (fields.openmpcount > 0 || fields.dtime + keepSeconds > nowSeconds) continue;
        const inode = partition.inodes.get(inodeId)!;
        expired.push({ partitionId: partition.partitionId, fsId: inode.fsId, inodeId, dtime: fields.dtime });
      }
    }
    return expired;
  }

  /** How many inodes are in the trash, over all partitions (tests and status). */
  trashSize(): number {
    let size = 0;
    for (const partition of this.partitions.values()) size += partition.trash.size;
    return size;
  }

  // -------------------------------------------------------------------------------------
  // Snapshots and fingerprints

  /**
   * A frozen view of the state at the current applied index; applies may go on while
   * it is read. Read its pairs once (e.g. into writeSnapshotFile); it closes itself when
   * the iteration ends, or call close().
   */
  beginSnapshot(): SnapshotView {
    const source = {
      partition: (partitionId: number) => this.partitions.get(partitionId),
      detachView: (view: SnapshotView) => this.detachView(view),
    };
    const view = new SnapshotView(source, this.applied, [...this.partitions.values()]);
    if (this.views.size === 0) for (const partition of this.partitions.values()) partition.setKeepEmptyPages(true);
    this.views.add(view);
    return view;
  }

  private detachView(view: SnapshotView): void {
    if (!this.views.delete(view) || this.views.size > 0) return;
    for (const partition of [...this.partitions.values()]) {
      partition.setKeepEmptyPages(false);
      this.maybeDropPartition(partition);
    }
  }

  /** How many snapshot views are open (a host may limit it). */
  get openSnapshotViews(): number {
    return this.views.size;
  }

  /**
   * A fingerprint of the whole state: order-independent, so it is computed in one pass
   * without sorting. Each pair hashes to h = crc32c(value, crc32c(key)); the result
   * combines the pair count, the sum of h and the sum of a second mix of h, all mod 2^32.
   * Equal states give equal hashes on every replica (values encode deterministically).
   */
  stateHash(): string {
    let count = 0;
    let sum = 0;
    let mixed = 0;
    for (const [key, value] of this.beginSnapshot().pairs()) {
      const h = crc32c(value, crc32c(key));
      count++;
      sum = (sum + h) >>> 0;
      mixed = (mixed + (Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0)) >>> 0;
    }
    return `${count.toString(16)}-${sum.toString(16).padStart(8, '0')}-${mixed.toString(16).padStart(8, '0')}`;
  }

  /** Every pair of the current state, copied (a snapshot view read at once). */
  *pairs(): Generator<StatePair> {
    for (const [key, value] of this.beginSnapshot().pairs()) yield [copy(key), copy(value)];
  }

  /**
   * Builds a fresh store from snapshot pairs, raw (no business checks), at `index`. A
   * failure leaves nothing behind: the caller swaps the result in with
   * {@link replaceWith} only once it is complete.
   */
  static async fromPairs(index: number, pairs: Iterable<StatePair> | AsyncIterable<StatePair>): Promise<MetaStore> {
    invariant(Number.isSafeInteger(index) && index >= 0, 'a snapshot index is a non-negative safe integer');
    const store = new MetaStore();
    if (Symbol.asyncIterator in pairs) {
      for await (const [key, value] of pairs) store.applyRecord({ type: 'set', key, value });
    } else {
      for (const [key, value] of pairs) store.applyRecord({ type: 'set', key, value });
    }
    store.applied = index;
    return store;
  }

  /** Sets the applied index of a store just built from a snapshot (before any apply). */
  setLoadedIndex(index: number): void {
    invariant(this.applied === 0 && Number.isSafeInteger(index) && index >= 0, 'a loaded index is set once, on a fresh store');
    this.applied = index;
  }

  /** Takes over the state of `other` (a store loaded from a snapshot); open views close. */
  replaceWith(other: MetaStore): void {
    invariant(other !== this && other.views.size === 0, 'a replacement store is fresh');
    for (const view of [...this.views]) view.close();
    this.partitions = other.partitions;
    this.applied = other.applied;
    this.tx.replaceWith(other.tx);
    other.partitions = new Map();
  }
}

function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

function takeFrom<T>(iterable: Iterable<T> | undefined, limit: number): T[] {
  const taken: T[] = [];
  if (iterable === undefined || limit <= 0) return taken;
  for (const item of iterable) {
    taken.push(item);
    if (taken.length >= limit) break;
  }
  return taken;
}
