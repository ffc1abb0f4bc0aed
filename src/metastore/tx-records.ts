/**
 * The replicated vocabulary of operations across Raft groups (docs/transactions.md §6):
 * what one group must check (conditions) and change (effects) for a tx, the intent a
 * secondary records while prepared, the record a coordinator writes at the commit point,
 * the locks an intent holds, and their msgpack codecs.
 *
 * Everything here is data plus pure functions: the executor applies parts, the
 * metastore derives locks from intents, the coordinator builds parts.
 */
import { Packr } from 'msgpackr';
import type { FsFileType, Inode, Time } from './types.ts';

/** A tx's name, chosen by the client: a random client id and a per-client sequence number. */
export interface TxId {
  readonly clientId: number;
  readonly seq: number;
}

/** One try of a tx by one coordinator leader: [home term, counter of that leader]; ordered lexicographically. */
export type Attempt = readonly [term: number, n: number];

export function compareAttempts(a: Attempt, b: Attempt): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** A map key for a tx id. */
export function txIdKey(txId: TxId): string {
  return `${txId.clientId}.${txId.seq}`;
}

/**
 * What a group checks before it prepares (secondary) or decides (home); a failed check
 * refuses the attempt. `inodeId: null` in a dentry condition means "the name is absent".
 */
export type TxCondition =
  | { readonly c: 'dentry'; readonly partitionId: number; readonly parent: number; readonly name: string; readonly inodeId: number | null }
  | { readonly c: 'inode'; readonly partitionId: number; readonly inodeId: number; readonly type: FsFileType | null; readonly linkable: boolean }
  | { readonly c: 'empty'; readonly partitionId: number; readonly inodeId: number }
  /** A directory that gains or loses a name: exists, is a directory, not unlinked (held as a delta). */
  | { readonly c: 'parent'; readonly partitionId: number; readonly inodeId: number }
  | { readonly c: 'dirmove'; readonly fsId: number };

/** The fields of an inode to create; the id is allocated by the group holding `partitionId`. */
export interface NewInodeSpec {
  readonly type: FsFileType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly length: number;
  readonly parent: number;
  readonly rdev?: number | undefined;
  readonly symlink?: string | undefined;
}

/** Marks the inode id of a putDentry that names the inode allocated in the same part. */
export const NEW_INODE = 0;

/**
 * A change to apply on commit, computed against the values current at that moment (so
 * deltas commute with concurrent single-group writes, §6).
 */
export type TxEffect =
  | { readonly e: 'putDentry'; readonly partitionId: number; readonly parent: number; readonly name: string; readonly inodeId: number; readonly type: FsFileType; readonly flag: number }
  | { readonly e: 'delDentry'; readonly partitionId: number; readonly parent: number; readonly name: string }
  | { readonly e: 'touchDir'; readonly partitionId: number; readonly inodeId: number; readonly nlinkDelta: number }
  | {
      readonly e: 'relink';
      readonly partitionId: number;
      readonly inodeId: number;
      readonly nlinkDelta: number;
      /** A directory losing its last name: nlink := 0. */
      readonly zero: boolean;
      readonly parentRemove: number | null;
      readonly parentAdd: number | null;
    }
  /** In a prepare request: allocate an id and create the inode. In an intent: replaced by newInode. */
  | { readonly e: 'allocInode'; readonly partitionId: number; readonly spec: NewInodeSpec }
  | { readonly e: 'newInode'; readonly partitionId: number; readonly inode: Inode };

/** One group's share of a tx. */
export interface TxPart {
  readonly time: Time;
  readonly conditions: readonly TxCondition[];
  readonly effects: readonly TxEffect[];
}

/**
 * The part a directory move prepares first at the anchor (§8): the fs-wide dirmove lock
 * and nothing else. Its tx holds no other intent of its attempt yet.
 */
export function isDirmoveLockOnly(part: TxPart): boolean {
  return part.effects.length === 0 && part.conditions.length > 0 && part.conditions.every((condition) => condition.c === 'dirmove');
}

/** The coordinator as an intent remembers it: its home partition's copyset and peers. */
export interface CoordinatorRef {
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  readonly peers: readonly string[];
}

/** A secondary's replicated record of a prepared part (§6). */
export interface TxIntent {
  readonly v: 1;
  readonly txId: TxId;
  readonly attempt: Attempt;
  /** The log index of the prepare entry: unique in its group, bound by the record on commit. */
  readonly stamp: number;
  readonly coordinator: CoordinatorRef;
  readonly fsId: number;
  readonly part: TxPart;
}

