/**
 * What every call handler gets and returns, and the routing checks they share
 * (docs/wire.md, in this order: PARTITION_NOT_FOUND, PARTITION_ID_MISSMATCH,
 * PARTITION_DELETING).
 */
import type { MetaStore } from '../metastore/metastore.ts';
import { PartitionStatus } from '../metastore/types.ts';
import type { PartitionInfo, Time } from '../metastore/types.ts';
import type { LeaderView } from './leader-view.ts';
import { MetaStatusCode } from './status.ts';
import { isTime } from './validate.ts';
import { WriteBuilder } from './write-builder.ts';

export interface CallContext {
  readonly store: MetaStore;
  readonly view: LeaderView;
  /** The leader's clock (injected), used when a request carries no time. */
  readonly clock: () => Time;
}

/**
 * A handler's outcome: an answer now, effects to propose and the answer to send once
 * applied, or blocked: a key the call needs is locked by the intent of tx `holder`
 * (docs/transactions.md §9-10); the host waits for that intent to go and runs it again.
 */
export type CallOutcome<R> =
  | { readonly kind: 'read'; readonly response: R }
  | { readonly kind: 'write'; readonly builder: WriteBuilder; readonly response: R }
  | { readonly kind: 'blocked'; readonly holder: string };

export function blocked(holder: string): { readonly kind: 'blocked'; readonly holder: string } {
  return { kind: 'blocked', holder };
}

/** True when some intent may lock a key: applied intents for a read, the leader view's for a write. */
export function anyIntent(context: CallContext, forWrite: boolean): boolean {
  return context.store.tx.intentCount > 0 || (forWrite && context.view.hasOverlayIntents);
}

/**
 * The tx whose intent holds one of the locks `locks()` names, for a read (applied
 * intents: a read is served from the applied state) or a write (the leader view:
 * proposed intents too). The lock keys are built only when some intent exists: the
 * common case costs two integer tests.
 */
export function lockedBy(context: CallContext, forWrite: boolean, locks: () => readonly string[]): string | undefined {
  if (!anyIntent(context, forWrite)) return undefined;
  return forWrite ? context.view.lockHolder(locks()) : context.store.tx.holderOf(locks());
}

export function answer<R>(response: R): CallOutcome<R> {
  return { kind: 'read', response };
}

export function write<R>(builder: WriteBuilder, response: R): CallOutcome<R> {
  return { kind: 'write', builder, response };
}

export function status(statusCode: MetaStatusCode): CallOutcome<{ statusCode: MetaStatusCode }> {
  return { kind: 'read', response: { statusCode } };
}

/**
 * The routing checks for a partition: exists, same file system, `id` (when given)
 * inside [start, end], not being deleted. Returns the failing status or undefined.
 */
export function checkPartition(info: PartitionInfo | undefined, fsId: number, id?: number): MetaStatusCode | undefined {
  if (info === undefined) return MetaStatusCode.PARTITION_NOT_FOUND;
  if (info.fsId !== fsId) return MetaStatusCode.PARTITION_ID_MISSMATCH;
  if (id !== undefined && (id < info.start || id > info.end)) return MetaStatusCode.PARTITION_ID_MISSMATCH;
  if (info.status === PartitionStatus.DELETING) return MetaStatusCode.PARTITION_DELETING;
  return undefined;
}

export function inRange(info: PartitionInfo, id: number): boolean {
  return id >= info.start && id <= info.end;
}

/** The request's time when it carries a valid one, else the leader's clock (never a replica's). */
export function timeOf(context: CallContext, requestTime: unknown): Time {
  return isTime(requestTime) ? requestTime : context.clock();
}

export function newBuilder(context: CallContext): WriteBuilder {
  return new WriteBuilder(context.view);
}
