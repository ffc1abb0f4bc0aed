/**
 * Values of the metastore's records (the `value` of a SET), in msgpack. This is the one
 * module that imports msgpackr.
 *
 * Each value is a msgpack array: a layout version, then the fields in a fixed order,
 * absent optional fields as nil, an xattr map as [name, bytes] pairs sorted by name.
 * Positional arrays rather than msgpackr records with shared structures: the same ~60
 * bytes per inode, several times faster to pack on Node 20 (measured: 1.2M/s against
 * 0.18M/s for records), and no structure table whose history could make two replicas
 * encode one value differently. Encoding is a pure function of the value, so replicas
 * and snapshot round trips produce identical bytes (stateHash relies on it).
 *
 * Inodes and dentries — decoded by every apply, encoded by every dump — go through
 * msgpack-lite.ts, a writer/reader of just this subset of msgpack, several times faster
 * than msgpackr's per-call set-up allows; partition infos (rare) through msgpackr. Both
 * write standard msgpack.
 */
import { Packr } from 'msgpackr';
import { MAX_UINT_BYTES, MsgpackReader, MsgpackWriter, putOptionalUint, putUint } from './msgpack-lite.ts';
import { isFsFileType, isPartitionStatus } from './types.ts';
import type { DentryValue, FsFileType, Inode, PartitionInfo, XAttrMap } from './types.ts';

/** Layout versions, the first element of each value. Never reuse one. */
export const INODE_VALUE_VERSION = 1;
export const DENTRY_VALUE_VERSION = 1;
export const PARTITION_VALUE_VERSION = 1;

const INODE_FIELDS = 21;
const DENTRY_FIELDS = 6;
const PARTITION_FIELDS = 11;
const U32_LIMIT = 0x1_0000_0000;

export type ValueFormatErrorCode = 'VALUE_UNDECODABLE' | 'VALUE_BAD_SHAPE' | 'VALUE_BAD_VERSION';

/** A value read from the log or a snapshot is not one this code wrote. */
export class ValueFormatError extends Error {
  readonly code: ValueFormatErrorCode;
  constructor(code: ValueFormatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValueFormatError';
    this.code = code;
  }
}

const packr = new Packr({ useRecords: false, mapsAsObjects: false, variableMapSize: true });

/** Encodes through the shared Packr; the result is copied so it never aliases its buffer. */
function pack(value: unknown[]): Uint8Array {
  return Uint8Array.prototype.slice.call(packr.pack(value));
}


function unpackArray(bytes: Uint8Array, what: string, fields: number, version: number): unknown[] {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (error) {
    throw new ValueFormatError('VALUE_UNDECODABLE', `${what} value is not msgpack`, { cause: error });
  }
  if (!Array.isArray(decoded) || decoded.length !== fields) {
    throw new ValueFormatError('VALUE_BAD_SHAPE', `${what} value must be an array of ${fields} fields`);
  }
  if (decoded[0] !== version) {
    throw new ValueFormatError('VALUE_BAD_VERSION', `${what} value has layout version ${String(decoded[0])}, expected ${version}`);
  }
  return decoded;
}

// ---------------------------------------------------------------------------------------
// Inode and dentry values: the hot path (every apply, every dump), through msgpack-lite.

const writer = new MsgpackWriter();
const NO_NAMES: readonly string[] = [];

function hasKeys(xattr: XAttrMap): boolean {
  for (const _ in xattr) return true;
  return false;
}
const reader = new MsgpackReader();

function writeInode(inode: Inode): MsgpackWriter {
  const w = writer.reset();
  w.arrayHeader(INODE_FIELDS);
  w.uint(INODE_VALUE_VERSION);
  w.uint(inode.inodeId);
  w.uint(inode.fsId);
  w.uint(inode.length);
  w.uint(inode.ctime);
  w.uint(inode.ctime_ns);
  w.uint(inode.mtime);
  w.uint(inode.mtime_ns);
  w.uint(inode.atime);
  w.uint(inode.atime_ns);
  w.uint(inode.uid);
  w.uint(inode.gid);
  w.uint(inode.mode);
  w.uint(inode.nlink);
  w.uint(inode.type);
  if (inode.symlink === undefined) w.nil();
  else w.string(inode.symlink);
  w.optionalUint(inode.rdev);
  w.optionalUint(inode.dtime);
  w.optionalUint(inode.openmpcount);
  const names = hasKeys(inode.xattr) ? Object.keys(inode.xattr).sort() : NO_NAMES;
  w.arrayHeader(names.length);
  for (const name of names) {
    w.arrayHeader(2);
    w.string(name);
    w.binary(inode.xattr[name]!);
  }
  w.arrayHeader(inode.parent.length);
  for (const parent of inode.parent) w.uint(parent);
  return w;
}

