/**
 * The log entries of operations across Raft groups (docs/transactions.md §7), computed
 * against the leader view like every other write:
 *
 * - prepare (a secondary): validate the group's part, refuse on a conflicting lock
 *   (no-wait, §5), allocate a new inode's id, and SET the intent;
 * - decide (the home group): validate the home part, apply its effects and SET the
 *   record, in one entry: the tx's commit point;
 * - resolve (a secondary): commit — apply the intent's effects and DEL it; abort — DEL it;
 * - forget (the home group): DEL records nobody needs any more.
 *
 * Effects are computed against the values current when they are applied, so parent
 * deltas commute with single-group writes that ran meanwhile.
 */
import { FsFileType } from '../metastore/types.ts';
import type { Inode, Time } from '../metastore/types.ts';
import { DentryFlag } from '../proto/metaserver-types.ts';
import { NEW_INODE, compareAttempts, conflictingLocks, isDirmoveLockOnly, locksOfPart, txIdKey } from '../metastore/tx-records.ts';
import type { Attempt, TxCondition, TxEffect, TxId, TxIntent, TxPart, TxRecord } from '../metastore/tx-records.ts';
import { answer, blocked, checkPartition, newBuilder, write } from './call-context.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import { advancePastInode, inodeAllocationRefusal, newInode, nextInodeIdOf } from './inode-calls.ts';
import { MetaStatusCode } from './status.ts';
import { isTime, isU32, isU64, isValidName, isValidSymlink } from './validate.ts';
import type { WriteBuilder } from './write-builder.ts';

export interface TxAnswer {
  statusCode: MetaStatusCode;
  appliedIndex?: number;
  stamp?: number;
  inode?: Inode;
}

/** The intent to record, as asked (`stamp`: the log index the prepare entry will get). */
export type PrepareCall = Omit<TxIntent, 'v'>;

/** Validates a part (outside input) and prepares it: one entry SETting the intent. */
export function txPrepare(context: CallContext, call: PrepareCall): CallOutcome<TxAnswer> {
  if (!isValidPart(call.part) || !isU32(call.fsId)) return answer({ statusCode: MetaStatusCode.PARAM_ERROR });
  const key = txIdKey(call.txId);
  const existing = context.view.intent(key);
  if (existing !== undefined) {
    const order = compareAttempts(existing.intent.attempt, call.attempt);
    if (order > 0) return answer({ statusCode: MetaStatusCode.TX_MISMATCH });
    if (order === 0) {
      // A repeated Prepare: PREPARED only once the intent's entry is applied (a lost entry must not be bound).
      const applied = context.store.tx.intent(key);
      if (applied === undefined || applied.intent.stamp !== existing.intent.stamp) return answer({ statusCode: MetaStatusCode.OVERLOAD });
      return answer({ statusCode: MetaStatusCode.OK, stamp: existing.intent.stamp, ...createdInode(existing.intent.part) });
    }
    // An earlier attempt's intent: replaced by this one in the same key.
  }
  if (isDirmoveLockOnly(call.part)) {
    // The one prepare that waits (§8 as built): it is its attempt's first step and holds
    // nothing, so waiting closes no cycle; the copyset wakes it when the holder's intent goes.
    const holder = context.view.lockHolder(locksOfPart(call.part).flatMap(conflictingLocks), key);
    if (holder !== undefined) return blocked(holder);
  }
  const builder = newBuilder(context);
  const refused = checkPart(context, builder, call.fsId, call.part, key);
  if (refused !== undefined) return answer({ statusCode: refused });
  const effects: TxEffect[] = [];
  for (const effect of call.part.effects) {
    if (effect.e !== 'allocInode') {
      effects.push(effect);
      continue;
    }
    const allocated = allocateInode(builder, call.fsId, effect.partitionId, effect.spec, call.part.time);
    if (typeof allocated === 'number') return answer({ statusCode: allocated });
    effects.push({ e: 'newInode', partitionId: effect.partitionId, inode: allocated });
  }
  const part: TxPart = { time: call.part.time, conditions: call.part.conditions, effects };
  const intent: TxIntent = { v: 1, txId: call.txId, attempt: call.attempt, stamp: call.stamp, coordinator: call.coordinator, fsId: call.fsId, part };
  builder.putIntent(existing?.partitionId ?? firstPartition(part), intent);
  return write(builder, { statusCode: MetaStatusCode.OK, stamp: call.stamp, ...createdInode(part) });
}

