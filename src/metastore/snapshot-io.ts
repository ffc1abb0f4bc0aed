/**
 * A copyset's state to and from a snapshot file (formats.md, "The snapshot file"): the
 * dump streams a frozen view (snapshot-view.ts) through the snapshot-file writer while
 * applies continue; the load verifies the whole file first (the reader's checksum),
 * then rebuilds a fresh store raw — no business checks, as CurveFS learned — which the
 * caller swaps in only when it is complete, so a bad file leaves no partial state.
 */
import { invariant } from '../raft/errors.ts';
import type { ConfigState, Term } from '../raft/types.ts';
import { readSnapshotFileRanges, writeSnapshotFile } from '../storage/snapshot-file.ts';
import type { SnapshotFileInfo, SnapshotWriteOptions } from '../storage/snapshot-file.ts';
import { ID_KEY_BYTES, KEY_PREFIX_BYTES, readIdAt, readNameAt, readU32At, TABLE_TAG } from './keys.ts';
import { MetaStore } from './metastore.ts';
import type { Partition } from './partition.ts';
import { decodeDentryValueInto, decodeInodeInto, decodePartitionInfo, newMutableDentryValue, newMutableInode } from './value-codec.ts';

/** The value-codec layout the pairs use, in the file's user data (a reader refuses others). */
export const SNAPSHOT_USER_DATA = Uint8Array.of(1);

export type SnapshotLoadErrorCode = 'SNAPSHOT_BAD_RECORD' | 'SNAPSHOT_BAD_USER_DATA';

/** A snapshot file passed its checksum but holds a pair this metastore cannot load. */
export class SnapshotLoadError extends Error {
  readonly code: SnapshotLoadErrorCode;
  constructor(code: SnapshotLoadErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotLoadError';
    this.code = code;
  }
}

export interface DumpMetadata {
  readonly term: Term;
  readonly config: ConfigState;
}

/**
 * Writes the store's state at its current applied index to `path` (temp file, fsync,
 * rename, folder fsync). Applies may run while the returned promise is pending; the
 * file holds exactly the state at the index returned in its info.
 */
export async function dumpSnapshot(store: MetaStore, path: string, metadata: DumpMetadata, options?: SnapshotWriteOptions): Promise<SnapshotFileInfo> {
  const view = store.beginSnapshot();
  try {
    return await writeSnapshotFile(path, { index: view.index, term: metadata.term, config: metadata.config, userData: SNAPSHOT_USER_DATA }, view, options);
  } finally {
    view.close();
  }
}

/**
 * Builds a fresh store from a snapshot file; throws (SnapshotFileError, SnapshotLoadError)
 * without partial state. Pairs are read in place from the reader's buffer and stored
 * straight into the tables: an inode into its row, a dentry appended to its directory
 * (a dump writes each directory's names in order; out-of-order names take the general
 * path).
 */
export async function loadSnapshot(path: string): Promise<{ store: MetaStore; info: SnapshotFileInfo }> {
  const loader = new PairLoader(new MetaStore(), path);
  // One pass: the store is fresh and dropped if the read throws, so pairs may arrive
  // before the checksum vouches for them (the reader still reports a damaged file as such).
  const info = await readSnapshotFileRanges(path, (bytes, keyAt, keyLength, valueAt, valueLength) => loader.load(bytes, keyAt, keyLength, valueAt, valueLength), {
    verifyFirst: false,
  });
  const userData = info.metadata.userData;
  if (userData.length !== SNAPSHOT_USER_DATA.length || userData[0] !== SNAPSHOT_USER_DATA[0]) {
    throw new SnapshotLoadError('SNAPSHOT_BAD_USER_DATA', `snapshot file ${path}: unknown value layout ${Buffer.from(userData).toString('hex')}`);
  }
  loader.store.setLoadedIndex(info.metadata.index);
  return { store: loader.store, info };
}

/**
 * Stores pairs into a fresh store as {@link MetaStore.applyRecord} would store SETs,
 * with the same checks on keys and values, but without a key object, a value object or
 * a view per pair.
 */
class PairLoader {
  private pairIndex = 0;
  private partitionId = -1;
  private partition: Partition | undefined;
  private readonly inode = newMutableInode();
  private readonly dentryValue = newMutableDentryValue();

  constructor(
    readonly store: MetaStore,
    private readonly path: string,
  ) {}

  load(bytes: Uint8Array, keyAt: number, keyLength: number, valueAt: number, valueLength: number): void {
    try {
      this.storePair(bytes, keyAt, keyLength, valueAt, valueLength);
    } catch (error) {
      throw new SnapshotLoadError('SNAPSHOT_BAD_RECORD', `snapshot file ${this.path}: pair ${this.pairIndex} cannot be loaded: ${(error as Error).message}`, { cause: error });
    }
    this.pairIndex++;
  }

  private storePair(bytes: Uint8Array, keyAt: number, keyLength: number, valueAt: number, valueLength: number): void {
    if (keyLength < KEY_PREFIX_BYTES) return this.storeGeneral(bytes, keyAt, keyLength, valueAt, valueLength);
    const tag = bytes[keyAt]!;
    const partitionId = readU32At(bytes, keyAt + 1);
    if (tag === TABLE_TAG.inode && keyLength === ID_KEY_BYTES) {
      const fsId = readU32At(bytes, keyAt + 5);
      const inodeId = readIdAt(bytes, keyAt + 9, 'inodeId');
      const inode = this.inode;
      decodeInodeInto(bytes, valueAt, valueAt + valueLength, inode);
      invariant(inode.inodeId === inodeId && inode.fsId === fsId, 'an inode value matches its key');
      this.partitionFor(partitionId).setInode(inode);
      return;
    }
    if (tag === TABLE_TAG.dentry && keyLength > ID_KEY_BYTES) {
      const fsId = readU32At(bytes, keyAt + 5);
      const parentId = readIdAt(bytes, keyAt + 9, 'parentInodeId');
      const name = readNameAt(bytes, keyAt + ID_KEY_BYTES, keyAt + keyLength);
      decodeDentryValueInto(bytes, valueAt, valueAt + valueLength, this.dentryValue);
      this.partitionFor(partitionId).dentries.setInOrder(fsId, parentId, name, this.dentryValue);
      return;
    }
    if (tag === TABLE_TAG.partitionInfo && keyLength === KEY_PREFIX_BYTES) {
      this.partitionFor(partitionId).info = decodePartitionInfo(bytes.subarray(valueAt, valueAt + valueLength));
      return;
    }
    this.storeGeneral(bytes, keyAt, keyLength, valueAt, valueLength);
  }

  /** Everything else (raw tables, malformed keys) through the store's own apply of a SET. */
  private storeGeneral(bytes: Uint8Array, keyAt: number, keyLength: number, valueAt: number, valueLength: number): void {
    this.store.applyRecord({ type: 'set', key: bytes.subarray(keyAt, keyAt + keyLength), value: bytes.subarray(valueAt, valueAt + valueLength) });
    this.partitionId = -1; // applyRecord may have created or dropped partitions
    this.partition = undefined;
  }

  private partitionFor(partitionId: number): Partition {
    if (partitionId !== this.partitionId || this.partition === undefined) {
      this.partition = this.store.partitionForLoad(partitionId);
      this.partitionId = partitionId;
    }
    return this.partition;
  }
}
