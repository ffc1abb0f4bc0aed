/**
 * The Raft log store: one LevelDB per process holding every group's (copyset's) entries,
 * hard state, compacted prefix and snapshot mark (formats in log-records.ts and
 * docs/formats.md). Writes of many groups go into one batch committed with one sync
 * (group commit); every change of a group's log shape (append over a suffix, suffix
 * truncation, prefix compaction, snapshot install) is one atomic batch, so a crash
 * can never leave a hole.
 *
 * The store keeps each group's small state in memory (hard state, log start, snapshot
 * mark, last index) so that a batch can delete an overwritten suffix without reading.
 * A batch takes effect in that state when `commit` is called; commits reach the disk in
 * call order. A failed write leaves the memory state ahead of the disk, so the store
 * then refuses everything (LOG_STORE_FAILED): reopen it.
 *
 * This is the only module that imports `level`.
 */
import { Level } from 'level';
import { InvariantError, invariant } from '../raft/errors.ts';
import { EMPTY_HARD_STATE, MemoryLogStorage } from '../raft/memory-storage.ts';
import type { Entry, GroupId, HardState, Index, Term } from '../raft/types.ts';
import type { BackendOp, LogBackend } from './log-backend.ts';
import {
  ENTRY_KEY_BYTES,
  GROUP_KEY_BYTES,
  LOG_KEY_KIND,
  LOG_RECORD_VERSION,
  LogRecordError,
  type SnapshotMark,
  decodeEntry,
  decodeHardState,
  decodeLogStart,
  decodeSnapshotMark,
  decodeStoreHeaderVersion,
  encodeEntry,
  encodeHardState,
  encodeLogStart,
  encodeSnapshotMark,
  encodeStoreHeader,
  entryKey,
  entryKeyIndex,
  groupKey,
  groupRangeEnd,
  keyGroupId,
  storeHeaderKey,
} from './log-records.ts';

export type { SnapshotMark } from './log-records.ts';

export type LogStoreErrorCode =
  | 'LOG_STORE_IO'
  | 'LOG_STORE_FORMAT'
  | 'LOG_CORRUPT'
  | 'LOG_GAP'
  | 'LOG_INCONSISTENT'
  | 'LOG_STORE_FAILED'
  | 'LOG_STORE_CLOSED';

/** The store cannot be used as it is; `groupId` and `index` say where, when known. */
export class LogStoreError extends Error {
  readonly code: LogStoreErrorCode;
  readonly groupId: GroupId | undefined;
  readonly index: Index | undefined;
  constructor(code: LogStoreErrorCode, message: string, where: { groupId?: GroupId; index?: Index; cause?: unknown } = {}) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'LogStoreError';
    this.code = code;
    this.groupId = where.groupId;
    this.index = where.index;
  }
}

/** Entries up to and including `index` (of `term`) are compacted away; 0/0 when none. */
export interface LogStart {
  readonly index: Index;
  readonly term: Term;
}

/** What the store knows of one group without reading its entries. */
export interface GroupLogState {
  readonly hardState: HardState;
  readonly logStart: LogStart;
  readonly snapshot: SnapshotMark | null;
  /** The last entry's index, or logStart.index when the log is empty. */
  readonly lastIndex: Index;
}

/** One group's durable log, as loaded at startup. Entries are [logStart.index + 1, lastIndex]. */
export interface GroupLog extends GroupLogState {
  readonly groupId: GroupId;
  readonly firstIndex: Index;
  readonly entries: readonly Entry[];
}

export interface LogStoreOptions {
  /**
   * Keep the entries read by the consistency check on open, so the first `load` of each
   * group costs no second read (default true; turn off to bound memory on huge logs).
   */
  readonly retainEntriesOnOpen?: boolean;
}

