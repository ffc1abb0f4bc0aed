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
 *   pre-image instead of the live value and skips "absent" ones. Within a directory,
 *   saved pre-images of names deleted since are merged into the live names in order,
 *   so every directory's keys come out in strictly ascending order (a load appends
 *   them without searching).
 * - Keys the cursor has passed are not saved: they were already emitted.
 *
 * So the pairs are exactly the state after the view's index, whatever applies run
 * between two fills, and the extra memory is bounded by the keys changed during the
 * dump. Starting a view costs O(partitions + their raw records): no stall at any size.
 *
 * The pairs are produced by {@link SnapshotView.fill}, which writes them framed as the
 * snapshot file wants them (key_length u32 LE, key, value_length u32 LE, value)
 * straight into the caller's buffer, reading the typed-array inode rows and the name
 * chunks in place: no object, key Buffer or value copy per pair. {@link
 * SnapshotView.pairs} is the same stream as an iterator of [key, value] views.
 */
import { invariant } from '../raft/errors.ts';
import type { SnapshotPairSource } from '../storage/snapshot-file.ts';
import { dentryKey, ID_KEY_BYTES, inodeKey, maxNameBytes, partitionInfoKey, writeDentryKeyAt, writeInodeKeyAt } from './keys.ts';
import { dentryKeyAtOrBefore, DIRECTORY_PAGE_SLOTS } from './dentry-table.ts';
import type { Directory } from './dentry-table.ts';
import { INODE_PAGE_ROWS } from './inode-table.ts';
import { compareNames } from './name-order.ts';
import type { Partition } from './partition.ts';
import {
  encodeDentryValue,
  encodeInode,
  encodePartitionInfo,
  MAX_DENTRY_VALUE_BYTES,
  newMutableDentryValue,
  newMutableInode,
  writeDentryValueAt,
  writeInodeValueAt,
} from './value-codec.ts';

export type StatePair = readonly [key: Uint8Array, value: Uint8Array];
/** A saved pre-image: the pair at the view's index, or null when the key was absent then. */
type PreImage = StatePair | null;

const PHASE_INODES = 0;
const PHASE_DENTRIES = 1;
const PHASE_DONE = 2;

const STAGE_INFOS = 0;
const STAGE_INODES = 1;
const STAGE_DENTRIES = 2;
const STAGE_RAW = 3;
const STAGE_DONE = 4;

/** Added to a parent id in the cursor once its whole directory is emitted. */
const DIRECTORY_DONE = 0.5;
/** A pair's two u32 length fields. */
const FRAMING_BYTES = 8;
/** Pairs per fill in {@link SnapshotView.pairs} unless told otherwise. */
export const DEFAULT_PAIRS_PER_FILL = 256;
/** First buffer of {@link SnapshotView.pairs}; it doubles for a pair larger than it. */
const PAIRS_BUFFER_BYTES = 64 << 10;
const NO_NAMES: readonly string[] = [];

/** What the view needs from the store it reads. */
export interface SnapshotSource {
  partition(partitionId: number): Partition | undefined;
  detachView(view: SnapshotView): void;
}

export class SnapshotView implements SnapshotPairSource {
  private readonly infoPairs: StatePair[] = [];
  private readonly partitionOrder: number[];
  private readonly positionOf = new Map<number, number>();
  private readonly rawPairs = new Map<number, StatePair[]>();
  private readonly inodePre = new Map<number, Map<number, PreImage>>();
  private readonly dentryPre = new Map<number, Map<number, Map<string, PreImage>>>();
  // The cursor, as the store's change hooks see it.
  private cursorPosition = -1;
  private cursorPhase = PHASE_INODES;
  private lastInodeId = -1;
  private lastParent = -1;
  private lastName = '';
  // Where the next fill resumes.
  private stage = STAGE_INFOS;
  private itemAt = 0;
  private pageNumbers: number[] = [];
  private pageAt = 0;
  private nextParent = 0;
  private inDirectory = false;
  private started = false;
  private closed = false;
  // The fill in progress: output, room and budget.
  private out: Buffer = Buffer.alloc(0);
  private at = 0;
  private budget = 0;
  private full = false;
  /** Pairs written by fill() so far. */
  private written = 0;
  private readonly inode = newMutableInode();
  private readonly dentryValue = newMutableDentryValue();

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

