/**
 * One partition's state on a replica: its info (as last SET through the log), its
 * inodes, its dentries, the derived counts and trash, and the raw records of the tables
 * the metastore does not interpret (trash and pending-transaction keys).
 */
import { DentryTable } from './dentry-table.ts';
import { InodeTable } from './inode-table.ts';
import type { Inode, PartitionInfo } from './types.ts';

/** A record kept as raw bytes (tables the metastore stores without interpreting). */
export interface RawRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Highest FsFileType value, sizing the per-type inode counts. */
const MAX_FILE_TYPE = 4;

export class Partition {
  info: PartitionInfo | undefined;
  readonly inodes = new InodeTable();
  readonly dentries = new DentryTable();
  /** Raw records by the hex of their key. */
  readonly rawRecords = new Map<string, RawRecord>();
  /** Ids of inodes with nlink 0 and a dtime: derived from the inodes, never stored. */
  readonly trash = new Set<number>();
  private readonly inodesByType = new Array<number>(MAX_FILE_TYPE + 1).fill(0);

  constructor(readonly partitionId: number) {}

  get isEmpty(): boolean {
    return this.inodes.size === 0 && this.dentries.size === 0 && this.rawRecords.size === 0;
  }

  setInode(inode: Inode): void {
    const previousType = this.inodes.set(inode);
    if (previousType !== 0) this.inodesByType[previousType]!--;
    this.inodesByType[inode.type]!++;
    if (inode.nlink === 0 && inode.dtime !== undefined) this.trash.add(inode.inodeId);
    else this.trash.delete(inode.inodeId);
  }

  deleteInode(inodeId: number): void {
    const previousType = this.inodes.delete(inodeId);
    if (previousType !== 0) this.inodesByType[previousType]!--;
    this.trash.delete(inodeId);
  }

  /** The info with the counts filled in from the maps, or undefined if none was SET. */
  infoWithCounts(): PartitionInfo | undefined {
    if (this.info === undefined) return undefined;
    const fileType2inodeNum: Record<number, number> = {};
    for (let type = 1; type <= MAX_FILE_TYPE; type++) {
      if (this.inodesByType[type]! > 0) fileType2inodeNum[type] = this.inodesByType[type]!;
    }
    return { ...this.info, inodeNum: this.inodes.size, dentryNum: this.dentries.size, fileType2inodeNum };
  }

  /** While a dump runs, keep empty pages so that page numbers stay stable under it. */
  setKeepEmptyPages(keep: boolean): void {
    this.inodes.keepEmptyPages = keep;
    this.dentries.keepEmptyPages = keep;
    if (!keep) {
      this.inodes.dropEmptyPages();
      this.dentries.dropEmptyPages();
    }
  }
}
