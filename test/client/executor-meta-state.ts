/**
 * A fake copyset's state backed by metaraft's own executor and metastore (no Raft: each
 * write is "proposed" at the next index and applied at once, as the executor's own test
 * harness does). It converts between the wire shapes (maps as Map) and the executor's
 * (maps as records).
 *
 * TxService is served by the real coordinator (TxManager) through the real service gate
 * (serveTx), over a stand-in for the CopysetNode surface the coordinator uses: this
 * replica leads for ever in term 1, and a call's write is applied at the next index at
 * once. Every key of a file system held by this one copyset is home, so the coordinator
 * never reaches another copyset: its remote refuses every call.
 */

import type { CallContext, CallOutcome } from '../../src/executor/call-context.ts';
import { MetaExecutor, type ExecuteResult } from '../../src/executor/executor.ts';
import type { MetaMethod } from '../../src/executor/requests.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import type { PartitionInfo, Time } from '../../src/proto/index.ts';
import type { CopysetNode, ProposalSlot } from '../../src/server/copyset-node.ts';
import type { ServiceBackend } from '../../src/service/service-backend.ts';
import { serveTx } from '../../src/service/tx-service.ts';
import { TxManager } from '../../src/tx/tx-manager.ts';
import type { TxRemote } from '../../src/tx/tx-remote.ts';
import type { MetaStateBackend, TxAnswer } from './fake-cluster.ts';

/** The one term this fake copyset's leader ever has. */
const TERM = 1;

export class ExecutorMetaState implements MetaStateBackend {
  readonly store = new MetaStore();
  readonly executor: MetaExecutor;
  /** The real coordinator, serving TxService for this copyset. */
  readonly tx: TxManager;
  private lastIndex = 0;

  constructor(now: Time = { sec: 1_800_000_000, nsec: 0 }) {
    this.executor = new MetaExecutor(this.store, { clock: () => now });
    const node = this.copysetNode();
    this.tx = new TxManager({ copyset: () => node, remote: refusingRemote(), clock: () => now });
  }

  /** One TxService call (`method` as in the service: Link, Unlink...), through the service's gate. */
  handleTx(method: string, request: Record<string, any>): Promise<TxAnswer> {
    const backend = { tx: this.tx, tryAdmit: () => true, release: () => undefined } as unknown as ServiceBackend;
    return serveTx(backend, method as Parameters<typeof serveTx>[1], { ok: true, value: request });
  }

  get appliedIndex(): number {
    return this.store.appliedIndex;
  }

  addPartition(info: PartitionInfo): void {
    const answer = this.handle('CreatePartition', { partition: info });
    if (answer.statusCode !== 0) throw new Error(`CreatePartition failed: ${answer.statusCode}`);
  }

  handle(method: string, request: Record<string, any>): { statusCode: number; [field: string]: unknown } {
    const result = this.executor.execute(method as MetaMethod, toExecutor(request) as never);
    this.applyAtOnce(result);
    return toWire(result.response) as { statusCode: number };
  }

  /** A write is proposed at the next index and applied there at once; a read changes nothing. */
  private applyAtOnce<R>(result: ExecuteResult<R>): asserts result is Exclude<ExecuteResult<R>, { kind: 'blocked' }> {
    // One copyset, no other coordinator: no intent can ever be applied here.
    if (result.kind === 'blocked') throw new Error(`blocked by tx ${result.holder}: this fake has no intents`);
    if (result.kind === 'write') {
      this.lastIndex++;
      this.executor.onProposed(this.lastIndex);
      this.store.applyEntry(this.lastIndex, result.batch);
      this.executor.onApplied(this.lastIndex);
    }
  }

  /** What TxManager uses of a CopysetNode: a ready, confirmed leader in TERM whose calls apply at once. */
  private copysetNode(): CopysetNode {
    const node = {
      groupId: 1,
      store: this.store,
      executor: this.executor,
      term: TERM,
      readyLeaderTerm: async () => ({ term: TERM }),
      confirmedLeaderTerm: async () => ({ term: TERM }),
      // Every write applies at once here: what the view shows is always committed.
      settled: async () => true,
      waitForIntent: async () => false,
      call: async <R>(handler: (context: CallContext, slot: ProposalSlot) => CallOutcome<R>): Promise<R> => {
        const slot: ProposalSlot = { term: TERM, index: this.lastIndex + 1 };
        const result = this.executor.executeCall((context) => handler(context, slot) as CallOutcome<any>) as ExecuteResult<R>;
        this.applyAtOnce(result);
        return result.response;
      },
    };
    return node as unknown as CopysetNode;
  }
}

/** The remote of a coordinator whose every key is home: any call to another copyset is a test bug. */
function refusingRemote(): TxRemote {
  const refuse = (): Promise<never> => Promise.reject(new Error('this fake copyset holds every key: the coordinator has no other copyset to call'));
  return { prepare: refuse, resolve: refuse, status: refuse, getDentry: refuse, getInode: refuse, close: () => undefined };
}

/** Wire → executor: Map fields become records; empty maps are left out. */
function toExecutor(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, toExecutor(v)]));
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toExecutor);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field instanceof Map && field.size === 0) continue;
    out[key] = toExecutor(field);
  }
  return out;
}

const MAP_FIELDS = new Set(['xattr', 'xAttrInfos', 'fileType2inodeNum']);

/** Executor → wire: the record-shaped map fields become Maps; undefined fields are dropped. */
function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toWire);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) continue;
    if (MAP_FIELDS.has(key) && field !== null && typeof field === 'object' && !(field instanceof Map)) {
      out[key] = new Map(Object.entries(field).map(([k, v]) => [key === 'fileType2inodeNum' ? Number(k) : k, v]));
    } else {
      out[key] = toWire(field);
    }
  }
  return out;
}
