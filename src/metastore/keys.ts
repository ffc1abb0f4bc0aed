/**
 * Binary, self-describing metastore keys (docs/formats.md, "Keys").
 *
 *   tag u8 | partitionId u32 BE | table key
 *
 * Big-endian ids make byte order equal numeric order, so one partition's keys, one
 * file system's inodes and one directory's entries each sort together. Ids are JS
 * numbers (safe integers); a u64 is written as two u32 halves, high first.
 *
 * These functions run on every write: they allocate exactly once and write bytes by hand.
 */
import { invariant } from '../raft/errors.ts';

/** The table a key belongs to, as its first byte. Tags are format: never reuse one. */
export const TABLE_TAG = {
  partitionInfo: 0x01,
  inode: 0x02,
  dentry: 0x03,
  trash: 0x04,
  pendingTx: 0x05,
} as const;
export type TableTag = (typeof TABLE_TAG)[keyof typeof TABLE_TAG];

/** tag + partitionId: the prefix every key starts with. */
export const KEY_PREFIX_BYTES = 5;
/** tag + partitionId + fsId u32 + id u64: inode and trash keys, and a dentry key's parent prefix. */
export const ID_KEY_BYTES = KEY_PREFIX_BYTES + 4 + 8;

const U32_LIMIT = 0x1_0000_0000;
/** 2^53 / 2^32: a u64 whose high half reaches this is not a safe integer. */
const SAFE_HIGH_LIMIT = 0x20_0000;

export type DecodedKey =
  | { readonly table: 'partition-info'; readonly partitionId: number }
  | { readonly table: 'inode'; readonly partitionId: number; readonly fsId: number; readonly inodeId: number }
  | {
      readonly table: 'dentry';
      readonly partitionId: number;
      readonly fsId: number;
      readonly parentInodeId: number;
      readonly name: string;
    }
  | { readonly table: 'trash'; readonly partitionId: number; readonly fsId: number; readonly inodeId: number }
  | { readonly table: 'pending-tx'; readonly partitionId: number; readonly txKey: Uint8Array };

export type KeyFormatErrorCode = 'KEY_TOO_SHORT' | 'KEY_UNKNOWN_TABLE' | 'KEY_BAD_LENGTH' | 'KEY_BAD_ID' | 'KEY_BAD_NAME';