export interface TxParticipant {
  readonly poolId: number;
  readonly copysetId: number;
  readonly stamp: number;
  /** The group's peers when the tx ran: where Resolve goes after a restart. */
  readonly peers: readonly string[];
}

export type TxKind = 'rename' | 'link' | 'create' | 'unlink' | 'rmdir';

/** The coordinator's decision, written at the commit point; it exists iff the tx committed (§6). */
export interface TxRecord {
  readonly v: 1;
  readonly txId: TxId;
  readonly attempt: Attempt;
  readonly kind: TxKind;
  /** The home leader's wall clock at the decision; used only for retention. */
  readonly decidedAtMs: number;
  /** A digest of the request: a txId reused for another request is refused. */
  readonly digest: string;
  readonly participants: readonly TxParticipant[];
  readonly reply: { readonly statusCode: number; readonly inode?: Inode | undefined };
}

// ---------------------------------------------------------------------------------------
// Locks (§5), derived from intents; string keys so that one Map indexes them all.

/** name lock on one dentry. */
export const nameLock = (partitionId: number, parent: number, name: string): string => `n:${partitionId}:${parent}:${name}`;
/** Some name under this directory is locked (ListDentry waits on it; a seal conflicts). */
export const underLock = (partitionId: number, parent: number): string => `u:${partitionId}:${parent}`;
/** links lock: nlink / parent list of one inode. */
export const linksLock = (partitionId: number, inodeId: number): string => `l:${partitionId}:${inodeId}`;
/** seal: a directory being emptied for good. */
export const sealLock = (partitionId: number, inodeId: number): string => `s:${partitionId}:${inodeId}`;
/** delta: a parent's nlink ± and times (commutes with other deltas). */
export const deltaLock = (partitionId: number, inodeId: number): string => `d:${partitionId}:${inodeId}`;
/** The fs-wide directory-move lock (§8). */
export const dirmoveLock = (fsId: number): string => `m:${fsId}`;

/** Every lock a part holds while prepared. */
export function locksOfPart(part: TxPart): string[] {
  const locks = new Set<string>();
  for (const condition of part.conditions) {
    switch (condition.c) {
      case 'dentry':
        locks.add(nameLock(condition.partitionId, condition.parent, condition.name));
        locks.add(underLock(condition.partitionId, condition.parent));
        break;
      case 'inode':
        locks.add(linksLock(condition.partitionId, condition.inodeId));
        break;
      case 'empty':
        locks.add(sealLock(condition.partitionId, condition.inodeId));
        break;
      case 'parent':
        locks.add(deltaLock(condition.partitionId, condition.inodeId));
        break;
      case 'dirmove':
        locks.add(dirmoveLock(condition.fsId));
        break;
    }
  }
  for (const effect of part.effects) {
    switch (effect.e) {
      case 'putDentry':
      case 'delDentry':
        locks.add(nameLock(effect.partitionId, effect.parent, effect.name));
        locks.add(underLock(effect.partitionId, effect.parent));
        break;
      case 'touchDir':
        locks.add(deltaLock(effect.partitionId, effect.inodeId));
        break;
      case 'relink':
        locks.add(linksLock(effect.partitionId, effect.inodeId));
        break;
      case 'newInode':
        locks.add(linksLock(effect.partitionId, effect.inode.inodeId));
        break;
      case 'allocInode':
        break; // the id does not exist before the entry that allocates it
    }
  }
  return [...locks];
}

/**
 * The lock keys that conflict with holding `lock` (§5's table): names and links are
 * exclusive, deltas commute with deltas, a seal excludes everything on the directory
 * and every name under it.
 */
export function conflictingLocks(lock: string): string[] {
  const kind = lock[0];
  const rest = lock.slice(2);
  switch (kind) {
    case 'n':
    case 'm':
      return [lock];
    case 'l':
      return [lock, `d:${rest}`, `s:${rest}`];
    case 'd':
      return [`l:${rest}`, `s:${rest}`];
    case 's':
      return [lock, `l:${rest}`, `d:${rest}`, `u:${rest}`];
    case 'u':
      return [`s:${rest}`];
    default:
      throw new TxFormatError('TX_BAD_LOCK', `unknown lock kind in ${lock}`);
  }
}

