/**
 * A copyset without Raft for executor tests: each write is "proposed" at the next index
 * and, unless held back, applied at once. Held-back writes exercise the leader view.
 */
import { MetaExecutor } from '../../src/executor/executor.ts';
import type { MetaMethod, RequestOf, ResponseOf } from '../../src/executor/requests.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import type { PartitionInfo, Time } from '../../src/metastore/types.ts';
import { PartitionStatus } from '../../src/metastore/types.ts';

export const FS = 7;
export const T0: Time = { sec: 1_700_000_000, nsec: 5 };

export class TestCopyset {
  readonly store = new MetaStore();
  readonly executor: MetaExecutor;
  /** Every proposed entry in log order (index = position + 1). */
  readonly log: Uint8Array[] = [];
  private held = false;
  now: Time = { sec: 1_800_000_000, nsec: 0 };

  constructor() {
    this.executor = new MetaExecutor(this.store, { clock: () => this.now });
  }

  /** Runs a call; a write is proposed and (unless holding) applied before returning. */
  call<M extends MetaMethod>(method: M, request: RequestOf<M>): ResponseOf<M> {
    const result = this.executor.execute(method, request);
    if (result.kind === 'read') return result.response;
    if (result.kind === 'blocked') throw new Error(`${method} blocked by tx ${result.holder}`);
    this.log.push(result.batch);
    this.executor.onProposed(this.log.length);
    if (!this.held) this.applyAll();
    return result.response;
  }

  /** Keeps proposed writes unapplied until applyAll(). */
  hold(): void {
    this.held = true;
  }

  applyAll(): void {
    this.held = false;
    this.applyUpTo(this.log.length);
  }

  /** Applies entries up to `last` only (writes stay held). */
  applyUpTo(last: number): void {
    while (this.store.appliedIndex < last) {
      const index = this.store.appliedIndex + 1;
      this.store.applyEntry(index, this.log[index - 1]!);
      this.executor.onApplied(index);
    }
  }

  createPartition(partitionId: number, start: number, end: number, extra: Partial<PartitionInfo> = {}): ResponseOf<'CreatePartition'> {
    return this.call('CreatePartition', {
      partition: { fsId: FS, poolId: 1, copysetId: 1, partitionId, start, end, status: PartitionStatus.READWRITE, ...extra },
    });
  }
}

export const routed = (partitionId: number) => ({ poolId: 1, copysetId: 1, partitionId });