/** A key read from outside (disk, wire) does not follow the key format. */
export class KeyFormatError extends Error {
  readonly code: KeyFormatErrorCode;
  constructor(code: KeyFormatErrorCode, message: string) {
    super(message);
    this.name = 'KeyFormatError';
    this.code = code;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function partitionInfoKey(partitionId: number): Uint8Array {
  const key = Buffer.allocUnsafe(KEY_PREFIX_BYTES);
  writePrefix(key, TABLE_TAG.partitionInfo, partitionId);
  return key;
}

export function inodeKey(partitionId: number, fsId: number, inodeId: number): Uint8Array {
  return idKey(TABLE_TAG.inode, partitionId, fsId, inodeId);
}

export function trashKey(partitionId: number, fsId: number, inodeId: number): Uint8Array {
  return idKey(TABLE_TAG.trash, partitionId, fsId, inodeId);
}

/** A dentry key: the parent's prefix ({@link dentryPrefix}) followed by the name's UTF-8 bytes. */
export function dentryKey(partitionId: number, fsId: number, parentInodeId: number, name: string): Uint8Array {
  invariant(name.length > 0, 'a dentry name is never empty (keys of one parent must differ from its prefix)');
  const nameBytes = Buffer.byteLength(name, 'utf8');
  const key = Buffer.allocUnsafe(ID_KEY_BYTES + nameBytes);
  writePrefix(key, TABLE_TAG.dentry, partitionId);
  writeU32(key, KEY_PREFIX_BYTES, fsId, 'fsId');
  writeU64(key, KEY_PREFIX_BYTES + 4, parentInodeId, 'parentInodeId');
  key.write(name, ID_KEY_BYTES, nameBytes, 'utf8');
  return key;
}

/** Every dentry key of one directory starts with these bytes (for range scans). */
export function dentryPrefix(partitionId: number, fsId: number, parentInodeId: number): Uint8Array {
  return idKey(TABLE_TAG.dentry, partitionId, fsId, parentInodeId);
}

/** A pending-transaction key; `txKeyBytes` is copied. */
export function txKey(partitionId: number, txKeyBytes: Uint8Array): Uint8Array {
  const key = Buffer.allocUnsafe(KEY_PREFIX_BYTES + txKeyBytes.length);
  writePrefix(key, TABLE_TAG.pendingTx, partitionId);
  key.set(txKeyBytes, KEY_PREFIX_BYTES);
  return key;
}

/** The table tag of a key without decoding the rest (for routing on apply). */
export function keyTableTag(key: Uint8Array): number {
  if (key.length < KEY_PREFIX_BYTES) throw tooShort(key);
  return key[0]!;
}

/** The partition id of a key without decoding the rest (for routing on apply). */
export function keyPartitionId(key: Uint8Array): number {
  if (key.length < KEY_PREFIX_BYTES) throw tooShort(key);
  return readU32(key, 1);
}

/** Decodes any key, refusing unknown tables, wrong lengths, unsafe ids and invalid UTF-8 names. */
export function decodeKey(key: Uint8Array): DecodedKey {
  if (key.length < KEY_PREFIX_BYTES) throw tooShort(key);
  const tag = key[0]!;
  const partitionId = readU32(key, 1);
  switch (tag) {
    case TABLE_TAG.partitionInfo:
      expectLength(key, 'partition-info', KEY_PREFIX_BYTES);
      return { table: 'partition-info', partitionId };
    case TABLE_TAG.inode:
      expectLength(key, 'inode', ID_KEY_BYTES);
      return { table: 'inode', partitionId, fsId: readU32(key, 5), inodeId: readU64(key, 9, 'inodeId') };
    case TABLE_TAG.trash:
      expectLength(key, 'trash', ID_KEY_BYTES);
      return { table: 'trash', partitionId, fsId: readU32(key, 5), inodeId: readU64(key, 9, 'inodeId') };
    case TABLE_TAG.dentry:
      return decodeDentryKey(key, partitionId);
    case TABLE_TAG.pendingTx:
      return { table: 'pending-tx', partitionId, txKey: key.subarray(KEY_PREFIX_BYTES) };
    default:
      throw new KeyFormatError('KEY_UNKNOWN_TABLE', `key has unknown table tag 0x${tag.toString(16).padStart(2, '0')} at offset 0`);
  }
}

function decodeDentryKey(key: Uint8Array, partitionId: number): DecodedKey {
  if (key.length <= ID_KEY_BYTES) {
    throw new KeyFormatError('KEY_BAD_LENGTH', `dentry key is ${key.length} bytes, needs more than ${ID_KEY_BYTES} (a non-empty name)`);
  }
  let name: string;
  try {
    name = utf8Decoder.decode(key.subarray(ID_KEY_BYTES));
  } catch {
    throw new KeyFormatError('KEY_BAD_NAME', `dentry key name at offset ${ID_KEY_BYTES} is not valid UTF-8`);
  }
  return { table: 'dentry', partitionId, fsId: readU32(key, 5), parentInodeId: readU64(key, 9, 'parentInodeId'), name };
}

// ---------------------------------------------------------------------------------------
// In-place forms for snapshot dumps and loads: write into / read from a large buffer at an
// offset, with no key object, no Buffer per key and no TextDecoder call for ASCII names.

/** The most bytes a name of `length` UTF-16 units can take in UTF-8 (a unit is at most 3 bytes). */
export function maxNameBytes(length: number): number {
  return 3 * length;
}

/**
 * Writes an inode key at `at`; returns the offset after it. The caller provides
 * {@link ID_KEY_BYTES} of room and ids as the tables hold them (u32 / safe integers).
 */
export function writeInodeKeyAt(out: Uint8Array, at: number, partitionId: number, fsId: number, inodeId: number): number {
  return writeIdKeyAt(out, at, TABLE_TAG.inode, partitionId, fsId, inodeId);
}

/**
 * Writes a dentry key at `at`; returns the offset after it. The caller provides
 * `ID_KEY_BYTES + maxNameBytes(name.length)` of room. ASCII names are copied unit by
 * unit; others go through the UTF-8 encoder (the same bytes as {@link dentryKey}).
 */
export function writeDentryKeyAt(out: Buffer, at: number, partitionId: number, fsId: number, parentInodeId: number, name: string): number {
  at = writeIdKeyAt(out, at, TABLE_TAG.dentry, partitionId, fsId, parentInodeId);
  const length = name.length;
  for (let i = 0; i < length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0x80) return at - i + out.write(name, at - i, 'utf8');
    out[at++] = unit;
  }
  return at;
}

function writeIdKeyAt(out: Uint8Array, at: number, tag: TableTag, partitionId: number, fsId: number, id: number): number {
  out[at] = tag;
  putU32(out, at + 1, partitionId);
  putU32(out, at + 5, fsId);
  putU32(out, at + 9, Math.floor(id / U32_LIMIT));
  putU32(out, at + 13, id >>> 0);
  return at + ID_KEY_BYTES;
}

function putU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/** A big-endian u32 at `at` (the caller checked the bounds). */
export function readU32At(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at);
}

/** A big-endian u64 id at `at`, refusing one beyond 2^53-1 (KEY_BAD_ID); the caller checked the bounds. */
export function readIdAt(bytes: Uint8Array, at: number, what: string): number {
  return readU64(bytes, at, what);
}