export function encodeInode(inode: Inode): Uint8Array {
  return writeInode(inode).finish();
}

/** {@link encodeInode} without the copy: valid until the next encode. */
export function encodeInodeTransient(inode: Inode): Uint8Array {
  return writeInode(inode).view();
}

/** An inode whose fields a decoder or a table row fills in place (snapshot dumps and loads reuse one). */
export type MutableInode = { -readonly [K in keyof Inode]: Inode[K] } & { parent: number[] };

/** A fresh {@link MutableInode} with every field present (one object shape for the hot paths). */
export function newMutableInode(): MutableInode {
  return {
    inodeId: 0, fsId: 0, length: 0, ctime: 0, ctime_ns: 0, mtime: 0, mtime_ns: 0, atime: 0, atime_ns: 0, uid: 0, gid: 0, mode: 0, nlink: 0,
    type: 1, symlink: undefined, rdev: undefined, dtime: undefined, openmpcount: undefined, xattr: {}, parent: [],
  };
}

/**
 * Most bytes of an inode value with no symlink, no xattrs and fewer than 16 parents,
 * besides 9 per parent: array16 header (3), version (1), 13 uints, type (1), nil symlink
 * (1), 3 optional uints, empty xattr array (1), parent array header (1).
 */
const PLAIN_INODE_VALUE_BASE_BYTES = 3 + 1 + 13 * MAX_UINT_BYTES + 1 + 1 + 3 * MAX_UINT_BYTES + 1 + 1;
/** Parents a fixarray header holds. */
const FIXARRAY_MAX = 15;
const ARRAY16 = 0xdc;
const FIXARRAY = 0x90;
const NIL = 0xc0;

/**
 * Writes {@link encodeInode}'s bytes for `inode` into `out` at `at`, stopping at `end`;
 * returns the offset after the value, or -1 (nothing meaningful written) when it does
 * not fit. A plain inode is written in place with no intermediate buffer.
 */
export function writeInodeValueAt(out: Uint8Array, at: number, end: number, inode: Inode): number {
  const parents = inode.parent;
  if (inode.symlink !== undefined || parents.length > FIXARRAY_MAX || hasKeys(inode.xattr)) {
    const encoded = writeInode(inode).view();
    if (at + encoded.length > end) return -1;
    out.set(encoded, at);
    return at + encoded.length;
  }
  if (at + PLAIN_INODE_VALUE_BASE_BYTES + MAX_UINT_BYTES * parents.length > end) return -1;
  out[at] = ARRAY16;
  out[at + 1] = 0;
  out[at + 2] = INODE_FIELDS;
  out[at + 3] = INODE_VALUE_VERSION;
  at = putUint(out, at + 4, inode.inodeId);
  at = putUint(out, at, inode.fsId);
  at = putUint(out, at, inode.length);
  at = putUint(out, at, inode.ctime);
  at = putUint(out, at, inode.ctime_ns);
  at = putUint(out, at, inode.mtime);
  at = putUint(out, at, inode.mtime_ns);
  at = putUint(out, at, inode.atime);
  at = putUint(out, at, inode.atime_ns);
  at = putUint(out, at, inode.uid);
  at = putUint(out, at, inode.gid);
  at = putUint(out, at, inode.mode);
  at = putUint(out, at, inode.nlink);
  out[at++] = inode.type;
  out[at++] = NIL;
  at = putOptionalUint(out, at, inode.rdev);
  at = putOptionalUint(out, at, inode.dtime);
  at = putOptionalUint(out, at, inode.openmpcount);
  out[at++] = FIXARRAY;
  out[at++] = FIXARRAY | parents.length;
  for (let i = 0; i < parents.length; i++) at = putUint(out, at, parents[i]!);
  return at;
}

/** The bytes {@link encodeInode} makes for `inode` (to size a pair that did not fit). */
export function inodeValueBytes(inode: Inode): number {
  return writeInode(inode).view().length;
}

