/**
 * The host StateMachine of one copyset: a MetaStore every replica changes by applying
 * committed entries blindly and in log order (architecture decision 2), and the hooks
 * the leader's executor needs.
 *
 * - A `normal` entry with data is a record batch: applied as one step.
 * - An empty `normal` entry (a new leader's no-op) and a `config` entry hold no records:
 *   the applied index moves over them, so a snapshot taken next is at the right index.
 * - After each applied run the executor learns the new applied index (its overlay
 *   shrinks), then waiters for an index are released.
 * - takeSnapshot captures a frozen view synchronously at exactly the applied index and
 *   streams it to the file while applies continue (decision 3).
 * - restoreSnapshot loads the whole file into a fresh store first and swaps it in only
 *   when complete: a bad file leaves the old state untouched (no partial load).
 */
import type { SnapshotSource, SnapshotTarget, StateMachine } from '../host/interfaces.ts';
import type { MetaExecutor } from '../executor/executor.ts';
import type { MetaStore } from '../metastore/metastore.ts';
import { dumpSnapshot, loadSnapshot } from '../metastore/snapshot-io.ts';
import { decodeConfigChange } from '../raft/config-codec.ts';
import { invariant } from '../raft/errors.ts';
import type { ConfigChange, Entry, Index } from '../raft/types.ts';

export interface CopysetStateMachineHooks {
  /** A configuration change was applied (the server learns peer addresses from it). */
  readonly onConfigChange?: (change: ConfigChange) => void;
  /** The state was replaced by a snapshot (the leader view must be dropped). */
  readonly onRestored?: (index: Index) => void;
}

export class CopysetStateMachine implements StateMachine {
  private readonly waiters: Array<{ index: Index; resolve: () => void }> = [];

  constructor(
    readonly store: MetaStore,
    readonly executor: MetaExecutor,
    private readonly hooks: CopysetStateMachineHooks = {},
  ) {
    invariant(executor.store === store, 'the executor works on the state machine\'s own store');
  }

  apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) {
      if (entry.type === 'normal' && entry.data.length > 0) {
        this.store.applyEntry(entry.index, entry.data);
      } else {
        this.store.skipEntry(entry.index);
        if (entry.type === 'config') this.hooks.onConfigChange?.(decodeConfigChange(entry.data));
      }
    }
    const last = entries[entries.length - 1]!.index;
    invariant(this.store.appliedIndex === last, () => `applied ${this.store.appliedIndex} after applying through ${last}`);
    this.executor.onApplied(last);
    this.releaseWaiters();
  }

  appliedIndex(): Index {
    return this.store.appliedIndex;
  }

  async takeSnapshot(target: SnapshotTarget): Promise<void> {
    // Decision 3: the host asks at the applied index; the view is frozen before the first await.
    invariant(target.index === this.store.appliedIndex, () => `snapshot asked at ${target.index}, applied ${this.store.appliedIndex}`);
    const info = await dumpSnapshot(this.store, target.path, { term: target.term, config: target.config });
    invariant(info.metadata.index === target.index, () => `snapshot file holds index ${info.metadata.index}, asked ${target.index}`);
  }

  async restoreSnapshot(source: SnapshotSource): Promise<void> {
    const { store, info } = await loadSnapshot(source.path);
    invariant(info.metadata.index === source.index && info.metadata.term === source.term, 'the snapshot file holds the index and term asked for');
    this.store.replaceWith(store);
    this.executor.onLeadershipLost();
    this.hooks.onRestored?.(source.index);
    this.releaseWaiters();
  }

  /** Resolves once the store has applied `index` (at once if it has). */
  whenApplied(index: Index): Promise<void> {
    if (this.store.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ index, resolve }));
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const applied = this.store.appliedIndex;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.index > applied) continue;
      this.waiters.splice(i, 1);
      waiter.resolve();
    }
  }
}