const EMPTY_LOG_START: LogStart = { index: 0, term: 0 };
const EMPTY_GROUP: GroupLogState = { hardState: EMPTY_HARD_STATE, logStart: EMPTY_LOG_START, snapshot: null, lastIndex: 0 };
/** Pairs per read from the backend during scans. */
export const SCAN_BATCH_PAIRS = 8192;
/**
 * Bytes a scan's read may gather before it returns (level's default is 16 KiB, which
 * cut every read at about 100 entries and made a startup scan a thousand round trips
 * to the native side). 4 MiB lets a read fill SCAN_BATCH_PAIRS entries of up to ~500 bytes.
 */
export const SCAN_BATCH_BYTES = 4 * 1024 * 1024;

export class LogStore {
  private readonly groups = new Map<GroupId, GroupLogState>();
  private retained = new Map<GroupId, Entry[]>();
  private tail: Promise<void> = Promise.resolve();
  private failure: LogStoreError | null = null;
  private closed = false;

  private constructor(
    private readonly backend: LogBackend,
    readonly location: string,
  ) {}

  /** Opens (creating if missing) the LevelDB in `dir` and checks every group's log. */
  static async open(dir: string, options: LogStoreOptions = {}): Promise<LogStore> {
    let backend: LevelLogBackend;
    try {
      backend = await LevelLogBackend.open(dir);
    } catch (error) {
      throw new LogStoreError('LOG_STORE_IO', `log store ${dir}: cannot open: ${(error as Error).message}`, { cause: error });
    }
    return LogStore.openBackend(backend, dir, options);
  }

  /** Opens a store over any backend (tests pass a fault-injecting one). Closes it on failure. */
  static async openBackend(backend: LogBackend, location: string, options: LogStoreOptions = {}): Promise<LogStore> {
    const store = new LogStore(backend, location);
    try {
      await store.checkHeader();
      await store.loadGroupRecords();
      await store.checkEntries(options.retainEntriesOnOpen ?? true);
    } catch (error) {
      await backend.close().catch(() => undefined);
      if (error instanceof LogStoreError || error instanceof InvariantError) throw error;
      throw new LogStoreError('LOG_STORE_IO', `log store ${location}: ${(error as Error).message}`, { cause: error });
    }
    return store;
  }

