/**
 * The metastore's log entry payload: a batch of SET/DEL records (CurveFS's persistence
 * design) that is one request's whole effect, applied atomically. docs/formats.md,
 * "The record batch", gives every byte:
 *
 *   version u8 | kind u8 | count u32 LE | count × record | crc32c u32 LE
 *   record = type u8 (0x01 SET, 0x02 DEL) | key_length u32 LE | key
 *            | (SET only) value_length u32 LE | value
 *
 * The checksum covers every byte before it and is verified before anything is parsed.
 */
import { invariant } from '../raft/errors.ts';
import { crc32c } from '../storage/checksum.ts';

export type MetaRecord =
  | { readonly type: 'set'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/** The layout version this code writes and the only one it reads. */
export const RECORD_BATCH_VERSION = 1;

/**
 * What an entry's payload is. Only `records` exists now; other kinds (session
 * bookkeeping, snapshot markers...) get new values here without changing the record layout.
 */
export const ENTRY_KIND = { records: 0x01 } as const;

export const RECORD_TYPE = { set: 0x01, del: 0x02 } as const;

/** version + kind + count. */
export const BATCH_HEADER_BYTES = 6;
export const BATCH_CHECKSUM_BYTES = 4;
/** The smallest record: a type byte and a key length (a DEL of an empty key, which is refused). */
const MIN_RECORD_BYTES = 5;
/** A length field is a u32. */
const U32_LIMIT = 0x1_0000_0000;

export type RecordFormatErrorCode =
  | 'BATCH_TOO_SHORT'
  | 'BATCH_BAD_CHECKSUM'
  | 'BATCH_BAD_VERSION'
  | 'BATCH_BAD_KIND'
  | 'BATCH_BAD_COUNT'
  | 'BATCH_TRUNCATED'
  | 'BATCH_TRAILING_BYTES'
  | 'RECORD_BAD_TYPE'
  | 'RECORD_EMPTY_KEY';

/** A batch read from outside (log, wire) does not follow the format. `offset` is where. */
export class RecordFormatError extends Error {
  readonly code: RecordFormatErrorCode;
  readonly offset: number;
  constructor(code: RecordFormatErrorCode, offset: number, cause: string) {
    super(`record batch: ${cause} at offset ${offset}`);
    this.name = 'RecordFormatError';
    this.code = code;
    this.offset = offset;
  }
}

/** Encodes records into one batch. Keys must be non-empty (the snapshot's end marker relies on it). */
export function encodeRecordBatch(records: readonly MetaRecord[]): Uint8Array {
  invariant(records.length < U32_LIMIT, 'record count must fit a u32');
  const size = encodedBatchBytes(records);
  const out = Buffer.allocUnsafe(size);
  out[0] = RECORD_BATCH_VERSION;
  out[1] = ENTRY_KIND.records;
  out.writeUInt32LE(records.length, 2);
  let at = BATCH_HEADER_BYTES;
  for (const record of records) {
    out[at] = RECORD_TYPE[record.type];
    out.writeUInt32LE(record.key.length, at + 1);
    out.set(record.key, at + 5);
    at += 5 + record.key.length;
    if (record.type === 'set') {
      out.writeUInt32LE(record.value.length, at);
      out.set(record.value, at + 4);
      at += 4 + record.value.length;
    }
  }
  invariant(at === size - BATCH_CHECKSUM_BYTES, 'batch size computed and written must agree');
  out.writeUInt32LE(crc32c(out.subarray(0, at)), at);
  return out;
}

/** The exact encoded size of a batch, without encoding it (for byte budgets). */
export function encodedBatchBytes(records: readonly MetaRecord[]): number {
  let size = BATCH_HEADER_BYTES + BATCH_CHECKSUM_BYTES;
  for (const record of records) {
    invariant(record.key.length > 0, 'a record key is never empty (formats.md: keys are self-describing)');
    invariant(record.key.length < U32_LIMIT, 'a record key length must fit a u32');
    size += MIN_RECORD_BYTES + record.key.length;
    if (record.type === 'set') {
      invariant(record.value.length < U32_LIMIT, 'a record value length must fit a u32');
      size += 4 + record.value.length;
    }
  }
  return size;
}

/**
 * The kind byte of an entry payload after checking its length and version, so an apply
 * loop can dispatch on kinds this code does not yet decode. Does not verify the checksum.
 */
export function peekEntryKind(bytes: Uint8Array): number {
  if (bytes.length < BATCH_HEADER_BYTES + BATCH_CHECKSUM_BYTES) {
    throw new RecordFormatError('BATCH_TOO_SHORT', 0, `${bytes.length} bytes is shorter than an empty batch`);
  }
  if (bytes[0] !== RECORD_BATCH_VERSION) {
    throw new RecordFormatError('BATCH_BAD_VERSION', 0, `unknown version ${bytes[0]} (this code reads ${RECORD_BATCH_VERSION})`);
  }
  return bytes[1]!;
}

/**
 * Decodes a records batch, verifying the checksum first. Returned keys and values are
 * subarrays of `bytes` (zero-copy): copy them if `bytes` will be reused.
 */
export function decodeRecordBatch(input: Uint8Array): MetaRecord[] {
  const kind = peekEntryKind(input);
  // A plain Uint8Array view: its subarray() costs a fraction of Buffer's.
  const bytes = input instanceof Buffer ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : input;
  const end = bytes.length - BATCH_CHECKSUM_BYTES;
  const stored = readU32LE(bytes, end);
  const actual = crc32c(bytes.subarray(0, end));
  if (stored !== actual) {
    throw new RecordFormatError('BATCH_BAD_CHECKSUM', end, `checksum 0x${hex(stored)} does not match the content's 0x${hex(actual)}`);
  }
  if (kind !== ENTRY_KIND.records) {
    throw new RecordFormatError('BATCH_BAD_KIND', 1, `entry kind 0x${kind.toString(16)} is not a records batch`);
  }
  const count = readU32LE(bytes, 2);
  // Bound the count by the bytes present before trusting it with any allocation.
  if (count * MIN_RECORD_BYTES > end - BATCH_HEADER_BYTES) {
    throw new RecordFormatError('BATCH_BAD_COUNT', 2, `count ${count} cannot fit in ${end - BATCH_HEADER_BYTES} bytes of records`);
  }
  const records: MetaRecord[] = new Array(count);
  let at = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const start = at;
    const type = bytes[at];
    if (type !== RECORD_TYPE.set && type !== RECORD_TYPE.del) {
      throw new RecordFormatError('RECORD_BAD_TYPE', at, `record ${i} has unknown type ${type}`);
    }
    const key = readLengthPrefixed(bytes, at + 1, end, i, 'key');
    if (key.length === 0) throw new RecordFormatError('RECORD_EMPTY_KEY', at + 1, `record ${i} has an empty key`);
    at += 5 + key.length;
    if (type === RECORD_TYPE.set) {
      const value = readLengthPrefixed(bytes, at, end, i, 'value');
      at += 4 + value.length;
      records[i] = { type: 'set', key, value };
    } else {
      records[i] = { type: 'del', key };
    }
    invariant(at > start, 'every record advances the cursor');
  }
  if (at !== end) {
    throw new RecordFormatError('BATCH_TRAILING_BYTES', at, `${end - at} bytes follow the last of ${count} records`);
  }
  return records;
}

function readLengthPrefixed(bytes: Uint8Array, at: number, end: number, index: number, what: string): Uint8Array {
  if (at + 4 > end) {
    throw new RecordFormatError('BATCH_TRUNCATED', at, `record ${index} ${what} length runs past the end of the records`);
  }
  const length = readU32LE(bytes, at);
  if (at + 4 + length > end) {
    throw new RecordFormatError('BATCH_TRUNCATED', at, `record ${index} ${what} of ${length} bytes runs past the end of the records`);
  }
  return bytes.subarray(at + 4, at + 4 + length);
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
