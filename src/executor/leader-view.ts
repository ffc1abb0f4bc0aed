/**
 * The leader view (architecture decision 2): the applied maps plus an overlay of the
 * effects of entries proposed but not yet applied, so each write is computed against
 * exactly the log prefix before it.
 *
 * An effect joins the overlay when the executor produces it ("unbound": its index is
 * not known yet), is bound to its log index by {@link LeaderView.bind}, and leaves when
 * that index is applied, unless a later entry changed the same key since. Losing
 * leadership drops the whole overlay: the new leader recomputes from its applied state.
 */
import { invariant } from '../raft/errors.ts';
import type { MetaStore } from '../metastore/metastore.ts';
import type { Dentry, DentryValue, Inode, PartitionInfo } from '../metastore/types.ts';
import { toDentry } from '../metastore/dentry-table.ts';
import { locksOfPart, txIdKey } from '../metastore/tx-records.ts';
import type { TxId, TxIntent, TxRecord } from '../metastore/tx-records.ts';

/** One key's new state: a value, or null for a deletion. */
export type Effect =
  | { readonly table: 'partition'; readonly partitionId: number; readonly value: PartitionInfo | null }
  | { readonly table: 'inode'; readonly partitionId: number; readonly fsId: number; readonly inodeId: number; readonly value: Inode | null }
  | {
      readonly table: 'dentry';
      readonly partitionId: number;
      readonly fsId: number;
      readonly parentInodeId: number;
      readonly name: string;
      readonly value: DentryValue | null;
    }
  | { readonly table: 'intent'; readonly partitionId: number; readonly txId: TxId; readonly value: TxIntent | null }
  | { readonly table: 'record'; readonly partitionId: number; readonly txId: TxId; readonly value: TxRecord | null };

/** The index of an overlay entry whose log index is not known yet. */
const UNBOUND = -1;

interface OverlayEntry {
  readonly effect: Effect;
  index: number;
  /** The entry this one replaced while unbound (restored if the proposal fails). */
  replaced: OverlayEntry | undefined;
}

export function effectKey(effect: Effect): string {
  switch (effect.table) {
    case 'partition':
      return partitionKey(effect.partitionId);
    case 'inode':
      return inodeKey(effect.partitionId, effect.inodeId);
    case 'dentry':
      return dentryKey(effect.partitionId, effect.parentInodeId, effect.name);
    case 'intent':
      return intentKey(txIdKey(effect.txId));
    case 'record':
      return recordKey(txIdKey(effect.txId));
  }
}

const partitionKey = (partitionId: number) => `p${partitionId}`;
const inodeKey = (partitionId: number, inodeId: number) => `i${partitionId}:${inodeId}`;
const dentryKey = (partitionId: number, parentId: number, name: string) => `d${partitionId}:${parentId}:${name}`;
const directoryKey = (partitionId: number, parentId: number) => `${partitionId}:${parentId}`;
// One intent per tx per group, and one record per tx: keyed by tx alone.
const intentKey = (txKey: string) => `t${txKey}`;
const recordKey = (txKey: string) => `r${txKey}`;

export class LeaderView {
  private readonly overlay = new Map<string, OverlayEntry>();
  /** Overlay dentry names by directory, for child counts. */
  private readonly namesByDirectory = new Map<string, Set<string>>();
  /** Overlay inode ids and dentry keys by partition, for emptiness and enumeration. */
  private readonly inodesByPartition = new Map<number, Set<number>>();
  private readonly dentriesByPartition = new Map<number, Map<string, Effect & { table: 'dentry' }>>();
  private unboundKeys: string[] | undefined;
  /** Locks of the intents written by overlay entries (proposed, not applied), by tx id key. */
  private readonly overlayIntentLocks = new Map<string, readonly string[]>();
  /** Bound writes in index order, with the keys each wrote. */
  private readonly pending: { index: number; keys: string[] }[] = [];

  constructor(private readonly store: MetaStore) {}

  get overlaySize(): number {
    return this.overlay.size;
  }

  /** True while some proposed (not applied) entry writes an intent. */
  get hasOverlayIntents(): boolean {
    return this.overlayIntentLocks.size > 0;
  }

  get hasUnbound(): boolean {
    return this.unboundKeys !== undefined;
  }

  // -------------------------------------------------------------------------------------
  // Reads through the overlay

  partition(partitionId: number): PartitionInfo | undefined {
    const entry = this.overlay.get(partitionKey(partitionId));
    if (entry !== undefined) return (entry.effect.value as PartitionInfo | null) ?? undefined;
    return this.store.partitionInfoRaw(partitionId);
  }

  /** Every partition id in the view, ascending. */
  partitionIds(): number[] {
    const ids = new Set(this.store.partitionIds());
    for (const entry of this.overlay.values()) if (entry.effect.table === 'partition') ids.add(entry.effect.partitionId);
    return [...ids].filter((id) => this.partition(id) !== undefined).sort((a, b) => a - b);
  }