  /** Every group with any record, in id order. */
  listGroups(): GroupId[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  /** The group's state including every batch committed or being committed. */
  groupState(groupId: GroupId): GroupLogState {
    return this.groups.get(groupId) ?? EMPTY_GROUP;
  }

  /** Reads one group's whole log (an unknown group loads as empty). */
  async load(groupId: GroupId): Promise<GroupLog> {
    this.assertUsable();
    await this.tail; // reads must see every commit already submitted
    const state = this.groupState(groupId);
    let entries = this.retained.get(groupId);
    this.retained.delete(groupId);
    if (entries === undefined) {
      entries = [];
      const verifier = new GroupVerifier(groupId, state.logStart, this.location, true);
      for await (const batch of this.backend.scan({ gte: groupKey(LOG_KEY_KIND.entry, groupId), lt: groupRangeEnd(LOG_KEY_KIND.entry, groupId) })) {
        for (const [key, value] of batch) verifier.accept(key, value);
      }
      entries = verifier.entries;
    }
    const lastIndex = entries.length === 0 ? state.logStart.index : entries[entries.length - 1]!.index;
    invariant(lastIndex === state.lastIndex, () => `group ${groupId}: loaded last index ${lastIndex} differs from the store's ${state.lastIndex}`);
    return { groupId, ...state, firstIndex: state.logStart.index + 1, entries };
  }

  /** A new batch; ops of many groups may share it (group commit). */
  batch(): LogWriteBatch {
    this.assertUsable();
    return new LogWriteBatch(this);
  }

  /** Drops entries through `throughIndex` (of `throughTerm`), which a published snapshot covers: one synced batch. */
  async compact(groupId: GroupId, throughIndex: Index, throughTerm: Term): Promise<void> {
    const batch = this.batch();
    batch.compactPrefix(groupId, throughIndex, throughTerm);
    await batch.commit({ sync: true });
  }

  /** Waits for every commit in flight, then closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.backend.close();
  }

  // ---- used by LogWriteBatch -----------------------------------------------------------

  /** @internal Adopts a batch's group states and queues its write after every earlier one. */
  submit(ops: BackendOp[], bases: ReadonlyMap<GroupId, GroupLogState | undefined>, next: ReadonlyMap<GroupId, GroupLogState | null>, sync: boolean): Promise<void> {
    this.assertUsable();
    for (const [groupId, base] of bases) {
      invariant(this.groups.get(groupId) === base, () => `group ${groupId}: a batch was built on state another commit has changed (build, then commit, one batch at a time)`);
    }
    for (const [groupId, state] of next) {
      if (state === null) this.groups.delete(groupId);
      else this.groups.set(groupId, state);
      this.retained.delete(groupId);
    }
    const write = this.tail.then(() => this.backend.write(ops, { sync }));
    this.tail = write.catch((error: unknown) => {
      this.failure ??= new LogStoreError('LOG_STORE_FAILED', `log store ${this.location}: a write failed, memory is ahead of disk: reopen (${(error as Error).message})`, { cause: error });
    });
    return write.catch((error: unknown) => {
      throw new LogStoreError('LOG_STORE_IO', `log store ${this.location}: write failed: ${(error as Error).message}`, { cause: error });
    });
  }

  /** @internal The stored state object itself (identity marks a batch's base). */
  peekGroup(groupId: GroupId): GroupLogState | undefined {
    return this.groups.get(groupId);
  }

  /** @internal */
  assertUsable(): void {
    if (this.closed) throw new LogStoreError('LOG_STORE_CLOSED', `log store ${this.location} is closed`);
    if (this.failure !== null) throw this.failure;
  }

  // ---- open-time checks ----------------------------------------------------------------

  private async checkHeader(): Promise<void> {
    const [header] = await this.backend.get([storeHeaderKey()]);
    if (header === undefined) {
      for await (const batch of this.backend.scan({ gte: Uint8Array.of(0), lt: Uint8Array.of(0xff, 0xff) })) {
        if (batch.length > 0) throw new LogStoreError('LOG_STORE_FORMAT', `log store ${this.location}: holds data but no metaraft header: not a metaraft log store`);
      }
      await this.backend.write([{ type: 'put', key: storeHeaderKey(), value: encodeStoreHeader() }], { sync: true });
      return;
    }
    let version: number;
    try {
      version = decodeStoreHeaderVersion(header);
    } catch (error) {
      throw new LogStoreError('LOG_STORE_FORMAT', `log store ${this.location}: bad header: ${(error as Error).message}`, { cause: error });
    }
    if (version !== LOG_RECORD_VERSION) {
      throw new LogStoreError('LOG_STORE_FORMAT', `log store ${this.location}: layout version ${version}, this code reads ${LOG_RECORD_VERSION}`);
    }
  }

  /** Reads hard states, log starts and snapshot marks; refuses unknown record kinds. */
  private async loadGroupRecords(): Promise<void> {
    const mutable = new Map<GroupId, { hardState: HardState; logStart: LogStart; snapshot: SnapshotMark | null }>();
    const stateOf = (groupId: GroupId) => {
      let state = mutable.get(groupId);
      if (state === undefined) mutable.set(groupId, (state = { hardState: EMPTY_HARD_STATE, logStart: EMPTY_LOG_START, snapshot: null }));
      return state;
    };
    for await (const batch of this.backend.scan({ gte: Uint8Array.of(LOG_KEY_KIND.hardState), lt: Uint8Array.of(0xff, 0xff) })) {
      for (const [key, value] of batch) {
        const kind = key[0]!;
        if (kind > LOG_KEY_KIND.snapshotMark) {
          throw new LogStoreError('LOG_STORE_FORMAT', `log store ${this.location}: unknown record kind 0x${kind.toString(16)} (a newer layout?)`);
        }
        if (key.length !== GROUP_KEY_BYTES) {
          throw new LogStoreError('LOG_CORRUPT', `log store ${this.location}: record key of kind ${kind} is ${key.length} bytes, expected ${GROUP_KEY_BYTES}`);
        }
        const groupId = keyGroupId(key);
        const state = stateOf(groupId);
        const what = kind === LOG_KEY_KIND.hardState ? 'hard state' : kind === LOG_KEY_KIND.logStart ? 'log start' : 'snapshot mark';
        try {
          if (kind === LOG_KEY_KIND.hardState) state.hardState = decodeHardState(key, value);
          else if (kind === LOG_KEY_KIND.logStart) state.logStart = decodeLogStart(key, value);
          else state.snapshot = decodeSnapshotMark(key, value);
        } catch (error) {
          throw corrupt(this.location, groupId, undefined, `${what}: ${(error as Error).message}`, error);
        }
      }
    }
    for (const [groupId, state] of mutable) this.groups.set(groupId, { ...state, lastIndex: state.logStart.index });
  }

  /** Scans every entry once: contiguous from the log start, checksummed, terms non-decreasing. */
  private async checkEntries(retain: boolean): Promise<void> {
    let verifier: GroupVerifier | null = null;
    const finish = (v: GroupVerifier): void => {
      const state = this.groups.get(v.groupId) ?? EMPTY_GROUP;
      this.groups.set(v.groupId, { ...state, lastIndex: v.lastIndex });
      if (retain) this.retained.set(v.groupId, v.entries);
    };
    for await (const batch of this.backend.scan({ gte: Uint8Array.of(LOG_KEY_KIND.entry), lt: Uint8Array.of(LOG_KEY_KIND.entry + 1) })) {
      for (const [key, value] of batch) {
        if (key.length !== ENTRY_KEY_BYTES) {
          throw new LogStoreError('LOG_CORRUPT', `log store ${this.location}: entry key of ${key.length} bytes, expected ${ENTRY_KEY_BYTES}`);
        }
        const groupId = keyGroupId(key);
        if (verifier === null || verifier.groupId !== groupId) {
          if (verifier !== null) finish(verifier);
          verifier = new GroupVerifier(groupId, this.groupState(groupId).logStart, this.location, retain);
        }
        verifier.accept(key, value);
      }
    }
    if (verifier !== null) finish(verifier);
    for (const [groupId, state] of this.groups) this.checkGroupShape(groupId, state);
  }

  /** Hard state and snapshot mark agree with the entries present. */
  private checkGroupShape(groupId: GroupId, state: GroupLogState): void {
    const { hardState, logStart, snapshot, lastIndex } = state;
    const fail = (index: Index, message: string): never => {
      throw new LogStoreError('LOG_INCONSISTENT', `log store ${this.location}: group ${groupId} index ${index}: ${message}`, { groupId, index });
    };
    if (hardState.commit > lastIndex) fail(hardState.commit, `commit index is beyond the last entry ${lastIndex} (a committed entry is missing)`);
    if (snapshot === null) {
      if (logStart.index > 0) fail(logStart.index, 'entries were compacted but no snapshot covers them');
      return;
    }
    if (snapshot.index < logStart.index) fail(logStart.index, `entries were compacted beyond the snapshot at ${snapshot.index}`);
    if (snapshot.index > lastIndex) fail(snapshot.index, `the snapshot is beyond the last entry ${lastIndex}`);
    if (snapshot.index === logStart.index && snapshot.term !== logStart.term) {
      fail(snapshot.index, `snapshot term ${snapshot.term} differs from the compacted term ${logStart.term}`);
    }
    const entries = this.retained.get(groupId);
    if (entries !== undefined && snapshot.index > logStart.index) {
      const entry = entries[snapshot.index - logStart.index - 1]!;
      if (entry.term !== snapshot.term) fail(snapshot.index, `snapshot term ${snapshot.term} differs from the entry's term ${entry.term}`);
    }
  }
}

/** Follows one group's entries in key order and checks each against the previous. */
class GroupVerifier {
  readonly entries: Entry[] = [];
  lastIndex: Index;
  private lastTerm: Term;

