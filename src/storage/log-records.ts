/**
 * Keys and values of the Raft log store (docs/formats.md, "The Raft log store").
 *
 * Keys: kind u8 | groupId u32 BE | (entries only) index u64 BE. Big-endian numbers make
 * one group's entries a contiguous, index-ordered range.
 *
 * Values: version u8 | body (little-endian) | crc32c u32 LE. The checksum covers the
 * key and then the value bytes before it, so a value found under the wrong key fails too.
 */
import { invariant } from '../raft/errors.ts';
import type { ConfigState, Entry, EntryType, GroupId, HardState, Index, NodeId, Term } from '../raft/types.ts';
import { crc32c } from './checksum.ts';

export const LOG_KEY_KIND = {
  /** The store's own header: magic and layout version. */
  storeHeader: 0x00,
  entry: 0x01,
  hardState: 0x02,
  /** The compacted prefix: entries up to and including this index/term are gone. */
  logStart: 0x03,
  /** The latest snapshot the group's state machine has published (or received). */
  snapshotMark: 0x04,
} as const;

/** The layout version of every value this code writes, and the only one it reads. */
export const LOG_RECORD_VERSION = 1;
export const LOG_STORE_MAGIC = Buffer.from('MRAFTLOG', 'latin1');

export const GROUP_KEY_BYTES = 5;
export const ENTRY_KEY_BYTES = 13;
const CHECKSUM_BYTES = 4;
const U32_LIMIT = 0x1_0000_0000;
const SAFE_HIGH_LIMIT = 0x20_0000;
/** Members of one group's configuration; more is a corrupt count, not a real group. */
export const MAX_CONFIG_MEMBERS = 1024;

const ENTRY_TYPE_CODE: Record<EntryType, number> = { normal: 0x00, config: 0x01 };

/** The snapshot a group's log starts after, as recorded in the store. */
export interface SnapshotMark {
  readonly index: Index;
  readonly term: Term;
  readonly config: ConfigState;
}

/** A value failed its checks; `cause` says which. The store turns this into a LogStoreError. */
export class LogRecordError extends Error {
  constructor(readonly offset: number, cause: string) {
    super(`${cause} at value offset ${offset}`);
    this.name = 'LogRecordError';
  }
}

// ---- keys --------------------------------------------------------------------------------

export function storeHeaderKey(): Uint8Array {
  return Uint8Array.of(LOG_KEY_KIND.storeHeader);
}

export function groupKey(kind: number, groupId: GroupId): Uint8Array {
  invariant(Number.isInteger(groupId) && groupId >= 0 && groupId < U32_LIMIT, () => `group id must be a u32, got ${groupId}`);
  const key = Buffer.allocUnsafe(GROUP_KEY_BYTES);
  key[0] = kind;
  key.writeUInt32BE(groupId, 1);
  return key;
}

export function entryKey(groupId: GroupId, index: Index): Uint8Array {
  invariant(Number.isInteger(groupId) && groupId >= 0 && groupId < U32_LIMIT, () => `group id must be a u32, got ${groupId}`);
  invariant(Number.isSafeInteger(index) && index > 0, () => `entry index must be a positive safe integer, got ${index}`);
  const key = Buffer.allocUnsafe(ENTRY_KEY_BYTES);
  key[0] = LOG_KEY_KIND.entry;
  key.writeUInt32BE(groupId, 1);
  key.writeUInt32BE(Math.floor(index / U32_LIMIT), 5);
  key.writeUInt32BE(index >>> 0, 9);
  return key;
}

/** The first key after every key of `kind` for `groupId` (exclusive upper bound of a scan). */
export function groupRangeEnd(kind: number, groupId: GroupId): Uint8Array {
  return groupId + 1 < U32_LIMIT ? groupKey(kind, groupId + 1) : Uint8Array.of(kind + 1);
}

export function keyGroupId(key: Uint8Array): GroupId {
  return readU32BE(key, 1);
}

export function entryKeyIndex(key: Uint8Array): Index {
  const high = readU32BE(key, 5);
  return high >= SAFE_HIGH_LIMIT ? Number.NaN : high * U32_LIMIT + readU32BE(key, 9);
}

// ---- values ------------------------------------------------------------------------------

export function encodeStoreHeader(): Uint8Array {
  const body = Buffer.concat([LOG_STORE_MAGIC, Uint8Array.of(LOG_RECORD_VERSION)]);
  return seal(storeHeaderKey(), body);
}

