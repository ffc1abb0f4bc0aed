/**
 * A frozen view of a copyset's state at one applied index, read while applies go on
 * (architecture decision 3). Node has no fork(), so the view is copy-on-write:
 *
 * - The dump visits keys in a fixed order: partition infos (copied when the view
 *   begins: they are few), then partition by partition in id order its inodes by
 *   ascending id, its dentries by ascending (parent, name bytes), its raw records
 *   (copied when the view begins).
 * - A cursor remembers the last key emitted. Before apply changes a key the cursor has
 *   not passed, the metastore calls the view, which saves the key's pre-image (its
 *   value at the view's index, or "absent") the first time. The dump emits a saved
 *   pre-image instead of the live value, skips "absent" ones, and at the end of each
 *   directory and table emits the pre-images of keys deleted before it got there.
 * - Keys the cursor has passed are not saved: they were already emitted.
 *
 * So the pairs are exactly the state after the view's index, whatever applies run
 * between two pulls, and the extra memory is bounded by the keys changed during the
 * dump. Starting a view costs O(partitions + their raw records): no stall at any size.
 */
import { invariant } from '../raft/errors.ts';
import { dentryKey, inodeKey, partitionInfoKey } from './keys.ts';
import { dentryKeyAtOrBefore, DIRECTORY_PAGE_SLOTS } from './dentry-table.ts';
import { INODE_PAGE_ROWS } from './inode-table.ts';
import type { Partition } from './partition.ts';
import { encodeDentryValue, encodeDentryValueTransient, encodeInode, encodeInodeTransient, encodePartitionInfo } from './value-codec.ts';

export type StatePair = readonly [key: Uint8Array, value: Uint8Array];
/** A saved pre-image: the pair at the view's index, or null when the key was absent then. */
type PreImage = StatePair | null;

const PHASE_INODES = 0;
const PHASE_DENTRIES = 1;
const PHASE_DONE = 2;
/** Names fetched from a directory at a time (re-fetched after the last, so changes in between are seen). */
const NAMES_PER_FETCH = 256;
/** Added to a parent id in the cursor once its whole directory is emitted. */
const DIRECTORY_DONE = 0.5;

/** What the view needs from the store it reads. */
export interface SnapshotSource {
  partition(partitionId: number): Partition | undefined;
  detachView(view: SnapshotView): void;
}

export class SnapshotView {
  private readonly infoPairs: StatePair[] = [];
  private readonly partitionOrder: number[];
  private readonly positionOf = new Map<number, number>();
  private readonly rawPairs = new Map<number, StatePair[]>();
  private readonly inodePre = new Map<number, Map<number, PreImage>>();
  private readonly dentryPre = new Map<number, Map<number, Map<string, PreImage>>>();
  private cursorPosition = -1;
  private cursorPhase = PHASE_INODES;
  private lastInodeId = -1;
  private lastParent = -1;
  private lastName = '';
  private started = false;
  private closed = false;

  constructor(
    private readonly source: SnapshotSource,
    /** The applied index whose state this view holds. */
    readonly index: number,
    partitions: readonly Partition[],
  ) {
    const sorted = [...partitions].sort((a, b) => a.partitionId - b.partitionId);
    this.partitionOrder = sorted.map((partition) => partition.partitionId);
    sorted.forEach((partition, position) => {
      this.positionOf.set(partition.partitionId, position);
      if (partition.info !== undefined) this.infoPairs.push([partitionInfoKey(partition.partitionId), encodePartitionInfo(partition.info)]);
      this.rawPairs.set(
        partition.partitionId,
        [...partition.rawRecords.values()].map((record) => [record.key, record.value] as const),
      );
    });
  }

  /** Called by the store before it changes or removes an inode. */
  beforeInodeChange(partition: Partition, inodeId: number): void {
    const id = partition.partitionId;
    if (this.inodeEmitted(id, inodeId)) return;
    let saved = this.inodePre.get(id);
    if (saved === undefined) this.inodePre.set(id, (saved = new Map()));
    if (saved.has(inodeId)) return;
    const inode = partition.inodes.get(inodeId);
    saved.set(inodeId, inode === undefined ? null : [inodeKey(id, inode.fsId, inodeId), encodeInode(inode)]);
  }

  /** Called by the store before it changes or removes a dentry. */
  beforeDentryChange(partition: Partition, parentId: number, name: string): void {
    const id = partition.partitionId;
    if (this.dentryEmitted(id, parentId, name)) return;
    let byParent = this.dentryPre.get(id);
    if (byParent === undefined) this.dentryPre.set(id, (byParent = new Map()));
    let saved = byParent.get(parentId);
    if (saved === undefined) byParent.set(parentId, (saved = new Map()));
    if (saved.has(name)) return;
    const directory = partition.dentries.directory(parentId);
    const value = directory?.value(name);
    saved.set(name, value === undefined ? null : [dentryKey(id, directory!.fsId, parentId, name), encodeDentryValue(value)]);
  }