  constructor(
    readonly groupId: GroupId,
    logStart: LogStart,
    private readonly location: string,
    private readonly retain: boolean,
  ) {
    this.lastIndex = logStart.index;
    this.lastTerm = logStart.term;
  }

  accept(key: Uint8Array, value: Uint8Array): void {
    const { groupId, location } = this;
    const index = entryKeyIndex(key);
    const expected = this.lastIndex + 1;
    if (!(index >= expected)) {
      throw new LogStoreError('LOG_INCONSISTENT', `log store ${location}: group ${groupId} index ${index}: entry at or below the compacted index ${expected - 1}`, { groupId, index });
    }
    if (index > expected) {
      throw new LogStoreError('LOG_GAP', `log store ${location}: group ${groupId} index ${expected}: entry missing (the next present is ${index})`, { groupId, index: expected });
    }
    let entry: Entry;
    try {
      entry = decodeEntry(key, value, index);
    } catch (error) {
      if (!(error instanceof LogRecordError)) throw error;
      throw corrupt(location, groupId, index, `entry: ${error.message}`, error);
    }
    if (entry.term < this.lastTerm) {
      throw new LogStoreError('LOG_INCONSISTENT', `log store ${location}: group ${groupId} index ${index}: term ${entry.term} is below the previous term ${this.lastTerm}`, { groupId, index });
    }
    this.lastIndex = index;
    this.lastTerm = entry.term;
    if (this.retain) this.entries.push(entry);
  }
}

function corrupt(location: string, groupId: GroupId, index: Index | undefined, message: string, cause: unknown): LogStoreError {
  const where = index === undefined ? `group ${groupId}` : `group ${groupId} index ${index}`;
  return new LogStoreError('LOG_CORRUPT', `log store ${location}: ${where}: ${message}`, { groupId, ...(index === undefined ? {} : { index }), cause });
}

/**
 * Changes to many groups' logs, written atomically by one `commit`. Operations on one
 * group see the effect of earlier operations in the same batch. Misuse (holes, touching
 * compacted or committed entries) is a bug and throws InvariantError.
 */
export class LogWriteBatch {
  private ops: BackendOp[] = [];
  private readonly bases = new Map<GroupId, GroupLogState | undefined>();
  private readonly next = new Map<GroupId, GroupLogState | null>();
  private committed = false;