/** Returns the layout version of a store header, or throws if it is not one. */
export function decodeStoreHeaderVersion(value: Uint8Array): number {
  const body = unseal(storeHeaderKey(), value, LOG_STORE_MAGIC.length + 1, true, false);
  if (!Buffer.from(body.subarray(0, LOG_STORE_MAGIC.length)).equals(LOG_STORE_MAGIC)) {
    throw new LogRecordError(0, 'store header magic is not "MRAFTLOG"');
  }
  return body[LOG_STORE_MAGIC.length]!;
}

/** version u8 | type u8 | term u64 LE | data_length u32 LE | data | crc32c. */
export function encodeEntry(key: Uint8Array, entry: Entry): Uint8Array {
  const out = Buffer.allocUnsafe(1 + 1 + 8 + 4 + entry.data.length + CHECKSUM_BYTES);
  out[0] = LOG_RECORD_VERSION;
  out[1] = ENTRY_TYPE_CODE[entry.type];
  let at = writeU64(out, 2, entry.term, 'entry term');
  at = out.writeUInt32LE(entry.data.length, at);
  out.set(entry.data, at);
  return sealInPlace(key, out);
}

/** Decodes an entry value (data is a copy-free view of `value`). */
export function decodeEntry(key: Uint8Array, value: Uint8Array, index: Index): Entry {
  const body = unseal(key, value, 1 + 1 + 8 + 4, false);
  const typeCode = body[1];
  const type: EntryType | undefined = typeCode === 0x00 ? 'normal' : typeCode === 0x01 ? 'config' : undefined;
  if (type === undefined) throw new LogRecordError(1, `unknown entry type ${typeCode}`);
  // Read in place (no reader object per entry: a restart decodes every entry of the log);
  // unseal has checked the body holds the 14 fixed bytes.
  const termHigh = readU32LE(body, 6);
  if (termHigh >= SAFE_HIGH_LIMIT) throw new LogRecordError(2, 'term exceeds 2^53-1');
  const term = termHigh * U32_LIMIT + readU32LE(body, 2);
  const dataAt = 1 + 1 + 8 + 4;
  const dataLength = readU32LE(body, 10);
  if (dataAt + dataLength !== body.length) {
    throw new LogRecordError(10, `data length ${dataLength} disagrees with the ${body.length - dataAt} bytes present`);
  }
  return { index, term, type, data: body.subarray(dataAt) };
}

/** version u8 | term u64 | vote u64 | commit u64 | crc32c. */
export function encodeHardState(key: Uint8Array, hardState: HardState): Uint8Array {
  const out = Buffer.allocUnsafe(1 + 24 + CHECKSUM_BYTES);
  out[0] = LOG_RECORD_VERSION;
  let at = writeU64(out, 1, hardState.term, 'term');
  at = writeU64(out, at, hardState.vote, 'vote');
  writeU64(out, at, hardState.commit, 'commit');
  return sealInPlace(key, out);
}

export function decodeHardState(key: Uint8Array, value: Uint8Array): HardState {
  const reader = new BodyReader(unseal(key, value, 25, true), 1);
  return { term: reader.u64('term'), vote: reader.u64('vote'), commit: reader.u64('commit') };
}

/** version u8 | index u64 | term u64 | crc32c. */
export function encodeLogStart(key: Uint8Array, index: Index, term: Term): Uint8Array {
  const out = Buffer.allocUnsafe(1 + 16 + CHECKSUM_BYTES);
  out[0] = LOG_RECORD_VERSION;
  writeU64(out, writeU64(out, 1, index, 'log start index'), term, 'log start term');
  return sealInPlace(key, out);
}

export function decodeLogStart(key: Uint8Array, value: Uint8Array): { index: Index; term: Term } {
  const reader = new BodyReader(unseal(key, value, 17, true), 1);
  return { index: reader.u64('index'), term: reader.u64('term') };
}

