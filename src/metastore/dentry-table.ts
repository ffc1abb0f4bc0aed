/**
 * The dentries of one partition, grouped by parent directory: per directory a hash map
 * name → packed value (GetDentry is one hash lookup) and the names in UTF-8 byte order
 * ({@link SortedNames}: ListDentry after `last` is O(log n + page)). The name string is
 * shared by both structures, so a dentry costs one string, one Map entry and one slot.
 *
 * A dentry's value is packed into one number when it can be (inodeId × 128 + flag bits
 * + type): a small integer needs no heap object at all. Values that do not fit (a
 * txId or txSequence, a flag beyond the defined bits, an id ≥ 2^46) are kept whole in
 * the directory's side map.
 *
 * Directories are paged by parent id like inodes (a directory lives in the partition
 * holding its id), so a snapshot dump can visit them in ascending id order.
 */
import { invariant } from '../raft/errors.ts';
import { compareNames } from './name-order.ts';
import { SortedNames } from './sorted-names.ts';
import { FsFileType } from './types.ts';
import type { Dentry, DentryValue } from './types.ts';

export const DIRECTORY_PAGE_SLOTS = 256;
const PACK_FACTOR = 128;
const FLAG_PRESENT = 64;
const FLAG_FACTOR = 8;
const MAX_PACKED_FLAG = 7;
const MAX_PACKED_INODE_ID = 2 ** 46;
/** The packed value of a dentry whose whole value sits in the side map. */
const UNPACKED = -1;

export class Directory {
  readonly byName = new Map<string, number>();
  readonly order = new SortedNames();
  /** Bumped on every change, so a paused iteration knows to seek again. */
  version = 0;
  unpacked: Map<string, DentryValue> | undefined;
  constructor(readonly fsId: number) {}

  get size(): number {
    return this.byName.size;
  }

  value(name: string): DentryValue | undefined {
    const packed = this.byName.get(name);
    if (packed === undefined) return undefined;
    return packed === UNPACKED ? this.unpacked!.get(name) : unpackValue(packed);
  }

  /** Fills `target` with the value of `name` and returns true, or false when absent: {@link value} without allocating. */
  valueInto(name: string, target: DentryValueTarget): boolean {
    const packed = this.byName.get(name);
    if (packed === undefined) return false;
    if (packed === UNPACKED) {
      const value = this.unpacked!.get(name)!;
      target.inodeId = value.inodeId;
      target.type = value.type;
      target.flag = value.flag;
      target.txId = value.txId;
      target.txSequence = value.txSequence;
      return true;
    }
    const low = packed % PACK_FACTOR;
    const type = low % FLAG_FACTOR;
    target.inodeId = (packed - low) / PACK_FACTOR;
    target.type = type === 0 ? undefined : (type as FsFileType);
    target.flag = (low & FLAG_PRESENT) === 0 ? undefined : (low - FLAG_PRESENT - type) / FLAG_FACTOR;
    target.txId = undefined;
    target.txSequence = undefined;
    return true;
  }
}

/** What {@link Directory.valueInto} fills. */
export interface DentryValueTarget {
  inodeId: number;
  type: FsFileType | undefined;
  flag: number | undefined;
  txId: number | undefined;
  txSequence: number | undefined;
}

class DirectoryPage {
  readonly slots: (Directory | undefined)[] = new Array<Directory | undefined>(DIRECTORY_PAGE_SLOTS).fill(undefined);
  live = 0;
}

export class DentryTable {
  private readonly pages = new Map<number, DirectoryPage>();
  private count = 0;
  /** While a snapshot dump runs, empty pages are kept so that page numbers stay stable. */
  keepEmptyPages = false;

  get size(): number {
    return this.count;
  }

  directory(parentId: number): Directory | undefined {
    return this.pages.get(Math.floor(parentId / DIRECTORY_PAGE_SLOTS))?.slots[parentId % DIRECTORY_PAGE_SLOTS];
  }

  get(parentId: number, name: string): Dentry | undefined {
    const directory = this.directory(parentId);
    if (directory === undefined) return undefined;
    const value = directory.value(name);
    return value === undefined ? undefined : toDentry(directory.fsId, parentId, name, value);
  }

  childCount(parentId: number): number {
    return this.directory(parentId)?.size ?? 0;
  }

  /** Stores a dentry; returns true when the name was new in its directory. */
  set(fsId: number, parentId: number, name: string, value: DentryValue): boolean {
    let directory = this.directory(parentId);
    if (directory === undefined) directory = this.createDirectory(fsId, parentId);
    invariant(directory.fsId === fsId, 'a directory belongs to one file system');
    const packed = packValue(value);
    const isNew = !directory.byName.has(name);
    if (packed === UNPACKED) (directory.unpacked ??= new Map()).set(name, value);
    else directory.unpacked?.delete(name);
    directory.byName.set(name, packed);
    if (isNew) {
      directory.order.insert(name);
      this.count++;
    }
    directory.version++;
    return isNew;
  }