  /** @internal use LogStore.batch() */
  constructor(private readonly store: LogStore) {}

  get isEmpty(): boolean {
    return this.ops.length === 0;
  }

  /** Writes entries (contiguous), replacing any existing entries from entries[0].index on (§5.3). */
  append(groupId: GroupId, entries: readonly Entry[]): this {
    if (entries.length === 0) return this;
    const state = this.state(groupId);
    const first = entries[0]!.index;
    invariant(first > state.logStart.index, () => `group ${groupId}: append at ${first} overlaps the compacted prefix through ${state.logStart.index}`);
    invariant(first <= state.lastIndex + 1, () => `group ${groupId}: append at ${first} leaves a hole after ${state.lastIndex}`);
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k]!;
      invariant(entry.index === first + k, () => `group ${groupId}: appended entries must be contiguous (${entry.index} after ${first + k - 1})`);
      const key = entryKey(groupId, entry.index);
      this.ops.push({ type: 'put', key, value: encodeEntry(key, entry) });
    }
    const last = first + entries.length - 1;
    this.deleteEntries(groupId, last + 1, state.lastIndex);
    this.setState(groupId, { ...state, lastIndex: last });
    return this;
  }

  setHardState(groupId: GroupId, hardState: HardState): this {
    const key = groupKey(LOG_KEY_KIND.hardState, groupId);
    this.ops.push({ type: 'put', key, value: encodeHardState(key, hardState) });
    this.setState(groupId, { ...this.state(groupId), hardState });
    return this;
  }

  /** Deletes entries from `fromIndex` on. Committed entries are never removed (§5.3, Log Matching). */
  truncateSuffix(groupId: GroupId, fromIndex: Index): this {
    const state = this.state(groupId);
    invariant(fromIndex > state.hardState.commit, () => `group ${groupId}: truncating from ${fromIndex} would remove committed entries (commit ${state.hardState.commit})`);
    invariant(fromIndex > state.logStart.index, () => `group ${groupId}: truncating from ${fromIndex} reaches into the compacted prefix through ${state.logStart.index}`);
    if (fromIndex > state.lastIndex) return this;
    this.deleteEntries(groupId, fromIndex, state.lastIndex);
    this.setState(groupId, { ...state, lastIndex: fromIndex - 1 });
    return this;
  }

  /** Records a snapshot the group's state machine has published at `mark.index` (≤ last index). */
  recordSnapshot(groupId: GroupId, mark: SnapshotMark): this {
    const state = this.state(groupId);
    invariant(mark.index <= state.lastIndex, () => `group ${groupId}: snapshot at ${mark.index} is beyond the last index ${state.lastIndex}`);
    invariant(mark.index >= (state.snapshot?.index ?? 0), () => `group ${groupId}: snapshot at ${mark.index} is older than the recorded one at ${state.snapshot?.index}`);
    invariant(mark.index >= state.logStart.index, () => `group ${groupId}: snapshot at ${mark.index} is below the compacted prefix ${state.logStart.index}`);
    const key = groupKey(LOG_KEY_KIND.snapshotMark, groupId);
    this.ops.push({ type: 'put', key, value: encodeSnapshotMark(key, mark) });
    this.setState(groupId, { ...state, snapshot: mark });
    return this;
  }

  /** Replaces the whole log by a snapshot received from the leader (§7): every entry goes. */
  installSnapshot(groupId: GroupId, mark: SnapshotMark): this {
    const state = this.state(groupId);
    invariant(mark.index >= state.logStart.index, () => `group ${groupId}: snapshot at ${mark.index} is older than the compacted prefix ${state.logStart.index}`);
    this.deleteEntries(groupId, state.logStart.index + 1, state.lastIndex);
    const startKey = groupKey(LOG_KEY_KIND.logStart, groupId);
    const markKey = groupKey(LOG_KEY_KIND.snapshotMark, groupId);
    this.ops.push({ type: 'put', key: startKey, value: encodeLogStart(startKey, mark.index, mark.term) });
    this.ops.push({ type: 'put', key: markKey, value: encodeSnapshotMark(markKey, mark) });
    this.setState(groupId, { ...state, logStart: { index: mark.index, term: mark.term }, snapshot: mark, lastIndex: mark.index });
    return this;
  }

  /** Drops entries through `throughIndex`, whose term is `throughTerm`; a recorded snapshot must cover them. */
  compactPrefix(groupId: GroupId, throughIndex: Index, throughTerm: Term): this {
    const state = this.state(groupId);
    if (throughIndex <= state.logStart.index) return this;
    invariant(throughIndex <= (state.snapshot?.index ?? 0), () => `group ${groupId}: compacting through ${throughIndex} beyond the snapshot at ${state.snapshot?.index ?? 0} (formats.md: entries go only after the snapshot is published)`);
    invariant(throughIndex <= state.lastIndex, () => `group ${groupId}: compacting through ${throughIndex} beyond the last index ${state.lastIndex}`);
    invariant(throughIndex !== state.snapshot?.index || throughTerm === state.snapshot.term, () => `group ${groupId}: compaction term ${throughTerm} differs from the snapshot's ${state.snapshot?.term}`);
    this.deleteEntries(groupId, state.logStart.index + 1, throughIndex);
    const key = groupKey(LOG_KEY_KIND.logStart, groupId);
    this.ops.push({ type: 'put', key, value: encodeLogStart(key, throughIndex, throughTerm) });
    this.setState(groupId, { ...state, logStart: { index: throughIndex, term: throughTerm } });
    return this;
  }

  /** Deletes every record of a group (its copyset was removed from this process). */
  removeGroup(groupId: GroupId): this {
    const state = this.state(groupId);
    this.deleteEntries(groupId, state.logStart.index + 1, state.lastIndex);
    for (const kind of [LOG_KEY_KIND.hardState, LOG_KEY_KIND.logStart, LOG_KEY_KIND.snapshotMark]) {
      this.ops.push({ type: 'del', key: groupKey(kind, groupId) });
    }
    this.next.set(groupId, null);
    return this;
  }

  /** Writes the whole batch atomically; with `sync`, durable when this resolves. Use once. */
  commit(options: { readonly sync: boolean }): Promise<void> {
    invariant(!this.committed, 'a log write batch is committed once');
    this.committed = true;
    const ops = this.ops;
    this.ops = [];
    return this.store.submit(ops, this.bases, this.next, options.sync);
  }

  private state(groupId: GroupId): GroupLogState {
    invariant(!this.committed, 'a committed log write batch takes no more operations');
    if (!this.bases.has(groupId)) this.bases.set(groupId, this.store.peekGroup(groupId));
    const pending = this.next.get(groupId);
    return pending ?? (pending === null ? EMPTY_GROUP : this.store.groupState(groupId));
  }

  private setState(groupId: GroupId, state: GroupLogState): void {
    this.next.set(groupId, state);
  }

  private deleteEntries(groupId: GroupId, from: Index, through: Index): void {
    for (let index = from; index <= through; index++) this.ops.push({ type: 'del', key: entryKey(groupId, index) });
  }
}