export interface DecideCall {
  readonly txId: TxId;
  readonly attempt: Attempt;
  readonly fsId: number;
  readonly homePartitionId: number;
  readonly part: TxPart;
  /** The record to write; its reply gets the created inode when the home part creates one. */
  readonly record: TxRecord;
}

/** The commit point: validates the home part, applies it and SETs the record, in one entry. */
export function txDecide(context: CallContext, call: DecideCall): CallOutcome<TxAnswer> {
  const key = txIdKey(call.txId);
  const recorded = context.view.record(key);
  if (recorded !== undefined) {
    const { statusCode, inode } = recorded.record.reply;
    return answer<TxAnswer>({ statusCode: statusCode as MetaStatusCode, ...(inode === undefined ? {} : { inode }) });
  }
  if (!isValidPart(call.part) || !isU32(call.fsId)) return answer({ statusCode: MetaStatusCode.PARAM_ERROR });
  const builder = newBuilder(context);
  const refused = checkPart(context, builder, call.fsId, call.part, key);
  if (refused !== undefined) return answer({ statusCode: refused });
  const created = applyEffects(builder, call.fsId, call.part);
  if (typeof created === 'number') return answer({ statusCode: created });
  const inode = created ?? call.record.reply.inode;
  const reply = { statusCode: MetaStatusCode.OK, ...(inode === undefined ? {} : { inode }) };
  builder.putRecord(call.homePartitionId, { ...call.record, reply });
  return write(builder, { ...reply });
}

export interface ResolveCall {
  readonly txId: TxId;
  readonly commit: boolean;
  /** Commit: the stamp the record binds. Abort: drop only the intent with this stamp. */
  readonly stamp?: number | undefined;
  /** Abort by the coordinator: drop the intent if its attempt is not later. */
  readonly attempt?: Attempt | undefined;
}

/** Applies (commit) or drops (abort) an intent; anything else is already done (OK, nothing written). */
export function txResolve(context: CallContext, call: ResolveCall): CallOutcome<TxAnswer> {
  const found = context.view.intent(txIdKey(call.txId));
  const done = answer<TxAnswer>({ statusCode: MetaStatusCode.OK });
  if (found === undefined) return done;
  const { intent, partitionId } = found;
  const builder = newBuilder(context);
  if (call.commit) {
    if (call.stamp !== intent.stamp) return done; // an orphan: another stamp is bound, or none
    const created = applyEffects(builder, intent.fsId, intent.part);
    // Checked at prepare and locked since: a failure here is a bug.
    if (typeof created === 'number') throw new Error(`resolve of tx ${txIdKey(call.txId)}: effects failed with status ${created}`);
  } else {
    const byStamp = call.stamp !== undefined && call.stamp === intent.stamp;
    const byAttempt = call.attempt !== undefined && compareAttempts(intent.attempt, call.attempt) <= 0;
    if (!byStamp && !byAttempt) return done;
  }
  builder.deleteIntent(partitionId, intent.txId);
  return write(builder, { statusCode: MetaStatusCode.OK });
}

/** Deletes the records of txs that are over (every participant resolved; the client acknowledged or retention passed). */
export function txForget(context: CallContext, txIds: readonly TxId[]): CallOutcome<TxAnswer> {
  const builder = newBuilder(context);
  for (const txId of txIds) {
    const found = context.view.record(txIdKey(txId));
    if (found !== undefined) builder.deleteRecord(found.partitionId, txId);
  }
  if (builder.size === 0) return answer({ statusCode: MetaStatusCode.OK });
  return write(builder, { statusCode: MetaStatusCode.OK });
}

// ---------------------------------------------------------------------------------------

/** Partitions, locks (no-wait: TX_KEY_LOCKED) and conditions (TX_MISMATCH, or the POSIX status). */
function checkPart(context: CallContext, builder: WriteBuilder, fsId: number, part: TxPart, ownTx: string): MetaStatusCode | undefined {
  for (const partitionId of partitionsOf(part)) {
    const failed = checkPartition(builder.partition(partitionId), fsId);
    if (failed !== undefined) return failed;
  }
  const locks = locksOfPart(part).flatMap(conflictingLocks);
  if (context.view.lockHolder(locks, ownTx) !== undefined) return MetaStatusCode.TX_KEY_LOCKED;
  for (const condition of part.conditions) {
    const failed = checkCondition(context, builder, condition);
    if (failed !== undefined) return failed;
  }
  return undefined;
}

