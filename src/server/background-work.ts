/**
 * The leader's background work (curve-facts.md, "Deleting files"): it belongs to the
 * leader only, changes state only through the log (as ordinary writes of the copyset),
 * and stops when the server stops.
 *
 * - Trash: inodes unlinked longer than `keepSeconds` ago (and not held open) are
 *   deleted with DeleteInode, in rounds of at most TRASH_BATCH.
 * - Partition cleaning: a DELETING partition is emptied by ReclaimPartition steps (each
 *   one log entry of bounded size) until nothing is left; the coordinator's next
 *   DeletePartition then removes it.
 */
import { MetaStatusCode } from '../executor/status.ts';
import type { CopysetNode } from './copyset-node.ts';

/** Trash entries deleted per copyset per round: bounds one round's log traffic. */
export const TRASH_BATCH = 1000;
/** ReclaimPartition steps per partition per round (each removes up to 1,000 records). */
export const MAX_RECLAIM_STEPS_PER_ROUND = 100;

export interface BackgroundWorkOptions {
  readonly trashScanPeriodMs: number;
  readonly trashKeepSeconds: number;
  readonly partitionCleanPeriodMs: number;
  /** The copysets to visit (leaders only are worked on). */
  readonly copysets: () => Iterable<CopysetNode>;
  /** Wall-clock seconds, compared with inode dtimes. */
  readonly nowSeconds?: () => number;
}

export class BackgroundWork {
  private readonly timers: NodeJS.Timeout[] = [];
  private trashRunning = false;
  private cleanRunning = false;
  private stopped = false;

  constructor(private readonly options: BackgroundWorkOptions) {}

  start(): void {
    this.timers.push(setInterval(() => void this.reclaimTrash(), this.options.trashScanPeriodMs));
    this.timers.push(setInterval(() => void this.cleanPartitions(), this.options.partitionCleanPeriodMs));
    for (const timer of this.timers) timer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  /** One trash round over every copyset this server leads; resolves with the inodes deleted. */
  async reclaimTrash(): Promise<number> {
    if (this.trashRunning || this.stopped) return 0;
    this.trashRunning = true;
    let deleted = 0;
    try {
      const now = this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
      for (const copyset of this.options.copysets()) {
        if (this.stopped || !copyset.isLeader()) continue;
        for (const request of copyset.executor.expiredTrash(now, this.options.trashKeepSeconds, TRASH_BATCH)) {
          if (this.stopped) break;
          const response = await copyset.write('DeleteInode', request);
          if (response.statusCode !== MetaStatusCode.OK) break; // not leader any more, overloaded: next round
          deleted++;
        }
      }
    } finally {
      this.trashRunning = false;
    }
    return deleted;
  }

  /** One cleaning round: empties DELETING partitions of the copysets this server leads. */
  async cleanPartitions(): Promise<number> {
    if (this.cleanRunning || this.stopped) return 0;
    this.cleanRunning = true;
    let records = 0;
    try {
      for (const copyset of this.options.copysets()) {
        if (this.stopped || !copyset.isLeader()) continue;
        for (const partitionId of copyset.executor.deletingPartitions()) {
          for (let step = 0; step < MAX_RECLAIM_STEPS_PER_ROUND && !this.stopped; step++) {
            const response = await copyset.write('ReclaimPartition', { partitionId });
            if (response.statusCode !== MetaStatusCode.OK || response.deleted === 0) break;
            records += response.deleted;
          }
        }
      }
    } finally {
      this.cleanRunning = false;
    }
    return records;
  }
}