/**
 * Rebuilds the in-memory mirror the Raft core reads from a loaded group log.
 * `snapshotData` is what the host puts in Snapshot.data (a descriptor of the snapshot file).
 */
export function restoreMemoryLogStorage(log: GroupLog, snapshotData: Uint8Array = new Uint8Array(0)): MemoryLogStorage {
  const config = log.snapshot?.config ?? { voters: [], learners: [], epoch: 0 };
  const storage = new MemoryLogStorage(config);
  if (log.logStart.index > 0) {
    storage.applySnapshot({ metadata: { index: log.logStart.index, term: log.logStart.term, config }, data: snapshotData });
  }
  storage.append(log.entries);
  if (log.snapshot !== null && log.snapshot.index > log.logStart.index) {
    storage.createSnapshot(log.snapshot.index, log.snapshot.config, snapshotData);
  }
  storage.setHardState(log.hardState);
  return storage;
}

/** Opens `level` in `dir` as a bare LogBackend (tests wrap it in a FaultyLogBackend). */
export function openLevelBackend(dir: string): Promise<LogBackend> {
  return LevelLogBackend.open(dir);
}

/** `level` as a LogBackend: binary keys and values, ordered scans in batches. */
class LevelLogBackend implements LogBackend {
  private constructor(private readonly db: Level<Uint8Array, Uint8Array>) {}

  static async open(dir: string): Promise<LevelLogBackend> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    return new LevelLogBackend(db);
  }

  async write(ops: readonly BackendOp[], options: { readonly sync: boolean }): Promise<void> {
    if (ops.length === 0 && !options.sync) return;
    // The chained batch, not db.batch(array): the array form clones every op into a new
    // object with the options spread in, about 4x the CPU per op on a busy log.
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    // level's typings omit classic-level's `sync` write option.
    await batch.write({ sync: options.sync } as object);
  }

  get(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return this.db.getMany([...keys]);
  }

  async *scan(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): AsyncIterable<ReadonlyArray<readonly [Uint8Array, Uint8Array]>> {
    // fillCache off: a scan reads each entry once (startup, load); caching it would only evict hot blocks.
    const iterator = this.db.iterator({ gte: range.gte, lt: range.lt, fillCache: false, highWaterMarkBytes: SCAN_BATCH_BYTES } as object);
    try {
      for (;;) {
        const batch = await iterator.nextv(SCAN_BATCH_PAIRS);
        if (batch.length === 0) return;
        yield batch;
      }
    } finally {
      await iterator.close();
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