function checkCondition(context: CallContext, builder: WriteBuilder, condition: TxCondition): MetaStatusCode | undefined {
  switch (condition.c) {
    case 'dentry': {
      const dentry = builder.dentry(condition.partitionId, condition.parent, condition.name);
      return (dentry?.inodeId ?? null) === condition.inodeId ? undefined : MetaStatusCode.TX_MISMATCH;
    }
    case 'inode': {
      const inode = builder.inode(condition.partitionId, condition.inodeId);
      if (inode === undefined) return MetaStatusCode.TX_MISMATCH;
      if (condition.type !== null && inode.type !== condition.type) return MetaStatusCode.TX_MISMATCH;
      if (condition.linkable && (inode.nlink === 0 || inode.type === FsFileType.TYPE_DIRECTORY)) return MetaStatusCode.TX_MISMATCH;
      return undefined;
    }
    case 'empty':
      return context.view.childCount(condition.partitionId, condition.inodeId) > 0 ? MetaStatusCode.TARGET_DIRECTORY_EXIST : undefined;
    case 'parent': {
      // POSIX: a missing (or removed) parent is ENOENT, a non-directory ENOTDIR.
      const inode = builder.inode(condition.partitionId, condition.inodeId);
      if (inode === undefined || inode.nlink === 0) return MetaStatusCode.NOT_FOUND;
      return inode.type === FsFileType.TYPE_DIRECTORY ? undefined : MetaStatusCode.PARAM_ERROR;
    }
    case 'dirmove':
      return undefined; // a lock only
  }
}

/** Applies effects in order; returns the inode allocated here (if any) or a failing status. */
function applyEffects(builder: WriteBuilder, fsId: number, part: TxPart): Inode | undefined | MetaStatusCode {
  const time = part.time;
  let created: Inode | undefined;
  for (const effect of part.effects) {
    switch (effect.e) {
      case 'putDentry': {
        const inodeId = effect.inodeId === NEW_INODE ? created?.inodeId : effect.inodeId;
        if (inodeId === undefined) return MetaStatusCode.PARAM_ERROR;
        builder.putDentry(effect.partitionId, { fsId, parentInodeId: effect.parent, name: effect.name, inodeId, type: effect.type, flag: effect.flag });
        break;
      }
      case 'delDentry':
        builder.deleteDentry(effect.partitionId, fsId, effect.parent, effect.name);
        break;
      case 'touchDir': {
        const inode = builder.inode(effect.partitionId, effect.inodeId);
        if (inode !== undefined) builder.putInode(effect.partitionId, touched(inode, effect.nlinkDelta, time));
        break;
      }
      case 'relink': {
        const inode = builder.inode(effect.partitionId, effect.inodeId);
        if (inode !== undefined) builder.putInode(effect.partitionId, relinked(inode, effect, time));
        break;
      }
      case 'allocInode': {
        const allocated = allocateInode(builder, fsId, effect.partitionId, effect.spec, time);
        if (typeof allocated === 'number') return allocated;
        builder.putInode(effect.partitionId, allocated);
        created = allocated;
        break;
      }
      case 'newInode':
        builder.putInode(effect.partitionId, effect.inode);
        created = effect.inode;
        break;
    }
  }
  return created;
}

/** A parent's nlink ± and times; times never go backwards (a later single-group write may have set them). */
function touched(inode: Inode, nlinkDelta: number, time: Time): Inode {
  const later = isLater(time, inode.mtime, inode.mtime_ns);
  const ctimeLater = isLater(time, inode.ctime, inode.ctime_ns);
  return {
    ...inode,
    nlink: Math.max(0, inode.nlink + nlinkDelta),
    mtime: later ? time.sec : inode.mtime,
    mtime_ns: later ? time.nsec : inode.mtime_ns,
    ctime: ctimeLater ? time.sec : inode.ctime,
    ctime_ns: ctimeLater ? time.nsec : inode.ctime_ns,
  };
}