  inode(partitionId: number, inodeId: number): Inode | undefined {
    const entry = this.overlay.get(inodeKey(partitionId, inodeId));
    if (entry !== undefined) return (entry.effect.value as Inode | null) ?? undefined;
    return this.store.getInode(partitionId, inodeId);
  }

  dentry(partitionId: number, parentInodeId: number, name: string): Dentry | undefined {
    const entry = this.overlay.get(dentryKey(partitionId, parentInodeId, name));
    if (entry === undefined) return this.store.getDentry(partitionId, parentInodeId, name);
    const effect = entry.effect as Effect & { table: 'dentry' };
    return effect.value === null ? undefined : toDentry(effect.fsId, parentInodeId, name, effect.value);
  }

  /** The intent of a tx in this group, as the view sees it. */
  intent(txKey: string): { partitionId: number; intent: TxIntent } | undefined {
    const entry = this.overlay.get(intentKey(txKey));
    if (entry === undefined) return this.store.tx.intent(txKey);
    const effect = entry.effect as Effect & { table: 'intent' };
    return effect.value === null ? undefined : { partitionId: effect.partitionId, intent: effect.value };
  }

  /** The record of a tx in this group, as the view sees it. */
  record(txKey: string): { partitionId: number; record: TxRecord } | undefined {
    const entry = this.overlay.get(recordKey(txKey));
    if (entry === undefined) return this.store.tx.record(txKey);
    const effect = entry.effect as Effect & { table: 'record' };
    return effect.value === null ? undefined : { partitionId: effect.partitionId, record: effect.value };
  }

  /**
   * The tx (id key) of an intent holding one of `locks`, other than `exceptTx`; applied
   * intents count until their deletion is applied too (conservative: a lock is released
   * once, on apply), proposed ones from their proposal.
   */
  lockHolder(locks: readonly string[], exceptTx?: string): string | undefined {
    if (this.store.tx.intentCount === 0 && this.overlayIntentLocks.size === 0) return undefined;
    const applied = this.store.tx.holderOf(locks, exceptTx);
    if (applied !== undefined) return applied;
    for (const [holder, held] of this.overlayIntentLocks) {
      if (holder === exceptTx) continue;
      for (const lock of locks) if (held.includes(lock)) return holder;
    }
    return undefined;
  }

  childCount(partitionId: number, parentInodeId: number): number {
    let count = this.store.childCount(partitionId, parentInodeId);
    for (const name of this.namesByDirectory.get(directoryKey(partitionId, parentInodeId)) ?? []) {
      const inOverlay = this.overlay.get(dentryKey(partitionId, parentInodeId, name))!.effect.value !== null;
      const applied = this.store.getDentry(partitionId, parentInodeId, name) !== undefined;
      count += Number(inOverlay) - Number(applied);
    }
    return count;
  }

  inodeCount(partitionId: number): number {
    let count = this.store.inodeCount(partitionId);
    for (const inodeId of this.inodesByPartition.get(partitionId) ?? []) {
      const inOverlay = this.overlay.get(inodeKey(partitionId, inodeId))!.effect.value !== null;
      count += Number(inOverlay) - Number(this.store.getInode(partitionId, inodeId) !== undefined);
    }
    return count;
  }

  dentryCount(partitionId: number): number {
    let count = this.store.dentryCount(partitionId);
    for (const effect of this.dentriesByPartition.get(partitionId)?.values() ?? []) {
      const applied = this.store.getDentry(partitionId, effect.parentInodeId, effect.name) !== undefined;
      count += Number(effect.value !== null) - Number(applied);
    }
    return count;
  }

  /** Up to `limit` dentries of a partition as the view sees them. */
  someDentries(partitionId: number, limit: number): Dentry[] {
    const found: Dentry[] = [];
    for (const effect of this.dentriesByPartition.get(partitionId)?.values() ?? []) {
      if (found.length >= limit) return found;
      if (effect.value !== null) found.push(toDentry(effect.fsId, effect.parentInodeId, effect.name, effect.value));
    }
    // Applied ones the overlay has not changed; ask for enough to cover those it has.
    const overlaid = this.dentriesByPartition.get(partitionId)?.size ?? 0;
    for (const dentry of this.store.dentries(partitionId, limit + overlaid)) {
      if (found.length >= limit) break;
      if (!this.overlay.has(dentryKey(partitionId, dentry.parentInodeId, dentry.name))) found.push(dentry);
    }
    return found;
  }