  /**
   * The pairs of the state at {@link index}, partition infos first. Values may be
   * transient (valid until the next pull): consume each pair before pulling the next.
   * The view closes itself when the iteration ends, fails or is abandoned.
   */
  *pairs(): Generator<StatePair> {
    invariant(!this.started, 'a snapshot view is read once');
    this.started = true;
    try {
      yield* this.infoPairs;
      for (let position = 0; position < this.partitionOrder.length; position++) {
        const partitionId = this.partitionOrder[position]!;
        this.enterPartition(position);
        yield* this.inodePairs(partitionId);
        this.cursorPhase = PHASE_DENTRIES;
        yield* this.dentryPairs(partitionId);
        this.cursorPhase = PHASE_DONE;
        yield* this.rawPairs.get(partitionId)!;
      }
      this.cursorPosition = this.partitionOrder.length;
    } finally {
      this.close();
    }
  }

  /** Stops capturing; the store forgets the view. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inodePre.clear();
    this.dentryPre.clear();
    this.source.detachView(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private enterPartition(position: number): void {
    this.cursorPosition = position;
    this.cursorPhase = PHASE_INODES;
    this.lastInodeId = -1;
    this.lastParent = -1;
    this.lastName = '';
  }

  private livePartition(partitionId: number): Partition {
    invariant(!this.closed, 'a closed snapshot view is not read');
    const partition = this.source.partition(partitionId);
    invariant(partition !== undefined, 'a partition with a dump in progress is kept until the dump ends');
    return partition;
  }

  private *inodePairs(partitionId: number): Generator<StatePair> {
    const pageNumbers = this.livePartition(partitionId).inodes.sortedPageNumbers();
    for (const pageNumber of pageNumbers) {
      const firstId = pageNumber * INODE_PAGE_ROWS;
      for (let inodeId = firstId; inodeId < firstId + INODE_PAGE_ROWS; inodeId++) {
        const saved = this.inodePre.get(partitionId);
        if (saved !== undefined && saved.has(inodeId)) {
          const pair = saved.get(inodeId)!;
          saved.delete(inodeId);
          this.lastInodeId = inodeId;
          if (pair !== null) yield pair;
          continue;
        }
        const inode = this.livePartition(partitionId).inodes.get(inodeId);
        if (inode === undefined) continue;
        this.lastInodeId = inodeId;
        yield [inodeKey(partitionId, inode.fsId, inodeId), encodeInodeTransient(inode)];
      }
    }
    yield* leftovers(this.inodePre.get(partitionId)?.values());
    this.inodePre.delete(partitionId);
  }

  private *dentryPairs(partitionId: number): Generator<StatePair> {
    const pageNumbers = this.livePartition(partitionId).dentries.sortedPageNumbers();
    for (const pageNumber of pageNumbers) {
      const firstParent = pageNumber * DIRECTORY_PAGE_SLOTS;
      for (let parentId = firstParent; parentId < firstParent + DIRECTORY_PAGE_SLOTS; parentId++) {
        const hasSaved = this.dentryPre.get(partitionId)?.has(parentId) === true;
        if (!hasSaved && this.livePartition(partitionId).dentries.directory(parentId) === undefined) continue;
        this.lastParent = parentId;
        this.lastName = '';
        yield* this.directoryPairs(partitionId, parentId);
        this.lastParent = parentId + DIRECTORY_DONE;
        const saved = this.dentryPre.get(partitionId)?.get(parentId);
        yield* leftovers(saved?.values());
        this.dentryPre.get(partitionId)?.delete(parentId);
      }
    }
    for (const saved of this.dentryPre.get(partitionId)?.values() ?? []) yield* leftovers(saved.values());
    this.dentryPre.delete(partitionId);
  }

  private *directoryPairs(partitionId: number, parentId: number): Generator<StatePair> {
    for (;;) {
      const directory = this.livePartition(partitionId).dentries.directory(parentId);
      const names = directory === undefined ? [] : directory.order.namesAfter(this.lastName === '' ? undefined : this.lastName, NAMES_PER_FETCH);
      if (names.length === 0) return;
      for (const name of names) {
        const saved = this.dentryPre.get(partitionId)?.get(parentId);
        if (saved !== undefined && saved.has(name)) {
          const pair = saved.get(name)!;
          saved.delete(name);
          this.lastName = name;
          if (pair !== null) yield pair;
          continue;
        }
        const live = this.livePartition(partitionId).dentries.directory(parentId);
        const value = live?.value(name);
        this.lastName = name;
        if (value !== undefined) yield [dentryKey(partitionId, live!.fsId, parentId, name), encodeDentryValueTransient(value)];
      }
    }
  }

  private inodeEmitted(partitionId: number, inodeId: number): boolean {
    const position = this.positionOf.get(partitionId);
    // A partition born after the view began held nothing at its index: nothing to save.
    if (position === undefined || position < this.cursorPosition) return true;
    if (position > this.cursorPosition) return false;
    return this.cursorPhase > PHASE_INODES || inodeId <= this.lastInodeId;
  }

  private dentryEmitted(partitionId: number, parentId: number, name: string): boolean {
    const position = this.positionOf.get(partitionId);
    if (position === undefined || position < this.cursorPosition) return true;
    if (position > this.cursorPosition) return false;
    if (this.cursorPhase === PHASE_INODES) return false;
    if (this.cursorPhase === PHASE_DONE) return true;
    if (this.lastParent < 0) return false;
    return dentryKeyAtOrBefore(parentId, name, this.lastParent, this.lastName);
  }
}

function* leftovers(preImages: Iterable<PreImage> | undefined): Generator<StatePair> {
  if (preImages === undefined) return;
  for (const pair of preImages) if (pair !== null) yield pair;
}
