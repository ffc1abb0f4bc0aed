/**
 * The inodes of one partition, stored row by row in typed arrays, paged by inode id.
 *
 * Why not a Map of objects: an inode object with its parent array costs ~250 bytes of
 * heap and a Map entry ~40 more; a row here is 64 bytes and there is no per-inode
 * object or hash entry at all. Ids are handed out densely from the partition's
 * `nextId`, so a page of {@link INODE_PAGE_ROWS} consecutive ids fills up; a lookup is
 * one small Map get (the page) plus reads from two typed arrays. The rare variable
 * parts and the fields most inodes never have (symlink target, xattrs, parents beyond
 * the first, rdev, dtime, openmpcount) live in a side map.
 *
 * Row layout (64 bytes): 2 float64 (length, first parent) and 12 uint32 (fsId, ctime,
 * ctime_ns, mtime, mtime_ns, atime, atime_ns, uid, gid, mode, nlink, bits). u64 fields
 * are safe integers, exact in a float64. Times in seconds fit a uint32 until 2106; an
 * inode with a later (or corrupt-looking but legal) time keeps its three times in the
 * side map.
 */
import { invariant } from '../raft/errors.ts';
import type { FsFileType, Inode, XAttrMap } from './types.ts';

/** What {@link InodeTable.readInto} fills: an inode whose fields can be overwritten. */
export type InodeTarget = { -readonly [K in keyof Inode]: Inode[K] } & { parent: number[] };

/** Ids per page: a page is 16 KiB, and a sparse partition wastes at most one page per id. */
export const INODE_PAGE_ROWS = 256;
const F64_PER_ROW = 2;
const U32_PER_ROW = 12;

// float64 columns
const LENGTH = 0;
const PARENT0 = 1;
// uint32 columns
const FS_ID = 0;
const CTIME = 1;
const CTIME_NS = 2;
const MTIME = 3;
const MTIME_NS = 4;
const ATIME = 5;
const ATIME_NS = 6;
const UID = 7;
const GID = 8;
const MODE = 9;
const NLINK = 10;
const BITS = 11;
// bits
const TYPE_MASK = 0x7;
const PRESENT = 1 << 3;
const HAS_EXTRAS = 1 << 7;
const HAS_PARENT0 = 1 << 8;

const U32_LIMIT = 0x1_0000_0000;

interface InodeExtras {
  readonly symlink: string | undefined;
  readonly xattr: XAttrMap;
  readonly parentsAfterFirst: readonly number[];
  readonly rdev: number | undefined;
  readonly dtime: number | undefined;
  readonly openmpcount: number | undefined;
  /** ctime, mtime, atime in seconds when one of them does not fit a uint32. */
  readonly times: readonly [number, number, number] | undefined;
}

const EMPTY_XATTR: XAttrMap = Object.freeze({});

class InodePage {
  readonly f64 = new Float64Array(INODE_PAGE_ROWS * F64_PER_ROW);
  readonly u32 = new Uint32Array(INODE_PAGE_ROWS * U32_PER_ROW);
  live = 0;
}

export class InodeTable {
  private readonly pages = new Map<number, InodePage>();
  private readonly extras = new Map<number, InodeExtras>();
  private count = 0;
  /** While a snapshot dump runs, empty pages are kept so that page numbers stay stable. */
  keepEmptyPages = false;

  get size(): number {
    return this.count;
  }

  has(inodeId: number): boolean {
    const page = this.pages.get(Math.floor(inodeId / INODE_PAGE_ROWS));
    return page !== undefined && (page.u32[(inodeId % INODE_PAGE_ROWS) * U32_PER_ROW + BITS]! & PRESENT) !== 0;
  }

  /** The type of a present inode, or 0 when absent. */
  typeOf(inodeId: number): number {
    const page = this.pages.get(Math.floor(inodeId / INODE_PAGE_ROWS));
    if (page === undefined) return 0;
    const bits = page.u32[(inodeId % INODE_PAGE_ROWS) * U32_PER_ROW + BITS]!;
    return (bits & PRESENT) === 0 ? 0 : bits & TYPE_MASK;
  }