  /** True once every pair has been produced. */
  get done(): boolean {
    return this.stage === STAGE_DONE;
  }

  /** Pairs produced so far. */
  get pairCount(): number {
    return this.written;
  }

  /**
   * Writes the next pairs, framed as in the snapshot file, into `out` from `at`: at most
   * `maxPairs`, stopping before a pair that does not fit. Returns the offset after the
   * last whole pair (`at` when the next pair needs more room than is left, or when
   * {@link done}). Applies may run between two calls, never during one. The view closes
   * itself after the last pair.
   */
  fill(out: Buffer, at: number, maxPairs: number): number {
    invariant(!this.closed, 'a closed snapshot view is not read');
    this.started = true;
    this.out = out;
    this.at = at;
    this.budget = maxPairs;
    this.full = false;
    while (this.budget > 0 && !this.full && this.stage !== STAGE_DONE) {
      switch (this.stage) {
        case STAGE_INFOS:
          if (this.fillPairs(this.infoPairs)) this.enterPartition(0);
          break;
        case STAGE_INODES:
          if (this.fillInodes()) this.enterDentries();
          break;
        case STAGE_DENTRIES:
          if (this.fillDentries()) this.enterRaw();
          break;
        case STAGE_RAW:
          if (this.fillPairs(this.rawPairs.get(this.partitionOrder[this.cursorPosition]!)!)) this.enterPartition(this.cursorPosition + 1);
          break;
      }
    }
    const end = this.at;
    this.out = EMPTY_BUFFER;
    if (this.stage === STAGE_DONE) this.close();
    return end;
  }