  /**
   * Stores a dentry as {@link set} does, fast when `name` sorts after every name of its
   * directory (a snapshot load in key order): then it is appended to the order without
   * a search. `value` is copied if kept whole, so the caller may reuse it.
   */
  setInOrder(fsId: number, parentId: number, name: string, value: DentryValue): void {
    const directory = this.directory(parentId);
    const last = directory?.order.last();
    if (directory === undefined || last === undefined || directory.fsId !== fsId || compareNames(last, name) >= 0) {
      this.set(fsId, parentId, name, { ...value });
      return;
    }
    const packed = packValue(value);
    if (packed === UNPACKED) (directory.unpacked ??= new Map()).set(name, { ...value });
    directory.byName.set(name, packed);
    directory.order.append(name);
    this.count++;
    directory.version++;
  }

  /** Removes a dentry; returns its value, or undefined when it was absent. */
  delete(parentId: number, name: string): DentryValue | undefined {
    const directory = this.directory(parentId);
    if (directory === undefined) return undefined;
    const value = directory.value(name);
    if (value === undefined) return undefined;
    directory.byName.delete(name);
    directory.unpacked?.delete(name);
    directory.order.remove(name);
    directory.version++;
    this.count--;
    if (directory.size === 0) this.removeDirectory(parentId);
    return value;
  }

  /** Entries of `parentId` after `after`, at most `limit` (0: all), only directories if asked. */
  list(parentId: number, after: string | undefined, limit: number, onlyDirectories: boolean): Dentry[] {
    const directory = this.directory(parentId);
    const entries: Dentry[] = [];
    if (directory === undefined) return entries;
    directory.order.forEachAfter(after, (name) => {
      const value = directory.value(name)!;
      if (!onlyDirectories || value.type === FsFileType.TYPE_DIRECTORY) entries.push(toDentry(directory.fsId, parentId, name, value));
      return limit === 0 || entries.length < limit;
    });
    return entries;
  }

  sortedPageNumbers(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** Parent ids with a directory in page `pageNumber`, ascending. */
  parentsInPage(pageNumber: number): number[] {
    const page = this.pages.get(pageNumber);
    const parents: number[] = [];
    if (page === undefined) return parents;
    for (let slot = 0; slot < DIRECTORY_PAGE_SLOTS; slot++) {
      if (page.slots[slot] !== undefined) parents.push(pageNumber * DIRECTORY_PAGE_SLOTS + slot);
    }
    return parents;
  }

  dropEmptyPages(): void {
    for (const [pageNumber, page] of this.pages) if (page.live === 0) this.pages.delete(pageNumber);
  }

  /** Every parent id with entries, ascending. */
  *parents(): Generator<number> {
    for (const pageNumber of this.sortedPageNumbers()) yield* this.parentsInPage(pageNumber);
  }

  private createDirectory(fsId: number, parentId: number): Directory {
    const pageNumber = Math.floor(parentId / DIRECTORY_PAGE_SLOTS);
    let page = this.pages.get(pageNumber);
    if (page === undefined) {
      page = new DirectoryPage();
      this.pages.set(pageNumber, page);
    }
    const directory = new Directory(fsId);
    page.slots[parentId % DIRECTORY_PAGE_SLOTS] = directory;
    page.live++;
    return directory;
  }

  private removeDirectory(parentId: number): void {
    const pageNumber = Math.floor(parentId / DIRECTORY_PAGE_SLOTS);
    const page = this.pages.get(pageNumber)!;
    page.slots[parentId % DIRECTORY_PAGE_SLOTS] = undefined;
    page.live--;
    if (page.live === 0 && !this.keepEmptyPages) this.pages.delete(pageNumber);
  }
}

export function toDentry(fsId: number, parentInodeId: number, name: string, value: DentryValue): Dentry {
  return {
    fsId,
    inodeId: value.inodeId,
    parentInodeId,
    name,
    txId: value.txId,
    flag: value.flag,
    type: value.type,
    txSequence: value.txSequence,
  };
}

function packValue(value: DentryValue): number {
  const { inodeId, flag, txId, txSequence } = value;
  if (txId !== undefined || txSequence !== undefined || inodeId >= MAX_PACKED_INODE_ID) return UNPACKED;
  if (flag !== undefined && (flag < 0 || flag > MAX_PACKED_FLAG)) return UNPACKED;
  return inodeId * PACK_FACTOR + (flag === undefined ? 0 : FLAG_PRESENT + flag * FLAG_FACTOR) + (value.type ?? 0);
}

function unpackValue(packed: number): DentryValue {
  const low = packed % PACK_FACTOR;
  const type = low % FLAG_FACTOR;
  return {
    inodeId: (packed - low) / PACK_FACTOR,
    type: type === 0 ? undefined : (type as FsFileType),
    flag: (low & FLAG_PRESENT) === 0 ? undefined : (low - FLAG_PRESENT - type) / FLAG_FACTOR,
    txId: undefined,
    txSequence: undefined,
  };
}

/** True when (parentA, nameA) sorts at or before (parentB, nameB) in dump order. */
export function dentryKeyAtOrBefore(parentA: number, nameA: string, parentB: number, nameB: string): boolean {
  return parentA < parentB || (parentA === parentB && compareNames(nameA, nameB) <= 0);
}