const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/**
 * The name of a dentry key whose name bytes are `bytes[start, end)`, refusing invalid
 * UTF-8 (KEY_BAD_NAME) exactly as {@link decodeKey} does. ASCII names (the common case)
 * skip the decoder: bytes below 0x80 are their own code units.
 */
export function readNameAt(bytes: Uint8Array, start: number, end: number): string {
  let high = 0;
  for (let i = start; i < end; i++) high |= bytes[i]!;
  if (high < 0x80) return end - start <= SHORT_NAME_BYTES ? shortAsciiName(bytes, start, end - start) : latin1Slice.call(bytes, start, end);
  try {
    return utf8Decoder.decode(bytes.subarray(start, end));
  } catch {
    throw new KeyFormatError('KEY_BAD_NAME', `dentry key name at offset ${ID_KEY_BYTES} is not valid UTF-8`);
  }
}

/** Names up to this long are built in JavaScript: a native slice costs more than the string. */
const SHORT_NAME_BYTES = 16;
const fromCodes = String.fromCharCode;

/**
 * An ASCII name of 1 to {@link SHORT_NAME_BYTES} bytes as a flat string: one
 * String.fromCharCode call with the bytes as arguments (measured about 3x cheaper than
 * a native slice, and unlike concatenation it leaves no cons string in the tables).
 */
function shortAsciiName(b: Uint8Array, s: number, length: number): string {
  if (length <= 8) {
    switch (length) {
      case 1: return fromCodes(b[s]!);
      case 2: return fromCodes(b[s]!, b[s + 1]!);
      case 3: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!);
      case 4: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
      case 5: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
      case 6: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
      case 7: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
      default: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    }
  }
  const h = s + 8;
  switch (length) {
    case 9: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!);
    case 10: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!);
    case 11: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!, b[h + 2]!);
    case 12: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!, b[h + 2]!, b[h + 3]!);
    case 13: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!, b[h + 2]!, b[h + 3]!, b[h + 4]!);
    case 14: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!, b[h + 2]!, b[h + 3]!, b[h + 4]!, b[h + 5]!);
    case 15: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!, b[h + 2]!, b[h + 3]!, b[h + 4]!, b[h + 5]!, b[h + 6]!);
    default: return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[h]!, b[h + 1]!, b[h + 2]!, b[h + 3]!, b[h + 4]!, b[h + 5]!, b[h + 6]!, b[h + 7]!);
  }
}

function idKey(tag: TableTag, partitionId: number, fsId: number, id: number): Uint8Array {
  const key = Buffer.allocUnsafe(ID_KEY_BYTES);
  writePrefix(key, tag, partitionId);
  writeU32(key, KEY_PREFIX_BYTES, fsId, 'fsId');
  writeU64(key, KEY_PREFIX_BYTES + 4, id, 'inodeId');
  return key;
}

function writePrefix(key: Uint8Array, tag: TableTag, partitionId: number): void {
  key[0] = tag;
  writeU32(key, 1, partitionId, 'partitionId');
}

function writeU32(key: Uint8Array, at: number, value: number, what: string): void {
  invariant(Number.isInteger(value) && value >= 0 && value < U32_LIMIT, () => `${what} must be a u32, got ${value}`);
  key[at] = value >>> 24;
  key[at + 1] = value >>> 16;
  key[at + 2] = value >>> 8;
  key[at + 3] = value;
}

function writeU64(key: Uint8Array, at: number, value: number, what: string): void {
  invariant(Number.isSafeInteger(value) && value >= 0, () => `${what} must be a non-negative safe integer, got ${value}`);
  writeU32(key, at, Math.floor(value / U32_LIMIT), what);
  writeU32(key, at + 4, value >>> 0, what);
}

function readU32(key: Uint8Array, at: number): number {
  return ((key[at]! << 24) | (key[at + 1]! << 16) | (key[at + 2]! << 8) | key[at + 3]!) >>> 0;
}

function readU64(key: Uint8Array, at: number, what: string): number {
  const high = readU32(key, at);
  if (high >= SAFE_HIGH_LIMIT) {
    throw new KeyFormatError('KEY_BAD_ID', `${what} at offset ${at} exceeds 2^53-1 (high word 0x${high.toString(16)})`);
  }
  return high * U32_LIMIT + readU32(key, at + 4);
}

function expectLength(key: Uint8Array, table: string, bytes: number): void {
  if (key.length !== bytes) {
    throw new KeyFormatError('KEY_BAD_LENGTH', `${table} key is ${key.length} bytes, expected ${bytes}`);
  }
}

function tooShort(key: Uint8Array): KeyFormatError {
  return new KeyFormatError('KEY_TOO_SHORT', `key is ${key.length} bytes, shorter than its ${KEY_PREFIX_BYTES}-byte prefix`);
}