  get(inodeId: number): Inode | undefined {
    const page = this.pages.get(Math.floor(inodeId / INODE_PAGE_ROWS));
    if (page === undefined) return undefined;
    const row = inodeId % INODE_PAGE_ROWS;
    const u = row * U32_PER_ROW;
    const u32 = page.u32;
    const bits = u32[u + BITS]!;
    if ((bits & PRESENT) === 0) return undefined;
    const f = row * F64_PER_ROW;
    const f64 = page.f64;
    const extras = (bits & HAS_EXTRAS) === 0 ? undefined : this.extras.get(inodeId);
    let parent: number[];
    if ((bits & HAS_PARENT0) === 0) parent = [];
    else if (extras === undefined || extras.parentsAfterFirst.length === 0) parent = [f64[f + PARENT0]!];
    else parent = [f64[f + PARENT0]!, ...extras.parentsAfterFirst];
    const times = extras?.times;
    return {
      inodeId,
      fsId: u32[u + FS_ID]!,
      length: f64[f + LENGTH]!,
      ctime: times === undefined ? u32[u + CTIME]! : times[0],
      ctime_ns: u32[u + CTIME_NS]!,
      mtime: times === undefined ? u32[u + MTIME]! : times[1],
      mtime_ns: u32[u + MTIME_NS]!,
      atime: times === undefined ? u32[u + ATIME]! : times[2],
      atime_ns: u32[u + ATIME_NS]!,
      uid: u32[u + UID]!,
      gid: u32[u + GID]!,
      mode: u32[u + MODE]!,
      nlink: u32[u + NLINK]!,
      type: (bits & TYPE_MASK) as FsFileType,
      symlink: extras?.symlink,
      rdev: extras?.rdev,
      dtime: extras?.dtime,
      openmpcount: extras?.openmpcount,
      xattr: extras?.xattr ?? {},
      parent,
    };
  }

  /**
   * Fills `target` with inode `inodeId` and returns true, or returns false when it is
   * absent: {@link get} without allocating (a snapshot dump reads every row this way).
   * `target.parent` is refilled in place; `target.xattr` is shared with the table
   * (read-only): copy what you keep.
   */
  readInto(inodeId: number, target: InodeTarget): boolean {
    const page = this.pages.get(Math.floor(inodeId / INODE_PAGE_ROWS));
    if (page === undefined) return false;
    const row = inodeId % INODE_PAGE_ROWS;
    const u = row * U32_PER_ROW;
    const u32 = page.u32;
    const bits = u32[u + BITS]!;
    if ((bits & PRESENT) === 0) return false;
    const f = row * F64_PER_ROW;
    const f64 = page.f64;
    const parent = target.parent;
    parent.length = 0;
    if ((bits & HAS_PARENT0) !== 0) parent.push(f64[f + PARENT0]!);
    target.inodeId = inodeId;
    target.fsId = u32[u + FS_ID]!;
    target.length = f64[f + LENGTH]!;
    target.ctime_ns = u32[u + CTIME_NS]!;
    target.mtime_ns = u32[u + MTIME_NS]!;
    target.atime_ns = u32[u + ATIME_NS]!;
    target.uid = u32[u + UID]!;
    target.gid = u32[u + GID]!;
    target.mode = u32[u + MODE]!;
    target.nlink = u32[u + NLINK]!;
    target.type = (bits & TYPE_MASK) as FsFileType;
    const extras = (bits & HAS_EXTRAS) === 0 ? undefined : this.extras.get(inodeId);
    if (extras === undefined) {
      target.ctime = u32[u + CTIME]!;
      target.mtime = u32[u + MTIME]!;
      target.atime = u32[u + ATIME]!;
      target.symlink = undefined;
      target.rdev = undefined;
      target.dtime = undefined;
      target.openmpcount = undefined;
      target.xattr = EMPTY_XATTR;
      return true;
    }
    const times = extras.times;
    target.ctime = times === undefined ? u32[u + CTIME]! : times[0];
    target.mtime = times === undefined ? u32[u + MTIME]! : times[1];
    target.atime = times === undefined ? u32[u + ATIME]! : times[2];
    target.symlink = extras.symlink;
    target.rdev = extras.rdev;
    target.dtime = extras.dtime;
    target.openmpcount = extras.openmpcount;
    target.xattr = extras.xattr;
    for (const more of extras.parentsAfterFirst) parent.push(more);
    return true;
  }

  /** nlink, dtime and openmpcount of a present inode, without building it (for the trash). */
  trashFields(inodeId: number): { nlink: number; dtime: number | undefined; openmpcount: number } | undefined {
    const page = this.pages.get(Math.floor(inodeId / INODE_PAGE_ROWS));
    if (page === undefined) return undefined;
    const row = inodeId % INODE_PAGE_ROWS;
    const u = row * U32_PER_ROW;
    const bits = page.u32[u + BITS]!;
    if ((bits & PRESENT) === 0) return undefined;
    const extras = (bits & HAS_EXTRAS) === 0 ? undefined : this.extras.get(inodeId);
    return { nlink: page.u32[u + NLINK]!, dtime: extras?.dtime, openmpcount: extras?.openmpcount ?? 0 };
  }