function relinked(inode: Inode, effect: TxEffect & { e: 'relink' }, time: Time): Inode {
  const nlink = effect.zero ? 0 : Math.max(0, inode.nlink + effect.nlinkDelta);
  const parent = [...inode.parent];
  if (effect.parentRemove !== null) {
    const at = parent.indexOf(effect.parentRemove);
    if (at >= 0) parent.splice(at, 1);
  }
  if (effect.parentAdd !== null) parent.push(effect.parentAdd);
  const ctimeLater = isLater(time, inode.ctime, inode.ctime_ns);
  // nlink reaching 0 starts the trash clock (curve-facts.md, "Deleting files").
  const dtime = inode.nlink !== 0 && nlink === 0 ? time.sec : inode.dtime;
  return { ...inode, nlink, parent, dtime, ctime: ctimeLater ? time.sec : inode.ctime, ctime_ns: ctimeLater ? time.nsec : inode.ctime_ns };
}

function isLater(time: Time, sec: number, nsec: number): boolean {
  return time.sec > sec || (time.sec === sec && time.nsec >= nsec);
}

/** Allocates the partition's next id and builds the inode (as CreateInode does); a status when it cannot. */
function allocateInode(builder: WriteBuilder, fsId: number, partitionId: number, spec: TxEffect & { e: 'allocInode' } extends { spec: infer S } ? S : never, time: Time): Inode | MetaStatusCode {
  const info = builder.partition(partitionId);
  const failed = checkPartition(info, fsId);
  if (failed !== undefined) return failed;
  const refused = inodeAllocationRefusal(builder, info!);
  if (refused !== undefined) return refused;
  const nextId = nextInodeIdOf(info!);
  const inode = newInode({
    inodeId: nextId,
    fsId,
    type: spec.type,
    uid: spec.uid,
    gid: spec.gid,
    mode: spec.mode,
    length: spec.length,
    parent: [spec.parent],
    rdev: spec.rdev ?? undefined,
    symlink: spec.symlink ?? undefined,
    time,
  });
  advancePastInode(builder, info!, nextId);
  return inode;
}

function createdInode(part: TxPart): { inode?: Inode } {
  for (const effect of part.effects) if (effect.e === 'newInode') return { inode: effect.inode };
  return {};
}

function partitionsOf(part: TxPart): number[] {
  const ids = new Set<number>();
  for (const condition of part.conditions) if (condition.c !== 'dirmove') ids.add(condition.partitionId);
  for (const effect of part.effects) ids.add(effect.partitionId);
  return [...ids];
}

function firstPartition(part: TxPart): number {
  const ids = partitionsOf(part);
  return ids.length === 0 ? 0 : Math.min(...ids);
}

/** The dentry flag CurveFS gives an entry of this type. */
export function dentryFlagOf(type: FsFileType): number {
  return type === FsFileType.TYPE_DIRECTORY ? 0 : DentryFlag.TYPE_FILE_FLAG;
}

/** A part from another metaserver: every id, name and time well-formed. */
function isValidPart(part: TxPart): boolean {
  if (!isTime(part.time)) return false;
  for (const condition of part.conditions) {
    if (condition.c === 'dirmove') {
      if (!isU32(condition.fsId)) return false;
      continue;
    }
    if (!isU32(condition.partitionId)) return false;
    if (condition.c === 'dentry' && (!isU64(condition.parent) || !isValidName(condition.name) || (condition.inodeId !== null && !isU64(condition.inodeId)))) return false;
    if ((condition.c === 'inode' || condition.c === 'empty' || condition.c === 'parent') && !isU64(condition.inodeId)) return false;
  }
  for (const effect of part.effects) {
    if (!isU32(effect.partitionId)) return false;
    switch (effect.e) {
      case 'putDentry':
        if (!isU64(effect.parent) || !isValidName(effect.name) || !isU64(effect.inodeId) || !isU32(effect.flag)) return false;
        break;
      case 'delDentry':
        if (!isU64(effect.parent) || !isValidName(effect.name)) return false;
        break;
      case 'touchDir':
        if (!isU64(effect.inodeId) || ![-1, 0, 1].includes(effect.nlinkDelta)) return false;
        break;
      case 'relink':
        if (!isU64(effect.inodeId) || ![-1, 0, 1].includes(effect.nlinkDelta) || typeof effect.zero !== 'boolean') return false;
        break;
      case 'allocInode': {
        const spec = effect.spec;
        if (typeof spec !== 'object' || spec === null || !isU32(spec.mode) || !isU32(spec.uid) || !isU32(spec.gid) || !isU64(spec.length) || !isU64(spec.parent)) return false;
        if (spec.symlink !== undefined && spec.symlink !== null && !isValidSymlink(spec.symlink)) return false;
        break;
      }
      case 'newInode':
        return false;
    }
  }
  return true;
}
