/**
 * A fake copyset's state backed by metaraft's own executor and metastore (no Raft: each
 * write is "proposed" at the next index and applied at once, as the executor's own test
 * harness does). It converts between the wire shapes (maps as Map) and the executor's
 * (maps as records).
 */

import { MetaExecutor } from '../../src/executor/executor.ts';
import type { MetaMethod } from '../../src/executor/requests.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import type { PartitionInfo } from '../../src/proto/index.ts';
import type { MetaStateBackend } from './fake-cluster.ts';

export class ExecutorMetaState implements MetaStateBackend {
  readonly store = new MetaStore();
  readonly executor: MetaExecutor;
  private lastIndex = 0;

  constructor(now = { sec: 1_800_000_000, nsec: 0 }) {
    this.executor = new MetaExecutor(this.store, { clock: () => now });
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
    if (result.kind === 'blocked') throw new Error(`blocked by tx ${result.holder}: this fake has no intents`);
    if (result.kind === 'write') {
      this.lastIndex++;
      this.executor.onProposed(this.lastIndex);
      this.store.applyEntry(this.lastIndex, result.batch);
      this.executor.onApplied(this.lastIndex);
    }
    return toWire(result.response) as { statusCode: number };
  }
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
