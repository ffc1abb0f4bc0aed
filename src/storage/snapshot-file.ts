/**
 * The snapshot file: a copyset's state at exactly one log index, as key-value pairs
 * (CurveFS's "dumpfile" version 2 layout, with metaraft's own magic). docs/formats.md,
 * "The snapshot file", gives every byte:
 *
 *   magic "METARAFT" | version u8 | metadata_length u32 LE | metadata
 *   | pairs: key_length u32 LE, key, value_length u32 LE, value
 *   | end marker: u32 0 | crc32c u32 LE over every byte before it
 *
 * There is no pair count up front (CurveFS's version 1 counted pairs while the maps
 * changed, and its snapshots failed their checksum): the end marker ends the pairs.
 *
 * Writing streams pairs through large buffers to `<path>.tmp`, fsyncs, renames into
 * place and fsyncs the folder; it yields to the event loop every few milliseconds so
 * that a concurrent apply loop never stalls for long.
 *
 * Reading verifies first, loads second: a whole pass checks magic, version, structure
 * and checksum before the first pair reaches the caller, so a corrupt file never causes
 * a partial load. The second pass checks the checksum again; if the file changed between
 * the passes (or an I/O error strikes) it throws after some pairs were delivered, so a
 * caller must still discard what it loaded when the load throws.
 */
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { invariant } from '../raft/errors.ts';
import type { ConfigState, Index, NodeId, Term } from '../raft/types.ts';
import { crc32c } from './checksum.ts';

/** Identifies a metaraft snapshot file (CurveFS writes `CURVEFS`). */
export const SNAPSHOT_MAGIC = Buffer.from('METARAFT', 'latin1');
/** The layout version this code writes and the only one it reads. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** magic + version + metadata_length. */
export const SNAPSHOT_HEADER_BYTES = SNAPSHOT_MAGIC.length + 1 + 4;
/** Metadata holds a few ids and the caller's small user data; more means a corrupt length. */
export const MAX_SNAPSHOT_METADATA_BYTES = 1 << 20;
/** Keys are short self-describing ids and names; a longer key length is corruption. */
export const MAX_SNAPSHOT_KEY_BYTES = 1 << 16;
/** The largest value (an inode with many extents); caps what a corrupt length can allocate. */
export const MAX_SNAPSHOT_VALUE_BYTES = 64 << 20;
/** Write buffer: large enough that write calls cost little, small enough to flush often. */
const WRITE_BUFFER_BYTES = 1 << 20;
/** Read buffer; it grows only for a pair larger than this. */
const READ_BUFFER_BYTES = 1 << 20;
/** Longest stretch of synchronous work before yielding, so a concurrent apply loop stalls at most this long. */
export const DEFAULT_YIELD_EVERY_MS = 4;
/** Pairs between two clock reads (reading the clock per pair would cost more than the pair). */
const PAIRS_PER_CLOCK_CHECK = 512;
/** Pairs a source writes per fill call: well under a millisecond of work between clock reads. */
const PAIRS_PER_FILL = 512;
/** The largest framed pair: what a buffer may have to grow to for one pair. */
const MAX_FRAMED_PAIR_BYTES = 8 + MAX_SNAPSHOT_KEY_BYTES + MAX_SNAPSHOT_VALUE_BYTES;
const END_MARKER_BYTES = 4;
const CHECKSUM_BYTES = 4;
const U32_LIMIT = 0x1_0000_0000;

/** What a snapshot file records beside its pairs. */
export interface SnapshotFileMetadata {
  /** The last log index whose effects the pairs include (and none after it). */
  readonly index: Index;
  readonly term: Term;
  /** The Raft configuration as of `index`; `epoch` counts committed configuration changes. */
  readonly config: ConfigState;
  /** Opaque bytes for the state machine (e.g. its value-codec version); may be empty. */
  readonly userData: Uint8Array;
}

export type SnapshotPair = readonly [key: Uint8Array, value: Uint8Array];