export function decodeInode(bytes: Uint8Array): Inode {
  return decodeWith(bytes, 'inode', readInode);
}

/**
 * Decodes the inode value in `bytes[start, end)` into `target`, with {@link decodeInode}'s
 * checks. `target.xattr` becomes a fresh object when the value has xattrs; `target.parent`
 * is refilled in place: copy what you keep.
 */
export function decodeInodeInto(bytes: Uint8Array, start: number, end: number, target: MutableInode): void {
  if (decodePlainInode(bytes, start, end, target)) return;
  const r = reader.resetRange(bytes, start, end);
  try {
    readInodeInto(r, target);
  } catch (error) {
    throw asValueError(error, 'inode');
  }
  if (!r.atEnd) throw new ValueFormatError('VALUE_BAD_SHAPE', 'inode value has trailing bytes');
}

/** Where the last {@link takeUint} ended: a second result without an allocation. */
let taken = 0;

/**
 * The uint at `at` in the forms up to u32, or -1 for anything else (a u64, a nil,
 * another type, the end of the array): the general reader then decides. Sets `taken`.
 */
function takeUint(bytes: Uint8Array, at: number): number {
  const lead = bytes[at]!;
  if (lead < 0x80) {
    taken = at + 1;
    return lead;
  }
  if (lead === 0xcc) {
    taken = at + 2;
    return bytes[at + 1]!;
  }
  if (lead === 0xcd) {
    taken = at + 3;
    return (bytes[at + 1]! << 8) | bytes[at + 2]!;
  }
  if (lead === 0xce) {
    taken = at + 5;
    return ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
  }
  return -1;
}

/** {@link takeUint}, nil as undefined, or -1. */
function takeOptionalUint(bytes: Uint8Array, at: number): number | undefined {
  if (bytes[at] !== NIL) return takeUint(bytes, at);
  taken = at + 1;
  return undefined;
}

/**
 * The common inode (every number below 2^32, no symlink, no xattrs, fewer than 16
 * parents) decoded straight-line into `target`; false when the value is anything else,
 * and the general reader then decodes it (or names what is wrong). Reads may run past
 * `end` into the caller's buffer, but a value is accepted only if it ends exactly at
 * `end`, so nothing past it is ever used.
 */
function decodePlainInode(bytes: Uint8Array, start: number, end: number, target: MutableInode): boolean {
  if (bytes[start] !== ARRAY16 || bytes[start + 1] !== 0 || bytes[start + 2] !== INODE_FIELDS || bytes[start + 3] !== INODE_VALUE_VERSION) return false;
  let value = takeUint(bytes, start + 4);
  if (value < 0) return false;
  target.inodeId = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.fsId = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.length = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.ctime = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.ctime_ns = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.mtime = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.mtime_ns = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.atime = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.atime_ns = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.uid = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.gid = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.mode = value;
  if ((value = takeUint(bytes, taken)) < 0) return false;
  target.nlink = value;
  let at = taken;
  const type = bytes[at]!;
  if (!isFsFileType(type) || bytes[at + 1] !== NIL) return false;
  target.type = type;
  const rdev = takeOptionalUint(bytes, at + 2);
  if (rdev === -1) return false;
  const dtime = takeOptionalUint(bytes, taken);
  if (dtime === -1) return false;
  const openmpcount = takeOptionalUint(bytes, taken);
  if (openmpcount === -1) return false;
  at = taken;
  const parents = bytes[at + 1]! - FIXARRAY;
  if (bytes[at] !== FIXARRAY || parents < 0 || parents > FIXARRAY_MAX) return false;
  at += 2;
  const parent = target.parent;
  if (parent.length !== parents) parent.length = 0;
  for (let i = 0; i < parents; i++) {
    if ((value = takeUint(bytes, at)) < 0) return false;
    parent[i] = value;
    at = taken;
  }
  if (at !== end) return false;
  target.symlink = undefined;
  target.rdev = rdev;
  target.dtime = dtime;
  target.openmpcount = openmpcount;
  target.xattr = EMPTY_XATTR;
  return true;
}

function readInode(r: MsgpackReader): Inode {
  const inode = newMutableInode();
  readInodeInto(r, inode);
  if (inode.xattr === EMPTY_XATTR) inode.xattr = {};
  return inode;
}

