/**
 * The leader-side executor of one copyset (architecture decision 2): turns each
 * MetaServerService request into an answer (reads) or into the SET/DEL records of one
 * log entry plus the answer to send once that entry is applied (writes). It validates,
 * decides ids and times, and never touches the network or Raft.
 *
 * The interface to the Raft host, in order of use:
 *
 *   const result = executor.execute('CreateInode', request);
 *   if (result.kind === 'read') reply(result.response);           // answered now
 *   else {
 *     try { index = raft.propose(result.batch); executor.onProposed(index); }
 *     catch { executor.onProposeFailed(); reply(REDIRECTED) }
 *     // once entry `index` is applied: reply(result.response) (appliedIndex = index)
 *   }
 *   // apply loop: store.applyEntry(index, data) or store.skipEntry(index); executor.onApplied(index)
 *   // on stepping down: executor.onLeadershipLost(), answer waiting writes REDIRECTED
 *
 * A write's effects join the leader view at once, so the next request sees them; the
 * host must bind them (onProposed / onProposeFailed) before the next execute. Reads are
 * answered from the applied maps; the host serves them only once it has confirmed its
 * leadership and applied up to the read point. OVERLOAD, COPYSET_NOTEXIST and REDIRECTED
 * are the host's and service's answers, before a request gets here.
 */
import { InvariantError, invariant } from '../raft/errors.ts';
import type { MetaStore } from '../metastore/metastore.ts';
import { encodeRecordBatch } from '../metastore/record-codec.ts';
import type { MetaRecord } from '../metastore/record-codec.ts';
import { PartitionStatus } from '../metastore/types.ts';
import type { Time } from '../metastore/types.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import { createDentry, deleteDentry, getDentry, listDentry } from './dentry-calls.ts';
import {
  batchGetInodeAttr,
  batchGetXAttr,
  createInode,
  createManageInode,
  createRootInode,
  deleteInode,
  getInode,
  updateInode,
} from './inode-calls.ts';
import { LeaderView } from './leader-view.ts';
import { createPartition, deletePartition, reclaimPartition } from './partition-calls.ts';
import { rename } from './rename-call.ts';
import type { DeleteInodeRequest, MetaMethod, RequestOf, ResponseOf } from './requests.ts';
import { MetaStatusCode } from './status.ts';

export type ExecuteResult<R> =
  | { readonly kind: 'read'; readonly response: R }
  | { readonly kind: 'write'; readonly batch: Uint8Array; readonly records: readonly MetaRecord[]; readonly response: R }
  /** A key is locked by the intent of tx `holder` (docs/transactions.md §9-10): run it again once that intent is gone. */
  | { readonly kind: 'blocked'; readonly holder: string };

/** The answer of a call that executed as a read (tests and benches; a blocked or write result is a bug there). */
export function responseOf<R>(result: ExecuteResult<R>): R {
  if (result.kind === 'blocked') throw new InvariantError(`the call is blocked by tx ${result.holder}`);
  return result.response;
}

export interface ExecutorOptions {
  /** The leader's clock, for requests that carry no time. Defaults to the system clock. */
  readonly clock?: () => Time;
}

type Handler = (context: CallContext, request: never) => CallOutcome<{ statusCode: MetaStatusCode; appliedIndex?: number }>;

const HANDLERS: Record<MetaMethod, Handler> = {
  GetDentry: getDentry,
  ListDentry: listDentry,
  CreateDentry: createDentry,
  DeleteDentry: deleteDentry,
  GetInode: getInode,
  CreateInode: createInode,
  CreateRootInode: createRootInode,
  CreateManageInode: createManageInode,
  UpdateInode: updateInode,
  DeleteInode: deleteInode,
  BatchGetInodeAttr: batchGetInodeAttr,
  BatchGetXAttr: batchGetXAttr,
  CreatePartition: createPartition,
  DeletePartition: deletePartition,
  Rename: rename,
  ReclaimPartition: reclaimPartition,
};

/** The empty answer of each method, for requests too malformed to reach their handler. */
function failedResponse(method: MetaMethod, statusCode: MetaStatusCode): { statusCode: MetaStatusCode } {
  switch (method) {
    case 'ListDentry':
      return { statusCode, dentrys: [] } as { statusCode: MetaStatusCode };
    case 'BatchGetInodeAttr':
      return { statusCode, attr: [] } as { statusCode: MetaStatusCode };
    case 'BatchGetXAttr':
      return { statusCode, xattr: [] } as { statusCode: MetaStatusCode };
    case 'ReclaimPartition':
      return { statusCode, deleted: 0 } as { statusCode: MetaStatusCode };
    default:
      return { statusCode };
  }
}