/**
 * A producer that writes pairs straight into the writer's buffer, already framed
 * (key_length u32 LE, key, value_length u32 LE, value): no key or value object per pair.
 * The writer checks the framing of what it gets (lengths within limits, keys never
 * empty) before any of it reaches the file.
 */
export interface SnapshotPairSource {
  /**
   * Writes at most `maxPairs` whole pairs into `out` from `at`, stopping before a pair
   * that does not fit; returns the offset after the last pair written (`at` when none
   * fit, or when the source is done). The writer yields to the event loop between calls.
   */
  fill(out: Buffer, at: number, maxPairs: number): number;
  /** True once every pair has been written. */
  readonly done: boolean;
}

export interface SnapshotFileInfo {
  readonly path: string;
  readonly version: number;
  readonly metadata: SnapshotFileMetadata;
  readonly pairCount: number;
  /** Size of the whole file in bytes. */
  readonly bytes: number;
  /** The stored CRC32C. */
  readonly checksum: number;
}

export type SnapshotFileErrorCode =
  | 'SNAPSHOT_IO'
  | 'SNAPSHOT_TRUNCATED'
  | 'SNAPSHOT_BAD_MAGIC'
  | 'SNAPSHOT_BAD_VERSION'
  | 'SNAPSHOT_BAD_CHECKSUM'
  | 'SNAPSHOT_MISSING_END_MARKER'
  | 'SNAPSHOT_CORRUPT'
  | 'SNAPSHOT_TRAILING_BYTES';

/** A snapshot file cannot be read: its message names the file, the offset and the cause. */
export class SnapshotFileError extends Error {
  readonly code: SnapshotFileErrorCode;
  readonly path: string;
  readonly offset: number;
  constructor(code: SnapshotFileErrorCode, path: string, offset: number, cause: string, options?: { cause?: unknown }) {
    super(`snapshot file ${path}: ${cause} (offset ${offset})`, options);
    this.name = 'SnapshotFileError';
    this.code = code;
    this.path = path;
    this.offset = offset;
  }
}

export interface SnapshotWriteOptions {
  /** Longest synchronous stretch in milliseconds before yielding to the event loop. */
  readonly yieldEveryMs?: number;
}

// ---------------------------------------------------------------------------------------
// Writing

/**
 * Writes `pairs` (a frozen view of the state at `metadata.index`, from the caller) as a
 * snapshot file at `path`: to `<path>.tmp`, fsync, rename, fsync the folder. Only when
 * this resolves may log entries up to `metadata.index` be dropped. On failure the
 * temporary file is removed and `path` is untouched. One writer per path at a time.
 */