const EMPTY_XATTR: XAttrMap = Object.freeze({});

function readInodeInto(r: MsgpackReader, target: MutableInode): void {
  expectHeader(r, 'inode', INODE_FIELDS, INODE_VALUE_VERSION);
  target.inodeId = r.uint();
  target.fsId = u32(r.uint(), 'fsId');
  target.length = r.uint();
  target.ctime = r.uint();
  target.ctime_ns = u32(r.uint(), 'ctime_ns');
  target.mtime = r.uint();
  target.mtime_ns = u32(r.uint(), 'mtime_ns');
  target.atime = r.uint();
  target.atime_ns = u32(r.uint(), 'atime_ns');
  target.uid = u32(r.uint(), 'uid');
  target.gid = u32(r.uint(), 'gid');
  target.mode = u32(r.uint(), 'mode');
  target.nlink = u32(r.uint(), 'nlink');
  const type = r.uint();
  if (!isFsFileType(type)) throw new ValueFormatError('VALUE_BAD_SHAPE', `inode value has unknown type ${type}`);
  target.type = type;
  target.symlink = r.isNil() ? undefined : r.string();
  target.rdev = r.optionalUint();
  target.dtime = r.optionalUint();
  const openmp = r.optionalUint();
  target.openmpcount = openmp === undefined ? undefined : u32(openmp, 'openmpcount');
  let xattr: Record<string, Uint8Array> | undefined;
  for (let pairs = r.arrayHeader(); pairs > 0; pairs--) {
    if (r.arrayHeader() !== 2) throw new ValueFormatError('VALUE_BAD_SHAPE', 'inode xattr pair must be [string, bytes]');
    const name = r.string();
    (xattr ??= {})[name] = r.binary();
  }
  target.xattr = xattr ?? EMPTY_XATTR;
  const parent = target.parent;
  parent.length = 0;
  for (let count = r.arrayHeader(); count > 0; count--) parent.push(r.uint());
}

function writeDentry(value: DentryValue): MsgpackWriter {
  const w = writer.reset();
  w.arrayHeader(DENTRY_FIELDS);
  w.uint(DENTRY_VALUE_VERSION);
  w.uint(value.inodeId);
  w.optionalUint(value.type);
  w.optionalUint(value.flag);
  w.optionalUint(value.txId);
  w.optionalUint(value.txSequence);
  return w;
}

export function encodeDentryValue(value: DentryValue): Uint8Array {
  return writeDentry(value).finish();
}

/** {@link encodeDentryValue} without the copy: valid until the next encode. */
export function encodeDentryValueTransient(value: DentryValue): Uint8Array {
  return writeDentry(value).view();
}

export function decodeDentryValue(bytes: Uint8Array): DentryValue {
  return decodeWith(bytes, 'dentry', readDentry);
}

/** A dentry value filled in place (snapshot dumps and loads reuse one). */
export interface MutableDentryValue {
  inodeId: number;
  type: FsFileType | undefined;
  flag: number | undefined;
  txId: number | undefined;
  txSequence: number | undefined;
}

export function newMutableDentryValue(): MutableDentryValue {
  return { inodeId: 0, type: undefined, flag: undefined, txId: undefined, txSequence: undefined };
}

/** Most bytes of a dentry value: fixarray header, version, 5 optional uints. */
export const MAX_DENTRY_VALUE_BYTES = 1 + 1 + 5 * MAX_UINT_BYTES;

/** Writes {@link encodeDentryValue}'s bytes at `at` (the caller provides MAX_DENTRY_VALUE_BYTES of room); returns the offset after them. */
export function writeDentryValueAt(out: Uint8Array, at: number, value: DentryValue): number {
  out[at] = FIXARRAY | DENTRY_FIELDS;
  out[at + 1] = DENTRY_VALUE_VERSION;
  at = putUint(out, at + 2, value.inodeId);
  at = putOptionalUint(out, at, value.type);
  at = putOptionalUint(out, at, value.flag);
  at = putOptionalUint(out, at, value.txId);
  return putOptionalUint(out, at, value.txSequence);
}