/** version u8 | index u64 | term u64 | epoch u64 | voter count u32, voters u64… | learner count u32, learners u64… | crc32c. */
export function encodeSnapshotMark(key: Uint8Array, mark: SnapshotMark): Uint8Array {
  const { voters, learners, epoch } = mark.config;
  invariant(voters.length + learners.length <= MAX_CONFIG_MEMBERS, `a configuration has at most ${MAX_CONFIG_MEMBERS} members`);
  const out = Buffer.allocUnsafe(1 + 24 + 8 + 8 * (voters.length + learners.length) + CHECKSUM_BYTES);
  out[0] = LOG_RECORD_VERSION;
  let at = writeU64(out, 1, mark.index, 'snapshot index');
  at = writeU64(out, at, mark.term, 'snapshot term');
  at = writeU64(out, at, epoch, 'epoch');
  for (const members of [voters, learners]) {
    at = out.writeUInt32LE(members.length, at);
    for (const node of members) at = writeU64(out, at, node, 'node id');
  }
  return sealInPlace(key, out);
}

export function decodeSnapshotMark(key: Uint8Array, value: Uint8Array): SnapshotMark {
  const body = unseal(key, value, 1 + 24 + 8, false);
  const reader = new BodyReader(body, 1);
  const index = reader.u64('index');
  const term = reader.u64('term');
  const epoch = reader.u64('epoch');
  const voters = reader.members('voters');
  const learners = reader.members('learners');
  if (reader.at !== body.length) throw new LogRecordError(reader.at, `${body.length - reader.at} unexplained bytes`);
  return { index, term, config: { voters, learners, epoch } };
}

// ---- helpers -----------------------------------------------------------------------------

/** Writes the checksum of key + out[0, length-4) into the last 4 bytes of `out`. */
function sealInPlace(key: Uint8Array, out: Buffer): Uint8Array {
  const end = out.length - CHECKSUM_BYTES;
  out.writeUInt32LE(crc32c(out.subarray(0, end), crc32c(key)), end);
  return out;
}

function seal(key: Uint8Array, body: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(body.length + CHECKSUM_BYTES);
  out.set(body, 0);
  return sealInPlace(key, out);
}

/** Checks length, checksum and version; returns the body (without the checksum). */
function unseal(key: Uint8Array, value: Uint8Array, bodyBytes: number, exact: boolean, versionFirst = true): Uint8Array {
  const end = value.length - CHECKSUM_BYTES;
  if (exact ? end !== bodyBytes : end < bodyBytes) {
    throw new LogRecordError(0, `value of ${value.length} bytes, expected ${exact ? '' : 'at least '}${bodyBytes + CHECKSUM_BYTES}`);
  }
  const body = value.subarray(0, end);
  const stored = (value[end]! | (value[end + 1]! << 8) | (value[end + 2]! << 16) | (value[end + 3]! << 24)) >>> 0;
  const actual = crc32c(body, crc32c(key));
  if (stored !== actual) {
    throw new LogRecordError(end, `checksum 0x${stored.toString(16)} does not match the content's 0x${actual.toString(16)}`);
  }
  if (versionFirst && body[0] !== LOG_RECORD_VERSION) throw new LogRecordError(0, `unknown record version ${body[0]}`);
  return body;
}

function writeU64(out: Buffer, at: number, value: number, what: string): number {
  invariant(Number.isSafeInteger(value) && value >= 0, () => `${what} must be a non-negative safe integer, got ${value}`);
  out.writeUInt32LE(value >>> 0, at);
  out.writeUInt32LE(Math.floor(value / U32_LIMIT), at + 4);
  return at + 8;
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function readU32BE(key: Uint8Array, at: number): number {
  return ((key[at]! << 24) | (key[at + 1]! << 16) | (key[at + 2]! << 8) | key[at + 3]!) >>> 0;
}

class BodyReader {
  private readonly view: DataView;
  constructor(
    private readonly body: Uint8Array,
    public at: number,
  ) {
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  u32(what: string): number {
    if (this.at + 4 > this.body.length) throw new LogRecordError(this.at, `${what} runs past the value`);
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  u64(what: string): number {
    if (this.at + 8 > this.body.length) throw new LogRecordError(this.at, `${what} runs past the value`);
    const low = this.view.getUint32(this.at, true);
    const high = this.view.getUint32(this.at + 4, true);
    if (high >= SAFE_HIGH_LIMIT) throw new LogRecordError(this.at, `${what} exceeds 2^53-1`);
    this.at += 8;
    return high * U32_LIMIT + low;
  }

  members(what: string): NodeId[] {
    const count = this.u32(`${what} count`);
    if (count > MAX_CONFIG_MEMBERS) throw new LogRecordError(this.at - 4, `${what} count ${count} exceeds ${MAX_CONFIG_MEMBERS}`);
    return Array.from({ length: count }, () => this.u64(what));
  }
}