export async function writeSnapshotFile(
  path: string,
  metadata: SnapshotFileMetadata,
  pairs: Iterable<SnapshotPair> | AsyncIterable<SnapshotPair> | SnapshotPairSource,
  options: SnapshotWriteOptions = {},
): Promise<SnapshotFileInfo> {
  const tmpPath = `${path}.tmp`;
  const file = await open(tmpPath, 'w');
  const writer = new ChunkWriter(file, options.yieldEveryMs ?? DEFAULT_YIELD_EVERY_MS);
  let info: SnapshotFileInfo;
  try {
    await writer.append(encodeHeader(metadata));
    const pairCount = isPairSource(pairs)
      ? await writeSourcePairs(writer, pairs)
      : Symbol.asyncIterator in pairs
        ? await writeAsyncPairs(writer, pairs)
        : await writeSyncPairs(writer, pairs);
    await writer.append(Buffer.alloc(END_MARKER_BYTES));
    const checksum = await writer.finish();
    await file.sync();
    info = { path, version: SNAPSHOT_FORMAT_VERSION, metadata, pairCount, bytes: writer.bytesWritten, checksum };
  } catch (error) {
    await writer.settle();
    await file.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(tmpPath, path);
  await syncFolder(dirname(path));
  return info;
}

function isPairSource(pairs: object): pairs is SnapshotPairSource {
  // Iterables are told apart by their protocol (an array has a `fill` method too).
  return !(Symbol.iterator in pairs) && !(Symbol.asyncIterator in pairs);
}

async function writeSourcePairs(writer: ChunkWriter, source: SnapshotPairSource): Promise<number> {
  let count = 0;
  while (!source.done) {
    count += await writer.fillFrom(source);
    await writer.maybeYield();
  }
  return count;
}

async function writeSyncPairs(writer: ChunkWriter, pairs: Iterable<SnapshotPair>): Promise<number> {
  let count = 0;
  for (const [key, value] of pairs) {
    if (!writer.tryAppendPair(key, value)) await writer.appendPairSlowly(key, value);
    if (++count % PAIRS_PER_CLOCK_CHECK === 0) await writer.maybeYield();
  }
  return count;
}

async function writeAsyncPairs(writer: ChunkWriter, pairs: AsyncIterable<SnapshotPair>): Promise<number> {
  let count = 0;
  for await (const [key, value] of pairs) {
    if (!writer.tryAppendPair(key, value)) await writer.appendPairSlowly(key, value);
    if (++count % PAIRS_PER_CLOCK_CHECK === 0) await writer.maybeYield();
  }
  return count;
}

/** Encodes magic, version and the metadata block. */
function encodeHeader(metadata: SnapshotFileMetadata): Buffer {
  const { index, term, config, userData } = metadata;
  const memberCount = config.voters.length + config.learners.length;
  const metadataBytes = 8 * 3 + 4 + 4 + 8 * memberCount + 4 + userData.length;
  invariant(metadataBytes <= MAX_SNAPSHOT_METADATA_BYTES, `snapshot metadata must stay within ${MAX_SNAPSHOT_METADATA_BYTES} bytes`);
  const out = Buffer.alloc(SNAPSHOT_HEADER_BYTES + metadataBytes);
  SNAPSHOT_MAGIC.copy(out, 0);
  out[SNAPSHOT_MAGIC.length] = SNAPSHOT_FORMAT_VERSION;
  let at = out.writeUInt32LE(metadataBytes, SNAPSHOT_MAGIC.length + 1);
  at = writeU64(out, at, index, 'index');
  at = writeU64(out, at, term, 'term');
  at = writeU64(out, at, config.epoch, 'epoch');
  for (const members of [config.voters, config.learners]) {
    at = out.writeUInt32LE(members.length, at);
    for (const node of members) at = writeU64(out, at, node, 'node id');
  }
  at = out.writeUInt32LE(userData.length, at);
  out.set(userData, at);
  invariant(at + userData.length === out.length, 'snapshot header size computed and written must agree');
  return out;
}

function writeU64(out: Buffer, at: number, value: number, what: string): number {
  invariant(Number.isSafeInteger(value) && value >= 0, () => `snapshot ${what} must be a non-negative safe integer, got ${value}`);
  out.writeUInt32LE(value >>> 0, at);
  out.writeUInt32LE(Math.floor(value / U32_LIMIT), at + 4);
  return at + 8;
}

/**
 * Fills one buffer while the previous one is being written (double buffering), keeps
 * the running checksum of everything written, and yields when synchronous work has
 * lasted too long.
 */
class ChunkWriter {
  private buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  /** The other buffer: free once `inFlight` has settled. */
  private spare = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private used = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private crc = 0;
  private lastYield = performance.now();
  /** Bytes handed to the file so far (written or in flight). */
  bytesWritten = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly yieldEveryMs: number,
  ) {}

  /** The fast path: copies the pair into the buffer if it fits, else returns false. */
  tryAppendPair(key: Uint8Array, value: Uint8Array): boolean {
    assertPair(key, value);
    const buffer = this.buffer;
    let at = this.used;
    if (at + 8 + key.length + value.length > buffer.length) return false;
    at = buffer.writeUInt32LE(key.length, at);
    buffer.set(key, at);
    at = buffer.writeUInt32LE(value.length, at + key.length);
    buffer.set(value, at);
    this.used = at + value.length;
    return true;
  }

  /**
   * Lets `source` write pairs into the buffer; returns how many it wrote. When the next
   * pair does not fit, flushes; when it does not fit an empty buffer either, gives it
   * a larger one of its own.
   */
  async fillFrom(source: SnapshotPairSource): Promise<number> {
    const before = this.used;
    const after = source.fill(this.buffer, before, PAIRS_PER_FILL);
    if (after !== before) {
      const pairs = checkFraming(this.buffer, before, after);
      this.used = after;
      return pairs;
    }
    if (source.done) return 0;
    if (before > 0) {
      await this.flush();
      return 0;
    }
    return this.fillOversized(source);
  }

  private async fillOversized(source: SnapshotPairSource): Promise<number> {
    for (let size = this.buffer.length * 2; ; size *= 2) {
      invariant(size <= 2 * MAX_FRAMED_PAIR_BYTES, 'a snapshot pair fits the largest framed pair');
      const big = Buffer.allocUnsafe(size);
      const end = source.fill(big, 0, 1);
      if (end === 0) continue;
      const pairs = checkFraming(big, 0, end);
      await this.write(big.subarray(0, end));
      return pairs;
    }
  }

  /** Flushes to make room; a pair larger than the buffer is written on its own. */
  async appendPairSlowly(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.flush();
    if (this.tryAppendPair(key, value)) return;
    const pair = Buffer.allocUnsafe(8 + key.length + value.length);
    pair.writeUInt32LE(key.length, 0);
    pair.set(key, 4);
    pair.writeUInt32LE(value.length, 4 + key.length);
    pair.set(value, 8 + key.length);
    await this.write(pair);
  }

  /** Appends raw bytes (header, end marker). */
  async append(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > this.buffer.length) await this.flush();
    if (bytes.length > this.buffer.length) {
      await this.write(Buffer.from(bytes));
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  async maybeYield(): Promise<void> {
    if (performance.now() - this.lastYield < this.yieldEveryMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  /** Flushes, writes the checksum of everything before it, waits for the disk, returns the checksum. */
  async finish(): Promise<number> {
    await this.flush();
    const checksum = this.crc;
    const trailer = Buffer.allocUnsafe(CHECKSUM_BYTES);
    trailer.writeUInt32LE(checksum, 0);
    this.inFlight = this.startWrite(this.inFlight, trailer);
    await this.inFlight;
    return checksum;
  }

  /** Waits for every write in flight, ignoring failures (after an error, before closing). */
  async settle(): Promise<void> {
    await this.inFlight.catch(() => undefined);
  }

  /** Hands the filled buffer to the disk and continues in the spare one once it is free. */
  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const full = this.buffer.subarray(0, this.used);
    this.crc = crc32c(full, this.crc);
    const previous = this.inFlight;
    this.inFlight = this.startWrite(previous, full);
    await previous; // the spare buffer was the one in flight
    [this.buffer, this.spare] = [this.spare, this.buffer];
    this.used = 0;
  }

  /** Writes bytes the caller owns after everything in flight. */
  private async write(bytes: Buffer): Promise<void> {
    this.crc = crc32c(bytes, this.crc);
    this.inFlight = this.startWrite(this.inFlight, bytes);
    await this.inFlight;
  }

  private startWrite(after: Promise<void>, bytes: Uint8Array): Promise<void> {
    const position = this.bytesWritten;
    this.bytesWritten += bytes.length;
    const write = after.then(() => writeFully(this.file, bytes, position));
    write.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
    return write;
  }
}

/** Walks the pairs a source framed in `bytes[from, to)`: lengths within limits, ending exactly at `to`. Returns their number. */
function checkFraming(bytes: Uint8Array, from: number, to: number): number {
  let pairs = 0;
  let at = from;
  while (at < to) {
    invariant(at + 8 <= to, 'a framed pair has both lengths');
    const keyLength = readU32LE(bytes, at);
    invariant(keyLength > 0 && keyLength <= MAX_SNAPSHOT_KEY_BYTES, () => `a snapshot key is 1 to ${MAX_SNAPSHOT_KEY_BYTES} bytes, got ${keyLength}`);
    invariant(at + 8 + keyLength <= to, 'a framed key lies within the bytes written');
    const valueLength = readU32LE(bytes, at + 4 + keyLength);
    invariant(valueLength <= MAX_SNAPSHOT_VALUE_BYTES, () => `snapshot value of ${valueLength} bytes exceeds ${MAX_SNAPSHOT_VALUE_BYTES}`);
    at += 8 + keyLength + valueLength;
    pairs++;
  }
  invariant(at === to, 'framed pairs end exactly where the source said');
  return pairs;
}

function assertPair(key: Uint8Array, value: Uint8Array): void {
  invariant(key.length > 0, 'a snapshot key is never empty: a zero key length is the end marker');
  invariant(key.length <= MAX_SNAPSHOT_KEY_BYTES, () => `snapshot key of ${key.length} bytes exceeds ${MAX_SNAPSHOT_KEY_BYTES}`);
  invariant(value.length <= MAX_SNAPSHOT_VALUE_BYTES, () => `snapshot value of ${value.length} bytes exceeds ${MAX_SNAPSHOT_VALUE_BYTES}`);
}

async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    invariant(bytesWritten > 0, 'a file write makes progress');
    done += bytesWritten;
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------
// Reading

/** Called for each pair in file order. `key` and `value` are views into a reused buffer: copy what you keep. */
export type SnapshotPairHandler = (key: Uint8Array, value: Uint8Array) => void;

/**
 * Called for each pair in file order with its place in a reused buffer: the key is
 * `bytes[keyAt, keyAt + keyLength)`, the value `bytes[valueAt, valueAt + valueLength)`.
 * No view is made per pair; read what you need before returning.
 */
export type SnapshotPairRangeHandler = (bytes: Uint8Array, keyAt: number, keyLength: number, valueAt: number, valueLength: number) => void;

export interface SnapshotReadOptions {
  /** Longest synchronous stretch in milliseconds before yielding to the event loop. */
  readonly yieldEveryMs?: number;
  /**
   * true (the default): verify the whole file before delivering the first pair. false:
   * one pass, delivering pairs as they are read and verifying the checksum at the end,
   * for a caller that builds something fresh and throws it all away when the read
   * throws (a snapshot load into a new store). If the handler throws, the rest of the
   * file is still verified and a damaged file is reported as such (SnapshotFileError)
   * rather than as the handler's error.
   */
  readonly verifyFirst?: boolean;
}

/**
 * Verifies the whole file (magic, version, structure, checksum) without delivering
 * anything, and returns its metadata, pair count and size. Backs `snapshot inspect`.
 */
export async function inspectSnapshotFile(path: string, options: SnapshotReadOptions = {}): Promise<SnapshotFileInfo> {
  return walkSnapshotFile(path, null, options);
}

/**
 * Loads a snapshot file: verifies it completely first (nothing is delivered from a file
 * that fails), then calls `onPair` for every pair in order. If this throws after
 * verification (the file changed underneath, an I/O error), pairs were delivered: the
 * caller discards what it loaded whenever this throws.
 */
export async function readSnapshotFile(
  path: string,
  onPair: SnapshotPairHandler,
  options: SnapshotReadOptions = {},
): Promise<SnapshotFileInfo> {
  return readSnapshotFileRanges(
    path,
    (bytes, keyAt, keyLength, valueAt, valueLength) => onPair(bytes.subarray(keyAt, keyAt + keyLength), bytes.subarray(valueAt, valueAt + valueLength)),
    options,
  );
}

/** {@link readSnapshotFile} delivering each pair's place in the buffer instead of views (for bulk loads). */
export async function readSnapshotFileRanges(
  path: string,
  onPair: SnapshotPairRangeHandler,
  options: SnapshotReadOptions = {},
): Promise<SnapshotFileInfo> {
  if (options.verifyFirst === false) {
    try {
      return await walkSnapshotFile(path, onPair, options);
    } catch (error) {
      if (error instanceof SnapshotFileError) throw error;
      await walkSnapshotFile(path, null, options); // throws if the file itself is damaged
      throw error;
    }
  }
  const verified = await walkSnapshotFile(path, null, options);
  const loaded = await walkSnapshotFile(path, onPair, options);
  if (loaded.checksum !== verified.checksum || loaded.bytes !== verified.bytes) {
    throw new SnapshotFileError('SNAPSHOT_BAD_CHECKSUM', path, loaded.bytes - CHECKSUM_BYTES, 'file changed while it was being loaded');
  }
  return loaded;
}

/** Verifies, then yields copies of every pair (convenient for small files and tests). */
export async function readSnapshotPairs(path: string): Promise<{ info: SnapshotFileInfo; pairs: SnapshotPair[] }> {
  const pairs: SnapshotPair[] = [];
  const info = await readSnapshotFile(path, (key, value) => pairs.push([Uint8Array.from(key), Uint8Array.from(value)]));
  return { info, pairs };
}

/** One pass over the file: structure and checksum always, pairs to `onPair` when given. */
async function walkSnapshotFile(path: string, onPair: SnapshotPairRangeHandler | null, options: SnapshotReadOptions): Promise<SnapshotFileInfo> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw new SnapshotFileError('SNAPSHOT_IO', path, 0, `cannot open: ${(error as Error).message}`, { cause: error });
  }
  try {
    const size = (await file.stat()).size;
    const reader = new ChunkReader(file, size, path);
    const metadataBytes = await readHeader(reader, path);
    const pairCount = await walkPairs(reader, path, onPair, options.yieldEveryMs ?? DEFAULT_YIELD_EVERY_MS);
    const checksum = await readChecksum(reader, path, size);
    const metadata = decodeMetadata(metadataBytes, path);
    return { path, version: SNAPSHOT_FORMAT_VERSION, metadata, pairCount, bytes: size, checksum };
  } catch (error) {
    if (error instanceof SnapshotFileError) throw error;
    if (error instanceof HandlerFailure) throw error.cause; // the caller's own error, unchanged
    throw new SnapshotFileError('SNAPSHOT_IO', path, 0, `read failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await file.close();
  }
}

/** Carries an error thrown by a pair handler through the reader untouched. */
class HandlerFailure {
  constructor(readonly cause: unknown) {}
}

/** Checks magic and version; returns a copy of the (not yet verified) metadata block. */
async function readHeader(reader: ChunkReader, path: string): Promise<Buffer> {
  if (!(await reader.ensure(SNAPSHOT_HEADER_BYTES))) {
    throw new SnapshotFileError('SNAPSHOT_TRUNCATED', path, reader.fileSize, `file of ${reader.fileSize} bytes is shorter than the ${SNAPSHOT_HEADER_BYTES}-byte header`);
  }
  const buffer = reader.buffer;
  const at = reader.position;
  if (!buffer.subarray(at, at + SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new SnapshotFileError('SNAPSHOT_BAD_MAGIC', path, 0, 'not a metaraft snapshot file (magic is not "METARAFT")');
  }
  const version = buffer[at + SNAPSHOT_MAGIC.length]!;
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotFileError('SNAPSHOT_BAD_VERSION', path, SNAPSHOT_MAGIC.length, `unknown layout version ${version} (this code reads ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const metadataLength = buffer.readUInt32LE(at + SNAPSHOT_MAGIC.length + 1);
  if (metadataLength > MAX_SNAPSHOT_METADATA_BYTES) {
    throw new SnapshotFileError('SNAPSHOT_CORRUPT', path, SNAPSHOT_MAGIC.length + 1, `metadata length ${metadataLength} exceeds ${MAX_SNAPSHOT_METADATA_BYTES}`);
  }
  reader.position += SNAPSHOT_HEADER_BYTES;
  if (!(await reader.ensure(metadataLength))) {
    throw new SnapshotFileError('SNAPSHOT_TRUNCATED', path, SNAPSHOT_HEADER_BYTES, `file ends inside the ${metadataLength}-byte metadata block`);
  }
  const metadata = Buffer.from(reader.buffer.subarray(reader.position, reader.position + metadataLength));
  reader.position += metadataLength;
  return metadata;
}

/** Walks the pairs up to and including the end marker; returns how many there were. */
async function walkPairs(reader: ChunkReader, path: string, onPair: SnapshotPairRangeHandler | null, yieldEveryMs: number): Promise<number> {
  let count = 0;
  let lastYield = performance.now();
  for (;;) {
    let buffer = reader.bytes;
    let at = reader.position;
    const pairStart = reader.offsetOf(at);
    if (reader.available < 8) {
      if (!(await reader.ensure(END_MARKER_BYTES))) throw endsInside(path, pairStart, count, 'before the end marker');
      buffer = reader.bytes;
      at = reader.position;
    }
    const keyLength = readU32LE(buffer, at);
    if (keyLength === 0) {
      reader.position = at + END_MARKER_BYTES;
      return count;
    }
    if (pairStart + CHECKSUM_BYTES === reader.fileSize) {
      // Exactly a checksum's worth of bytes is left where the end marker should be.
      throw new SnapshotFileError('SNAPSHOT_MISSING_END_MARKER', path, pairStart, `no end marker after pair ${count}`);
    }
    if (keyLength > MAX_SNAPSHOT_KEY_BYTES) {
      throw new SnapshotFileError('SNAPSHOT_CORRUPT', path, pairStart, `pair ${count} key length ${keyLength} exceeds ${MAX_SNAPSHOT_KEY_BYTES}`);
    }
    if (reader.available < 8 + keyLength) {
      if (!(await reader.ensure(8 + keyLength))) throw endsInside(path, pairStart, count, `inside pair ${count} (key of ${keyLength} bytes)`);
      buffer = reader.bytes;
      at = reader.position;
    }
    const valueLength = readU32LE(buffer, at + 4 + keyLength);
    if (valueLength > MAX_SNAPSHOT_VALUE_BYTES) {
      throw new SnapshotFileError('SNAPSHOT_CORRUPT', path, pairStart + 4 + keyLength, `pair ${count} value length ${valueLength} exceeds ${MAX_SNAPSHOT_VALUE_BYTES}`);
    }
    const pairBytes = 8 + keyLength + valueLength;
    if (reader.available < pairBytes) {
      if (!(await reader.ensure(pairBytes))) throw endsInside(path, pairStart, count, `inside pair ${count} (value of ${valueLength} bytes)`);
      buffer = reader.bytes;
      at = reader.position;
    }
    if (onPair !== null) {
      try {
        onPair(buffer, at + 4, keyLength, at + 8 + keyLength, valueLength);
      } catch (error) {
        throw new HandlerFailure(error);
      }
    }
    reader.position = at + pairBytes;
    if (++count % PAIRS_PER_CLOCK_CHECK === 0 && performance.now() - lastYield >= yieldEveryMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
}

/** Inline little-endian read: cheaper than Buffer's bounds-checked method in the per-pair loop. */
function readU32LE(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Reads the stored checksum after the end marker and compares it with the content's. */
async function readChecksum(reader: ChunkReader, path: string, size: number): Promise<number> {
  const checksumOffset = reader.offsetOf(reader.position);
  const actual = reader.checksumSoFar();
  if (!(await reader.ensure(CHECKSUM_BYTES))) {
    throw new SnapshotFileError('SNAPSHOT_TRUNCATED', path, checksumOffset, 'file ends inside the checksum after the end marker');
  }
  const stored = reader.buffer.readUInt32LE(reader.position);
  if (stored !== actual) {
    throw new SnapshotFileError('SNAPSHOT_BAD_CHECKSUM', path, checksumOffset, `stored checksum 0x${hex(stored)} does not match the content's 0x${hex(actual)}`);
  }
  const expectedSize = checksumOffset + CHECKSUM_BYTES;
  if (size !== expectedSize) {
    throw new SnapshotFileError('SNAPSHOT_TRAILING_BYTES', path, expectedSize, `${size - expectedSize} bytes follow the checksum`);
  }
  return stored;
}

function endsInside(path: string, offset: number, pairIndex: number, where: string): SnapshotFileError {
  return new SnapshotFileError('SNAPSHOT_TRUNCATED', path, offset, `file ends ${where} (after ${pairIndex} whole pairs)`);
}

/** Parses the metadata block (only after the checksum has vouched for it). */
function decodeMetadata(bytes: Buffer, path: string): SnapshotFileMetadata {
  const at = SNAPSHOT_HEADER_BYTES;
  const fail = (offset: number, cause: string): never => {
    throw new SnapshotFileError('SNAPSHOT_CORRUPT', path, at + offset, `metadata: ${cause}`);
  };
  let cursor = 0;
  const need = (n: number, what: string): void => {
    if (cursor + n > bytes.length) fail(cursor, `${what} runs past the ${bytes.length}-byte metadata block`);
  };
  const u32 = (what: string): number => {
    need(4, what);
    const value = bytes.readUInt32LE(cursor);
    cursor += 4;
    return value;
  };
  const u64 = (what: string): number => {
    need(8, what);
    const low = bytes.readUInt32LE(cursor);
    const high = bytes.readUInt32LE(cursor + 4);
    if (high >= 0x20_0000) fail(cursor, `${what} exceeds 2^53-1`);
    cursor += 8;
    return high * U32_LIMIT + low;
  };
  const members = (what: string): NodeId[] => {
    const count = u32(`${what} count`);
    need(count * 8, what);
    return Array.from({ length: count }, () => u64(what));
  };
  const index = u64('index');
  const term = u64('term');
  const epoch = u64('epoch');
  const voters = members('voters');
  const learners = members('learners');
  const userDataLength = u32('user data length');
  need(userDataLength, 'user data');
  const userData = Uint8Array.from(bytes.subarray(cursor, cursor + userDataLength));
  cursor += userDataLength;
  if (cursor !== bytes.length) fail(cursor, `${bytes.length - cursor} unexplained bytes at the end of the block`);
  return { index, term, config: { voters, learners, epoch }, userData };
}

/**
 * A window over a file read in large chunks. `position` indexes `buffer`; bytes before
 * it are consumed and are folded into the running checksum when the window slides.
 */
class ChunkReader {
  buffer: Buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** The same memory as a plain Uint8Array: its subarray() is much cheaper than Buffer's. */
  bytes: Uint8Array = plainView(this.buffer);
  position = 0;
  /** Valid bytes in `buffer`. */
  private end = 0;
  /** File offset of buffer[0]. */
  private base = 0;
  /** File offset up to which `crc` covers. */
  private crcOffset = 0;
  private crc = 0;

  constructor(
    private readonly file: FileHandle,
    readonly fileSize: number,
    private readonly path: string,
  ) {}

  get available(): number {
    return this.end - this.position;
  }

  offsetOf(bufferPosition: number): number {
    return this.base + bufferPosition;
  }

  /** CRC32C of every byte before `position`. */
  checksumSoFar(): number {
    this.foldConsumed();
    return this.crc;
  }

  /** Makes `n` bytes available at `position`; false when the file ends first. */
  async ensure(n: number): Promise<boolean> {
    if (this.available >= n) return true;
    this.foldConsumed();
    const remaining = this.available;
    if (n > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(n, this.buffer.length * 2));
      this.buffer.copy(grown, 0, this.position, this.end);
      this.buffer = grown;
      this.bytes = plainView(grown);
    } else {
      this.buffer.copy(this.buffer, 0, this.position, this.end);
    }
    this.base += this.position;
    this.position = 0;
    this.end = remaining;
    while (this.end < n && this.base + this.end < this.fileSize) {
      const { bytesRead } = await this.file.read(this.buffer, this.end, this.buffer.length - this.end, this.base + this.end);
      if (bytesRead === 0) break;
      this.end += bytesRead;
    }
    return this.available >= n;
  }

  private foldConsumed(): void {
    const from = this.crcOffset - this.base;
    invariant(from >= 0 && from <= this.position, () => `snapshot reader of ${this.path} lost track of its checksum`);
    this.crc = crc32c(this.buffer.subarray(from, this.position), this.crc);
    this.crcOffset = this.base + this.position;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function plainView(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