/** Decodes the dentry value in `bytes[start, end)` into `target`, with {@link decodeDentryValue}'s checks. */
export function decodeDentryValueInto(bytes: Uint8Array, start: number, end: number, target: MutableDentryValue): void {
  const r = reader.resetRange(bytes, start, end);
  try {
    readDentryInto(r, target);
  } catch (error) {
    throw asValueError(error, 'dentry');
  }
  if (!r.atEnd) throw new ValueFormatError('VALUE_BAD_SHAPE', 'dentry value has trailing bytes');
}

function readDentry(r: MsgpackReader): DentryValue {
  const value = newMutableDentryValue();
  readDentryInto(r, value);
  return value;
}

function readDentryInto(r: MsgpackReader, target: MutableDentryValue): void {
  expectHeader(r, 'dentry', DENTRY_FIELDS, DENTRY_VALUE_VERSION);
  target.inodeId = r.uint();
  const type = r.optionalUint();
  if (type !== undefined && !isFsFileType(type)) throw new ValueFormatError('VALUE_BAD_SHAPE', `dentry value has unknown type ${type}`);
  target.type = type;
  const flag = r.optionalUint();
  target.flag = flag === undefined ? undefined : u32(flag, 'flag');
  target.txId = r.optionalUint();
  target.txSequence = r.optionalUint();
}

function asValueError(error: unknown, what: string): ValueFormatError {
  if (error instanceof ValueFormatError) return error;
  return new ValueFormatError('VALUE_UNDECODABLE', `${what} value: ${(error as Error).message}`, { cause: error });
}

function decodeWith<T>(bytes: Uint8Array, what: string, read: (r: MsgpackReader) => T): T {
  const r = reader.reset(bytes);
  let value: T;
  try {
    value = read(r);
  } catch (error) {
    throw asValueError(error, what);
  }
  if (!r.atEnd) throw new ValueFormatError('VALUE_BAD_SHAPE', `${what} value has trailing bytes`);
  return value;
}

function expectHeader(r: MsgpackReader, what: string, fields: number, version: number): void {
  const count = r.arrayHeader();
  if (count !== fields) throw new ValueFormatError('VALUE_BAD_SHAPE', `${what} value must be an array of ${fields} fields, has ${count}`);
  const found = r.uint();
  if (found !== version) throw new ValueFormatError('VALUE_BAD_VERSION', `${what} value has layout version ${found}, expected ${version}`);
}

function u32(value: number, what: string): number {
  if (value >= U32_LIMIT) throw new ValueFormatError('VALUE_BAD_SHAPE', `${what} must be a u32, got ${value}`);
  return value;
}

// ---------------------------------------------------------------------------------------
// Partition info (without the derived counts)

export function encodePartitionInfo(info: PartitionInfo): Uint8Array {
  return pack([
    PARTITION_VALUE_VERSION,
    info.fsId,
    info.poolId,
    info.copysetId,
    info.partitionId,
    info.start,
    info.end,
    info.txId ?? null,
    info.nextId ?? null,
    info.status,
    info.manageFlag ?? null,
  ]);
}

export function decodePartitionInfo(bytes: Uint8Array): PartitionInfo {
  const f = unpackArray(bytes, 'partition info', PARTITION_FIELDS, PARTITION_VALUE_VERSION);
  const status = f[9];
  if (!isPartitionStatus(status)) throw new ValueFormatError('VALUE_BAD_SHAPE', `partition info has unknown status ${String(status)}`);
  const manageFlag = f[10];
  if (manageFlag !== null && typeof manageFlag !== 'boolean') throw new ValueFormatError('VALUE_BAD_SHAPE', 'partition manageFlag must be a boolean');
  return {
    fsId: safeInteger(f[1], 'fsId'),
    poolId: safeInteger(f[2], 'poolId'),
    copysetId: safeInteger(f[3], 'copysetId'),
    partitionId: safeInteger(f[4], 'partitionId'),
    start: safeInteger(f[5], 'start'),
    end: safeInteger(f[6], 'end'),
    txId: optionalInteger(f[7], 'txId'),
    nextId: optionalInteger(f[8], 'nextId'),
    status,
    manageFlag: manageFlag === null ? undefined : manageFlag,
  };
}

// ---------------------------------------------------------------------------------------

function safeInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValueFormatError('VALUE_BAD_SHAPE', `${what} must be a non-negative safe integer, got ${String(value)}`);
  }
  return value;
}

function optionalInteger(value: unknown, what: string): number | undefined {
  return value === null ? undefined : safeInteger(value, what);
}