// ---------------------------------------------------------------------------------------
// Codecs

export type TxFormatErrorCode = 'TX_UNDECODABLE' | 'TX_BAD_VERSION' | 'TX_BAD_SHAPE' | 'TX_BAD_LOCK';

/** A part, intent or record that is not one this code wrote. */
export class TxFormatError extends Error {
  readonly code: TxFormatErrorCode;
  constructor(code: TxFormatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TxFormatError';
    this.code = code;
  }
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encodeTx(value: TxPart | TxIntent | TxRecord): Uint8Array {
  return packr.pack(value);
}

function unpack(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (error) {
    throw new TxFormatError('TX_UNDECODABLE', `${what} does not decode: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TxFormatError('TX_BAD_SHAPE', `${what} is not a map`);
  return value as Record<string, unknown>;
}

function checkVersion(value: Record<string, unknown>, what: string): void {
  if (value.v !== 1) throw new TxFormatError('TX_BAD_VERSION', `${what} has version ${String(value.v)}, this code reads 1`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A part from a Prepare request (outside input): shape-checked; field values are checked by the executor. */
export function decodePart(bytes: Uint8Array): TxPart {
  const value = unpack(bytes, 'tx part');
  if (!isObject(value.time) || !Array.isArray(value.conditions) || !Array.isArray(value.effects)) {
    throw new TxFormatError('TX_BAD_SHAPE', 'tx part needs time, conditions and effects');
  }
  for (const condition of value.conditions) {
    if (!isObject(condition) || !['dentry', 'inode', 'empty', 'parent', 'dirmove'].includes(condition.c as string)) throw new TxFormatError('TX_BAD_SHAPE', 'unknown tx condition');
  }
  for (const effect of value.effects) {
    if (!isObject(effect) || !['putDentry', 'delDentry', 'touchDir', 'relink', 'allocInode'].includes(effect.e as string)) {
      throw new TxFormatError('TX_BAD_SHAPE', 'unknown tx effect (or newInode, which only an intent holds)');
    }
  }
  return value as unknown as TxPart;
}

export function decodeIntent(bytes: Uint8Array): TxIntent {
  const value = unpack(bytes, 'tx intent');
  checkVersion(value, 'tx intent');
  if (!isObject(value.txId) || !Array.isArray(value.attempt) || !isCount(value.stamp) || !isObject(value.coordinator) || !isObject(value.part)) {
    throw new TxFormatError('TX_BAD_SHAPE', 'tx intent lacks txId, attempt, stamp, coordinator or part');
  }
  return value as unknown as TxIntent;
}

export function decodeRecord(bytes: Uint8Array): TxRecord {
  const value = unpack(bytes, 'tx record');
  checkVersion(value, 'tx record');
  if (!isObject(value.txId) || !Array.isArray(value.attempt) || !Array.isArray(value.participants) || !isObject(value.reply)) {
    throw new TxFormatError('TX_BAD_SHAPE', 'tx record lacks txId, attempt, participants or reply');
  }
  return value as unknown as TxRecord;
}

// ---------------------------------------------------------------------------------------
// Keys inside table 0x05 (after tag and partition id): sub-kind, clientId u64, seq u64.

export const TX_SUBKIND = { record: 0x01, intent: 0x02 } as const;
export type TxSubkind = keyof typeof TX_SUBKIND;
const TX_KEY_BYTES = 17;

export function txKeyBytes(kind: TxSubkind, txId: TxId): Uint8Array {
  const bytes = Buffer.allocUnsafe(TX_KEY_BYTES);
  bytes[0] = TX_SUBKIND[kind];
  writeU64(bytes, 1, txId.clientId);
  writeU64(bytes, 9, txId.seq);
  return bytes;
}

export function parseTxKeyBytes(bytes: Uint8Array): { kind: TxSubkind; txId: TxId } | undefined {
  if (bytes.length !== TX_KEY_BYTES) return undefined;
  const kind = bytes[0] === TX_SUBKIND.record ? 'record' : bytes[0] === TX_SUBKIND.intent ? 'intent' : undefined;
  if (kind === undefined) return undefined;
  return { kind, txId: { clientId: readU64(bytes, 1), seq: readU64(bytes, 9) } };
}

function writeU64(bytes: Uint8Array, at: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

function readU64(bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}
