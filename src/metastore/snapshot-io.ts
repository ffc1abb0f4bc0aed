/**
 * A copyset's state to and from a snapshot file (formats.md, "The snapshot file"): the
 * dump streams a frozen view (snapshot-view.ts) through the snapshot-file writer while
 * applies continue; the load verifies the whole file first (the reader's checksum),
 * then rebuilds a fresh store raw — no business checks, as CurveFS learned — which the
 * caller swaps in only when it is complete, so a bad file leaves no partial state.
 */
import type { ConfigState, Term } from '../raft/types.ts';
import { readSnapshotFile, writeSnapshotFile } from '../storage/snapshot-file.ts';
import type { SnapshotFileInfo, SnapshotWriteOptions } from '../storage/snapshot-file.ts';
import { MetaStore } from './metastore.ts';

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
    return await writeSnapshotFile(path, { index: view.index, term: metadata.term, config: metadata.config, userData: SNAPSHOT_USER_DATA }, view.pairs(), options);
  } finally {
    view.close();
  }
}

/** Builds a fresh store from a snapshot file; throws (SnapshotFileError, SnapshotLoadError) without partial state. */
export async function loadSnapshot(path: string): Promise<{ store: MetaStore; info: SnapshotFileInfo }> {
  const store = new MetaStore();
  let pairIndex = 0;
  const info = await readSnapshotFile(path, (key, value) => {
    try {
      store.applyRecord({ type: 'set', key, value });
    } catch (error) {
      throw new SnapshotLoadError('SNAPSHOT_BAD_RECORD', `snapshot file ${path}: pair ${pairIndex} cannot be loaded: ${(error as Error).message}`, { cause: error });
    }
    pairIndex++;
  });
  const userData = info.metadata.userData;
  if (userData.length !== SNAPSHOT_USER_DATA.length || userData[0] !== SNAPSHOT_USER_DATA[0]) {
    throw new SnapshotLoadError('SNAPSHOT_BAD_USER_DATA', `snapshot file ${path}: unknown value layout ${Buffer.from(userData).toString('hex')}`);
  }
  store.setLoadedIndex(info.metadata.index);
  return { store, info };
}