  /**
   * The pairs of the state at {@link index}, partition infos first, as views into a
   * reused buffer: consume (or copy) each pair before pulling the next. Applies may run
   * between pulls; `pairsPerFill` pairs are produced at a time. The view closes itself
   * when the iteration ends, fails or is abandoned.
   */
  *pairs(pairsPerFill = DEFAULT_PAIRS_PER_FILL): Generator<StatePair> {
    invariant(!this.started, 'a snapshot view is read once');
    invariant(pairsPerFill >= 1, 'a fill produces at least one pair');
    let buffer = Buffer.allocUnsafe(PAIRS_BUFFER_BYTES);
    try {
      while (!this.done) {
        const end = this.fill(buffer, 0, pairsPerFill);
        if (end === 0) {
          if (!this.done) buffer = Buffer.allocUnsafe(buffer.length * 2); // one pair larger than the buffer
          continue;
        }
        const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, end);
        for (let at = 0; at < end; ) {
          const keyLength = readU32LE(bytes, at);
          const key = bytes.subarray(at + 4, at + 4 + keyLength);
          const valueLength = readU32LE(bytes, at + 4 + keyLength);
          const valueAt = at + FRAMING_BYTES + keyLength;
          yield [key, bytes.subarray(valueAt, valueAt + valueLength)];
          at = valueAt + valueLength;
        }
      }
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

  // -------------------------------------------------------------------------------------
  // Stages

  private enterPartition(position: number): void {
    this.cursorPosition = position;
    this.cursorPhase = PHASE_INODES;
    this.lastInodeId = -1;
    this.lastParent = -1;
    this.lastName = '';
    if (position >= this.partitionOrder.length) {
      this.stage = STAGE_DONE;
      return;
    }
    this.stage = STAGE_INODES;
    this.pageNumbers = this.livePartition(this.partitionOrder[position]!).inodes.sortedPageNumbers();
    this.pageAt = 0;
  }

  private enterDentries(): void {
    this.cursorPhase = PHASE_DENTRIES;
    this.stage = STAGE_DENTRIES;
    this.pageNumbers = this.livePartition(this.partitionOrder[this.cursorPosition]!).dentries.sortedPageNumbers();
    this.pageAt = 0;
    this.nextParent = 0;
    this.inDirectory = false;
  }

  private enterRaw(): void {
    this.cursorPhase = PHASE_DONE;
    this.stage = STAGE_RAW;
    this.itemAt = 0;
  }

  /** Writes `pairs` from `itemAt` on; true when all are written. */
  private fillPairs(pairs: readonly StatePair[]): boolean {
    while (this.itemAt < pairs.length) {
      const [key, value] = pairs[this.itemAt]!;
      if (!this.writeBytesPair(key, value)) return false;
      this.itemAt++;
    }
    this.itemAt = 0;
    return true;
  }

  /** Inodes of the current partition by ascending id; true when all are written. */
  private fillInodes(): boolean {
    const partitionId = this.partitionOrder[this.cursorPosition]!;
    const table = this.livePartition(partitionId).inodes;
    const saved = this.inodePre.get(partitionId);
    const checkSaved = saved !== undefined && saved.size > 0;
    const inode = this.inode;
    const out = this.out;
    const end = out.length;
    const pageNumbers = this.pageNumbers;
    for (; this.pageAt < pageNumbers.length; this.pageAt++) {
      const firstId = pageNumbers[this.pageAt]! * INODE_PAGE_ROWS;
      const endId = firstId + INODE_PAGE_ROWS;
      for (let inodeId = Math.max(firstId, this.lastInodeId + 1); inodeId < endId; inodeId++) {
        if (checkSaved && saved.has(inodeId)) {
          const pair = saved.get(inodeId)!;
          if (pair !== null && !this.writeBytesPair(pair[0], pair[1])) return false;
          saved.delete(inodeId);
          this.lastInodeId = inodeId;
          if (this.budget === 0) return false;
          continue;
        }
        if (!table.readInto(inodeId, inode)) continue;
        const at = this.at;
        const valueAt = at + FRAMING_BYTES + ID_KEY_BYTES;
        const valueEnd = valueAt > end ? -1 : writeInodeValueAt(out, valueAt, end, inode);
        if (valueEnd < 0) {
          this.full = true;
          return false;
        }
        putU32LE(out, at, ID_KEY_BYTES);
        writeInodeKeyAt(out, at + 4, partitionId, inode.fsId, inodeId);
        putU32LE(out, valueAt - 4, valueEnd - valueAt);
        this.at = valueEnd;
        this.written++;
        this.lastInodeId = inodeId;
        if (--this.budget === 0) return false;
      }
    }
    // Pre-images of rows no page held (none expected: pages are kept while a view is open).
    if (saved !== undefined) {
      for (const [inodeId, pair] of saved) {
        if (pair !== null && !this.writeBytesPair(pair[0], pair[1])) return false;
        saved.delete(inodeId);
        if (this.budget === 0) return false;
      }
    }
    this.inodePre.delete(partitionId);
    return true;
  }

  /** Directories of the current partition by ascending parent id; true when all are written. */
  private fillDentries(): boolean {
    const partitionId = this.partitionOrder[this.cursorPosition]!;
    const table = this.livePartition(partitionId).dentries;
    const byParent = this.dentryPre.get(partitionId);
    const pageNumbers = this.pageNumbers;
    for (; this.pageAt < pageNumbers.length; this.pageAt++) {
      const firstParent = pageNumbers[this.pageAt]! * DIRECTORY_PAGE_SLOTS;
      const endParent = firstParent + DIRECTORY_PAGE_SLOTS;
      for (let parentId = Math.max(firstParent, this.nextParent); parentId < endParent; parentId++) {
        const saved = byParent?.get(parentId);
        const directory = table.directory(parentId);
        if (!this.inDirectory) {
          if (saved === undefined && directory === undefined) continue;
          this.inDirectory = true;
          this.lastParent = parentId;
          this.lastName = '';
        }
        this.nextParent = parentId;
        if (!this.fillDirectory(partitionId, parentId, directory, saved)) return false;
        this.inDirectory = false;
        this.lastParent = parentId + DIRECTORY_DONE;
        this.nextParent = parentId + 1;
        byParent?.delete(parentId);
      }
    }
    // Pre-images of directories no page held (none expected: pages are kept while a view is open).
    if (byParent !== undefined) {
      for (const [parentId, saved] of byParent) {
        for (const [name, pair] of saved) {
          if (pair !== null && !this.writeBytesPair(pair[0], pair[1])) return false;
          saved.delete(name);
          if (this.budget === 0) return false;
        }
        byParent.delete(parentId);
      }
    }
    this.dentryPre.delete(partitionId);
    return true;
  }

  /**
   * One directory's names after the cursor, in byte order: live names, with saved
   * pre-images merged in (in place of a live name, or where a deleted name was).
   * True when the directory is finished.
   */
  private fillDirectory(partitionId: number, parentId: number, directory: Directory | undefined, saved: Map<string, PreImage> | undefined): boolean {
    // Saved names all sort after the cursor (the ones before it were emitted and dropped).
    const savedNames = saved === undefined || saved.size === 0 ? NO_NAMES : [...saved.keys()].sort(compareNames);
    let next = 0;
    let stopped = false;
    if (directory !== undefined) {
      const fsId = directory.fsId;
      directory.order.forEachAfter(this.lastName === '' ? undefined : this.lastName, (name) => {
        while (next < savedNames.length) {
          const savedName = savedNames[next]!;
          const order = compareNames(savedName, name);
          if (order > 0) break;
          if (this.budget === 0 || !this.writeSaved(saved!, savedName)) return !(stopped = true);
          next++;
          if (order === 0) return true; // the pre-image stands for this live name
        }
        if (this.budget === 0 || !this.writeLiveDentry(partitionId, fsId, parentId, directory, name)) return !(stopped = true);
        return true;
      });
      if (stopped) return false;
    }
    for (; next < savedNames.length; next++) {
      if (this.budget === 0 || !this.writeSaved(saved!, savedNames[next]!)) return false;
    }
    return true;
  }

  // -------------------------------------------------------------------------------------
  // Writing one pair. Each returns false, writing nothing, when the pair does not fit.

  private writeLiveDentry(partitionId: number, fsId: number, parentId: number, directory: Directory, name: string): boolean {
    const out = this.out;
    const at = this.at;
    if (at + FRAMING_BYTES + ID_KEY_BYTES + maxNameBytes(name.length) + MAX_DENTRY_VALUE_BYTES > out.length) {
      this.full = true;
      return false;
    }
    const value = this.dentryValue;
    invariant(directory.valueInto(name, value), 'every name in a directory order has a value');
    const keyEnd = writeDentryKeyAt(out, at + 4, partitionId, fsId, parentId, name);
    putU32LE(out, at, keyEnd - at - 4);
    const valueEnd = writeDentryValueAt(out, keyEnd + 4, value);
    putU32LE(out, keyEnd, valueEnd - keyEnd - 4);
    this.at = valueEnd;
    this.written++;
    this.budget--;
    this.lastName = name;
    return true;
  }

  /** Emits the saved pre-image of `name` (nothing if it was absent at the index) and drops it. */
  private writeSaved(saved: Map<string, PreImage>, name: string): boolean {
    const pair = saved.get(name)!;
    if (pair !== null && !this.writeBytesPair(pair[0], pair[1])) return false;
    saved.delete(name);
    this.lastName = name;
    return true;
  }

  private writeBytesPair(key: Uint8Array, value: Uint8Array): boolean {
    const out = this.out;
    const at = this.at;
    const valueAt = at + FRAMING_BYTES + key.length;
    if (valueAt + value.length > out.length) {
      this.full = true;
      return false;
    }
    putU32LE(out, at, key.length);
    out.set(key, at + 4);
    putU32LE(out, valueAt - 4, value.length);
    out.set(value, valueAt);
    this.at = valueAt + value.length;
    this.written++;
    this.budget--;
    return true;
  }

  // -------------------------------------------------------------------------------------
  // The cursor

  private livePartition(partitionId: number): Partition {
    invariant(!this.closed, 'a closed snapshot view is not read');
    const partition = this.source.partition(partitionId);
    invariant(partition !== undefined, 'a partition with a dump in progress is kept until the dump ends');
    return partition;
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

const EMPTY_BUFFER = Buffer.alloc(0);

function putU32LE(out: Uint8Array, at: number, value: number): void {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}
