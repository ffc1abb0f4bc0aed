import { MemoryLogStorage } from '../../raft/memory-storage.ts';
import type { ConfigState, Entry, HardState, Index, Snapshot } from '../../raft/types.ts';
import type { Random } from '../random.ts';

/** One write, as a disk would see it, kept until the next sync. */
type DiskWrite =
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'hard-state'; readonly hardState: HardState }
  | { readonly kind: 'create-snapshot'; readonly index: Index; readonly config: ConfigState; readonly data: Uint8Array }
  | { readonly kind: 'compact'; readonly index: Index };

/**
 * The disk of one replica (one group on one node).
 *
 * `live` is what the running core reads: every write lands there at once, as in an
 * OS page cache. `durable` is what survives a crash: writes reach it only on sync().
 * A crash drops the unsynced writes (or, when torn, keeps a random prefix of them,
 * possibly cutting an append in the middle) and rebuilds `live` from `durable`.
 */
export class SimDisk {
  private durableImage: MemoryLogStorage;
  private liveImage: MemoryLogStorage;
  private pending: DiskWrite[] = [];

  constructor(initialConfig: ConfigState) {
    this.durableImage = new MemoryLogStorage(initialConfig);
    this.liveImage = new MemoryLogStorage(initialConfig);
  }

  /** The storage the running core reads (durable writes plus the unsynced buffer). */
  get live(): MemoryLogStorage {
    return this.liveImage;
  }

  /** What a crash right now would leave. */
  get durable(): MemoryLogStorage {
    return this.durableImage;
  }

  get unsyncedWrites(): number {
    return this.pending.length;
  }

  applySnapshot(snapshot: Snapshot): void {
    this.write({ kind: 'snapshot', snapshot });
  }

  append(entries: readonly Entry[]): void {
    if (entries.length > 0) this.write({ kind: 'append', entries });
  }

  setHardState(hardState: HardState): void {
    this.write({ kind: 'hard-state', hardState });
  }

  /** A state-machine snapshot at `index`, followed by compaction up to `compactIndex`; synced at once. */
  saveSnapshot(index: Index, config: ConfigState, data: Uint8Array, compactIndex: Index): void {
    this.write({ kind: 'create-snapshot', index, config, data });
    if (compactIndex > 0) this.write({ kind: 'compact', index: compactIndex });
    this.sync();
  }

  /** Makes every buffered write durable. */
  sync(): void {
    for (const write of this.pending) applyWrite(this.durableImage, write);
    this.pending = [];
  }

  /**
   * Loses the unsynced writes. With `torn`, a random prefix of them survives (a crash
   * in the middle of writing, which may cut an append between two entries).
   */
  crash(torn: Random | null): void {
    if (torn !== null) this.applyTornPrefix(torn);
    this.pending = [];
    this.liveImage = cloneStorage(this.durableImage);
  }

  private write(write: DiskWrite): void {
    applyWrite(this.liveImage, write);
    this.pending.push(write);
  }

  private applyTornPrefix(random: Random): void {
    let units = 0;
    for (const write of this.pending) units += write.kind === 'append' ? write.entries.length : 1;
    let keep = random.int(0, units);
    for (const write of this.pending) {
      if (keep <= 0) break;
      if (write.kind === 'append' && write.entries.length > keep) {
        this.durableImage.append(write.entries.slice(0, keep));
        break;
      }
      applyWrite(this.durableImage, write);
      keep -= write.kind === 'append' ? write.entries.length : 1;
    }
  }
}

function applyWrite(storage: MemoryLogStorage, write: DiskWrite): void {
  switch (write.kind) {
    case 'snapshot':
      storage.applySnapshot(write.snapshot);
      return;
    case 'append':
      storage.append(write.entries);
      return;
    case 'hard-state':
      storage.setHardState(write.hardState);
      return;
    case 'create-snapshot':
      storage.createSnapshot(write.index, write.config, write.data);
      return;
    case 'compact':
      storage.compact(write.index);
      return;
  }
}

/** A separate MemoryLogStorage with the same snapshot, entries and hard state. */
export function cloneStorage(source: MemoryLogStorage): MemoryLogStorage {
  const snapshot = source.snapshot();
  const { index: snapshotIndex, config } = snapshot.metadata;
  const copy = new MemoryLogStorage(config);
  const first = source.firstIndex();
  const last = source.lastIndex();
  // Entries may be kept below the snapshot index (compaction lags the snapshot), so
  // rebuild the log from its real start, then record the snapshot over it.
  const base = first - 1;
  if (base === snapshotIndex) {
    copy.applySnapshot(snapshot);
  } else {
    copy.applySnapshot({ metadata: { index: base, term: source.term(base), config }, data: snapshot.data });
  }
  if (last >= first) copy.append(source.entries(first, last + 1));
  if (base !== snapshotIndex) copy.createSnapshot(snapshotIndex, config, snapshot.data);
  copy.setHardState(source.hardState());
  return copy;
}