  /** Up to `limit` inode ids of a partition as the view sees them. */
  someInodeIds(partitionId: number, limit: number): number[] {
    const found: number[] = [];
    for (const inodeId of this.inodesByPartition.get(partitionId) ?? []) {
      if (found.length >= limit) return found;
      if (this.inode(partitionId, inodeId) !== undefined) found.push(inodeId);
    }
    const overlaid = this.inodesByPartition.get(partitionId)?.size ?? 0;
    for (const inodeId of this.store.inodeIds(partitionId, limit + overlaid)) {
      if (found.length >= limit) break;
      if (!this.overlay.has(inodeKey(partitionId, inodeId))) found.push(inodeId);
    }
    return found;
  }

  // -------------------------------------------------------------------------------------
  // Overlay lifecycle

  /** Adds one write's effects, unbound; the next call must be bind() or unbindFailed(). */
  addUnbound(effects: readonly Effect[]): void {
    invariant(this.unboundKeys === undefined, 'one write at a time: bind the previous proposal before executing the next');
    const keys: string[] = [];
    for (const effect of effects) {
      const key = effectKey(effect);
      keys.push(key);
      const replaced = this.overlay.get(key);
      this.overlay.set(key, { effect, index: UNBOUND, replaced });
      this.index(key, effect);
    }
    this.unboundKeys = keys;
  }

  /** The unbound write became log entry `index`. */
  bind(index: number): void {
    const keys = this.unboundKeys;
    invariant(keys !== undefined, 'bind() follows a write');
    const last = this.pending[this.pending.length - 1];
    invariant(last === undefined || index > last.index, 'proposals get increasing log indexes');
    for (const key of keys) {
      const entry = this.overlay.get(key)!;
      entry.index = index;
      entry.replaced = undefined;
    }
    this.pending.push({ index, keys });
    this.unboundKeys = undefined;
  }

  /** The unbound write was not proposed: take its effects back. */
  unbindFailed(): void {
    const keys = this.unboundKeys;
    invariant(keys !== undefined, 'unbindFailed() follows a write');
    for (const key of [...keys].reverse()) {
      const entry = this.overlay.get(key);
      if (entry === undefined || entry.index !== UNBOUND) continue;
      if (entry.replaced !== undefined) {
        this.overlay.set(key, entry.replaced);
        this.index(key, entry.replaced.effect);
      } else {
        this.remove(key, entry.effect);
      }
    }
    this.unboundKeys = undefined;
  }

  /** Entries up to `index` are applied: their effects are in the maps now. */
  applied(index: number): void {
    while (this.pending.length > 0 && this.pending[0]!.index <= index) {
      const write = this.pending.shift()!;
      for (const key of write.keys) {
        const entry = this.overlay.get(key);
        if (entry !== undefined && entry.index === write.index) this.remove(key, entry.effect);
      }
    }
  }

  /** Leadership lost: every overlay effect is forgotten. */
  clear(): void {
    this.overlay.clear();
    this.namesByDirectory.clear();
    this.inodesByPartition.clear();
    this.dentriesByPartition.clear();
    this.pending.length = 0;
    this.unboundKeys = undefined;
    this.overlayIntentLocks.clear();
  }

  private index(key: string, effect: Effect): void {
    if (effect.table === 'intent') {
      if (effect.value === null) this.overlayIntentLocks.delete(txIdKey(effect.txId));
      else this.overlayIntentLocks.set(txIdKey(effect.txId), locksOfPart(effect.value.part));
    } else if (effect.table === 'inode') {
      let ids = this.inodesByPartition.get(effect.partitionId);
      if (ids === undefined) this.inodesByPartition.set(effect.partitionId, (ids = new Set()));
      ids.add(effect.inodeId);
    } else if (effect.table === 'dentry') {
      const directory = directoryKey(effect.partitionId, effect.parentInodeId);
      let names = this.namesByDirectory.get(directory);
      if (names === undefined) this.namesByDirectory.set(directory, (names = new Set()));
      names.add(effect.name);
      let dentries = this.dentriesByPartition.get(effect.partitionId);
      if (dentries === undefined) this.dentriesByPartition.set(effect.partitionId, (dentries = new Map()));
      dentries.set(key, effect);
    }
  }

  private remove(key: string, effect: Effect): void {
    this.overlay.delete(key);
    if (effect.table === 'intent') {
      this.overlayIntentLocks.delete(txIdKey(effect.txId));
    } else if (effect.table === 'inode') {
      const ids = this.inodesByPartition.get(effect.partitionId)!;
      ids.delete(effect.inodeId);
      if (ids.size === 0) this.inodesByPartition.delete(effect.partitionId);
    } else if (effect.table === 'dentry') {
      const directory = directoryKey(effect.partitionId, effect.parentInodeId);
      const names = this.namesByDirectory.get(directory)!;
      names.delete(effect.name);
      if (names.size === 0) this.namesByDirectory.delete(directory);
      const dentries = this.dentriesByPartition.get(effect.partitionId)!;
      dentries.delete(key);
      if (dentries.size === 0) this.dentriesByPartition.delete(effect.partitionId);
    }
  }
}
