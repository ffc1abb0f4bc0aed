/**
 * Checks of request input at the gate, and the limits they enforce. Each returns a
 * boolean; the executor turns a false into PARAM_ERROR (or the matching status).
 */
import type { Time, XAttrMap } from '../metastore/types.ts';

/** A name is one path component: Linux's NAME_MAX. */
export const MAX_NAME_BYTES = 255;
/** A symlink target: Linux's PATH_MAX. */
export const MAX_SYMLINK_BYTES = 4096;
/** An xattr name: Linux's XATTR_NAME_MAX. */
export const MAX_XATTR_NAME_BYTES = 255;
/** One xattr value: Linux's XATTR_SIZE_MAX. */
export const MAX_XATTR_VALUE_BYTES = 64 * 1024;
/** All xattrs of one inode together: keeps an inode value (and a log entry) small; CurveFS's OOM lesson. */
export const MAX_XATTR_TOTAL_BYTES = 64 * 1024;
/** Entries in an inode's parent list (hard links tracked by parent). */
export const MAX_INODE_PARENTS = 4096;
/** Ids in one BatchGetInodeAttr / BatchGetXAttr request: bounds a response's size. */
export const MAX_BATCH_GET_IDS = 10_000;
/** Records deleted per background step of a DELETING partition: keeps one log entry small. */
export const DEFAULT_RECLAIM_RECORDS = 1_000;
export const MAX_RECLAIM_RECORDS = 10_000;

const U32_LIMIT = 0x1_0000_0000;
const SLASH = 0x2f;
const NUL = 0;
const ASCII_LIMIT = 0x80;
const NANOSECONDS_PER_SECOND = 1_000_000_000;

export function isU32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < U32_LIMIT;
}

/** A u64 field as metaraft keeps it: a non-negative safe integer. */
export function isU64(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isOptionalU32(value: unknown): boolean {
  return value === undefined || value === null || isU32(value);
}

export function isOptionalU64(value: unknown): boolean {
  return value === undefined || value === null || isU64(value);
}

export function isTime(value: unknown): value is Time {
  if (typeof value !== 'object' || value === null) return false;
  const { sec, nsec } = value as Time;
  return isU64(sec) && typeof nsec === 'number' && Number.isInteger(nsec) && nsec >= 0 && nsec < NANOSECONDS_PER_SECOND;
}

/** A legal path component: not "." or "..", non-empty, well-formed, at most MAX_NAME_BYTES of UTF-8, no '/' or NUL. */
export function isValidName(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_BYTES) return false;
  // POSIX: "." and ".." name the directory and its parent; they are never entries.
  if (name === '.' || name === '..') return false;
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit === SLASH || unit === NUL) return false;
    if (unit >= ASCII_LIMIT) ascii = false;
  }
  // ASCII is one byte per unit and always well-formed: the common case needs no encoding.
  return ascii || isWellFormedWithin(name, MAX_NAME_BYTES);
}

/** A symlink target: non-empty, well-formed, at most MAX_SYMLINK_BYTES of UTF-8, no NUL (readlink returns a C string). */
export function isValidSymlink(target: unknown): target is string {
  return typeof target === 'string' && target.length > 0 && !target.includes('\0') && isWellFormedWithin(target, MAX_SYMLINK_BYTES);
}

/**
 * Well-formed UTF-16 (no lone surrogate, which UTF-8 cannot carry: the key would hold
 * U+FFFD and replicas would store another name than the leader saw), within `maxBytes`.
 */
function isWellFormedWithin(text: string, maxBytes: number): boolean {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= maxBytes && bytes.toString('utf8') === text;
}

export function isValidXattr(xattr: unknown): xattr is XAttrMap {
  if (typeof xattr !== 'object' || xattr === null || Array.isArray(xattr)) return false;
  let total = 0;
  for (const [name, value] of Object.entries(xattr)) {
    if (name.length === 0 || !isWellFormedWithin(name, MAX_XATTR_NAME_BYTES)) return false;
    if (!(value instanceof Uint8Array) || value.length > MAX_XATTR_VALUE_BYTES) return false;
    total += Buffer.byteLength(name) + value.length;
    if (total > MAX_XATTR_TOTAL_BYTES) return false;
  }
  return true;
}

export function isIdList(value: unknown, maxLength: number): value is readonly number[] {
  return Array.isArray(value) && value.length <= maxLength && value.every(isU64);
}