export function systemClock(): Time {
  const now = Date.now();
  return { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1_000_000 };
}

export class MetaExecutor {
  readonly view: LeaderView;
  private readonly context: CallContext;
  private unboundResponse: { appliedIndex?: number } | undefined;

  constructor(
    readonly store: MetaStore,
    options: ExecutorOptions = {},
  ) {
    this.view = new LeaderView(store);
    this.context = { store, view: this.view, clock: options.clock ?? systemClock };
  }

  execute<M extends MetaMethod>(method: M, request: RequestOf<M>): ExecuteResult<ResponseOf<M>> {
    invariant(this.unboundResponse === undefined, 'the previous write must be bound (onProposed/onProposeFailed) before the next execute');
    const handler = HANDLERS[method] as ((context: CallContext, request: RequestOf<M>) => CallOutcome<ResponseOf<M>>) | undefined;
    if (handler === undefined) return this.read(failedResponse(method, MetaStatusCode.PARAM_ERROR) as ResponseOf<M>);
    let outcome: CallOutcome<ResponseOf<M>>;
    try {
      if (typeof request !== 'object' || request === null) return this.read(failedResponse(method, MetaStatusCode.PARAM_ERROR) as ResponseOf<M>);
      outcome = handler(this.context, request);
    } catch (error) {
      // A bug stays a crash; anything else thrown came from a request of an unexpected shape.
      if (error instanceof InvariantError) throw error;
      return this.read(failedResponse(method, MetaStatusCode.PARAM_ERROR) as ResponseOf<M>);
    }
    return this.finish(outcome);
  }

  /**
   * Runs one call computed by `handler` (the cross-group tx calls of tx-calls.ts) with
   * the same contract as execute(): a write must be bound before the next execute.
   */
  executeCall<R extends { statusCode: MetaStatusCode; appliedIndex?: number }>(handler: (context: CallContext) => CallOutcome<R>): ExecuteResult<R> {
    invariant(this.unboundResponse === undefined, 'the previous write must be bound (onProposed/onProposeFailed) before the next execute');
    return this.finish(handler(this.context));
  }

  private finish<R>(outcome: CallOutcome<R>): ExecuteResult<R> {
    if (outcome.kind === 'read') return this.read(outcome.response);
    if (outcome.kind === 'blocked') return outcome;
    const records = outcome.builder.records();
    invariant(records.length > 0, 'a write changes at least one key');
    const batch = encodeRecordBatch(records);
    this.view.addUnbound(outcome.builder.effectList());
    this.unboundResponse = outcome.response as { appliedIndex?: number };
    return { kind: 'write', batch, records, response: outcome.response };
  }

  /** The last write became log entry `index`; its response will answer at that index. */
  onProposed(index: number): void {
    invariant(this.unboundResponse !== undefined, 'onProposed follows a write');
    this.view.bind(index);
    this.unboundResponse.appliedIndex = index;
    this.unboundResponse = undefined;
  }

  /** The last write could not be proposed: its effects leave the leader view. */
  onProposeFailed(): void {
    invariant(this.unboundResponse !== undefined, 'onProposeFailed follows a write');
    this.view.unbindFailed();
    this.unboundResponse = undefined;
  }

  /** Entries up to `index` are applied to the store. */
  onApplied(index: number): void {
    invariant(index <= this.store.appliedIndex, 'onApplied follows the store applying the entry');
    this.view.applied(index);
  }

  /** Stepping down (or a snapshot installed): the overlay is dropped. */
  onLeadershipLost(): void {
    this.view.clear();
    this.unboundResponse = undefined;
  }

  /**
   * DeleteInode requests for trash entries older than `keepSeconds`, skipping inodes
   * still open; the host runs them through execute() on a timer, as leader only.
   */
  expiredTrash(nowSeconds: number, keepSeconds: number, limit: number): DeleteInodeRequest[] {
    return this.store.expiredTrash(nowSeconds, keepSeconds, limit).map((entry) => {
      const info = this.store.partitionInfoRaw(entry.partitionId)!;
      return { poolId: info.poolId, copysetId: info.copysetId, partitionId: entry.partitionId, fsId: entry.fsId, inodeId: entry.inodeId };
    });
  }

  /** Partitions being deleted: the host runs ReclaimPartition on each until it answers deleted 0. */
  deletingPartitions(): number[] {
    return this.view.partitionIds().filter((id) => this.view.partition(id)?.status === PartitionStatus.DELETING);
  }

  private read<R>(response: R): ExecuteResult<R> {
    (response as { appliedIndex?: number }).appliedIndex = this.store.appliedIndex;
    return { kind: 'read', response };
  }
}