  /** Stores `inode` under its id; returns the previous type (0 when it was absent). */
  set(inode: Inode): number {
    const id = inode.inodeId;
    invariant(Number.isSafeInteger(id) && id >= 0, 'an inode id is a non-negative safe integer');
    const pageNumber = Math.floor(id / INODE_PAGE_ROWS);
    let page = this.pages.get(pageNumber);
    if (page === undefined) {
      page = new InodePage();
      this.pages.set(pageNumber, page);
    }
    const row = id % INODE_PAGE_ROWS;
    const u = row * U32_PER_ROW;
    const f = row * F64_PER_ROW;
    const oldBits = page.u32[u + BITS]!;
    const previousType = (oldBits & PRESENT) === 0 ? 0 : oldBits & TYPE_MASK;
    if (previousType === 0) {
      page.live++;
      this.count++;
    }
    const { f64, u32 } = page;
    f64[f + LENGTH] = inode.length;
    f64[f + PARENT0] = inode.parent[0] ?? 0;
    const bigTimes = inode.ctime >= U32_LIMIT || inode.mtime >= U32_LIMIT || inode.atime >= U32_LIMIT;
    u32[u + CTIME] = bigTimes ? 0 : inode.ctime;
    u32[u + MTIME] = bigTimes ? 0 : inode.mtime;
    u32[u + ATIME] = bigTimes ? 0 : inode.atime;
    u32[u + FS_ID] = u32Field(inode.fsId);
    u32[u + CTIME_NS] = u32Field(inode.ctime_ns);
    u32[u + MTIME_NS] = u32Field(inode.mtime_ns);
    u32[u + ATIME_NS] = u32Field(inode.atime_ns);
    u32[u + UID] = u32Field(inode.uid);
    u32[u + GID] = u32Field(inode.gid);
    u32[u + MODE] = u32Field(inode.mode);
    u32[u + NLINK] = u32Field(inode.nlink);
    const hasExtras =
      bigTimes ||
      inode.symlink !== undefined ||
      inode.parent.length > 1 ||
      inode.rdev !== undefined ||
      inode.dtime !== undefined ||
      inode.openmpcount !== undefined ||
      hasKeys(inode.xattr);
    u32[u + BITS] = (inode.type & TYPE_MASK) | PRESENT | (hasExtras ? HAS_EXTRAS : 0) | (inode.parent.length === 0 ? 0 : HAS_PARENT0);
    if (hasExtras) {
      this.extras.set(id, {
        symlink: inode.symlink,
        xattr: hasKeys(inode.xattr) ? copyXattr(inode.xattr) : EMPTY_XATTR,
        parentsAfterFirst: inode.parent.slice(1),
        rdev: inode.rdev,
        dtime: inode.dtime,
        openmpcount: inode.openmpcount === undefined ? undefined : u32Field(inode.openmpcount),
        times: bigTimes ? [inode.ctime, inode.mtime, inode.atime] : undefined,
      });
    } else if ((oldBits & HAS_EXTRAS) !== 0) {
      this.extras.delete(id);
    }
    return previousType;
  }

  /** Removes an inode; returns its type (0 when it was absent). */
  delete(inodeId: number): number {
    const pageNumber = Math.floor(inodeId / INODE_PAGE_ROWS);
    const page = this.pages.get(pageNumber);
    if (page === undefined) return 0;
    const u = (inodeId % INODE_PAGE_ROWS) * U32_PER_ROW;
    const bits = page.u32[u + BITS]!;
    if ((bits & PRESENT) === 0) return 0;
    page.u32[u + BITS] = 0;
    if ((bits & HAS_EXTRAS) !== 0) this.extras.delete(inodeId);
    page.live--;
    this.count--;
    if (page.live === 0 && !this.keepEmptyPages) this.pages.delete(pageNumber);
    return bits & TYPE_MASK;
  }

  /** Page numbers in ascending order (a snapshot dump visits ids in ascending order). */
  sortedPageNumbers(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** Ids present in page `pageNumber`, ascending. */
  idsInPage(pageNumber: number): number[] {
    const page = this.pages.get(pageNumber);
    const ids: number[] = [];
    if (page === undefined) return ids;
    for (let row = 0; row < INODE_PAGE_ROWS; row++) {
      if ((page.u32[row * U32_PER_ROW + BITS]! & PRESENT) !== 0) ids.push(pageNumber * INODE_PAGE_ROWS + row);
    }
    return ids;
  }

  /** Drops pages left empty while a dump kept them. */
  dropEmptyPages(): void {
    for (const [pageNumber, page] of this.pages) if (page.live === 0) this.pages.delete(pageNumber);
  }

  /** Every present inode id, ascending. */
  *ids(): Generator<number> {
    for (const pageNumber of this.sortedPageNumbers()) yield* this.idsInPage(pageNumber);
  }
}

function u32Field(value: number): number {
  invariant(Number.isInteger(value) && value >= 0 && value < U32_LIMIT, () => `inode u32 field out of range: ${value}`);
  return value;
}

function hasKeys(xattr: XAttrMap): boolean {
  for (const _ in xattr) return true;
  return false;
}

function copyXattr(xattr: XAttrMap): XAttrMap {
  const copy: Record<string, Uint8Array> = {};
  for (const name of Object.keys(xattr)) copy[name] = xattr[name]!;
  return Object.freeze(copy);
}
