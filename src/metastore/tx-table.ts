/**
 * The applied intents and records of one copyset (table 0x05, docs/transactions.md §6),
 * decoded, and the lock index derived from the intents (§5). Rebuilt by applying SETs
 * and DELs, so a snapshot load rebuilds it too; never stored on its own.
 *
 * `intentCount === 0` is the common case, and every lock query answers it with one
 * integer test.
 */
import { invariant } from '../raft/errors.ts';
import { decodeIntent, decodeRecord, locksOfPart, parseTxKeyBytes, txIdKey } from './tx-records.ts';
import type { TxIntent, TxRecord } from './tx-records.ts';

export interface StoredIntent {
  readonly partitionId: number;
  readonly intent: TxIntent;
  readonly locks: readonly string[];
}

export interface StoredRecord {
  readonly partitionId: number;
  readonly record: TxRecord;
}

export class TxTable {
  private readonly intentsByTx = new Map<string, StoredIntent>();
  private readonly recordsByTx = new Map<string, StoredRecord>();
  /** lock key → tx id keys of the intents holding it. */
  private readonly holders = new Map<string, Set<string>>();
  private readonly listeners = new Set<() => void>();

  get intentCount(): number {
    return this.intentsByTx.size;
  }

  get recordCount(): number {
    return this.recordsByTx.size;
  }

  intent(txKey: string): StoredIntent | undefined {
    return this.intentsByTx.get(txKey);
  }

  record(txKey: string): StoredRecord | undefined {
    return this.recordsByTx.get(txKey);
  }

  intents(): IterableIterator<StoredIntent> {
    return this.intentsByTx.values();
  }

  records(): IterableIterator<StoredRecord> {
    return this.recordsByTx.values();
  }

  /** Tx id keys of the intents holding `lock` (empty when none). */
  holdersOf(lock: string): ReadonlySet<string> | undefined {
    if (this.intentsByTx.size === 0) return undefined;
    return this.holders.get(lock);
  }

  /** The tx (id key) of an applied intent holding one of `locks`, other than `exceptTx`. */
  holderOf(locks: readonly string[], exceptTx?: string): string | undefined {
    if (this.intentsByTx.size === 0) return undefined;
    for (const lock of locks) {
      for (const holder of this.holders.get(lock) ?? []) if (holder !== exceptTx) return holder;
    }
    return undefined;
  }

  /** True when the partition holds an intent or a record (it is not empty). */
  hasAny(partitionId: number): boolean {
    for (const stored of this.intentsByTx.values()) if (stored.partitionId === partitionId) return true;
    for (const stored of this.recordsByTx.values()) if (stored.partitionId === partitionId) return true;
    return false;
  }

  /** Called after every change of an intent (parked requests re-check their locks). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one SET (value) or DEL (null) of a table-0x05 key of `partitionId`. */
  apply(partitionId: number, txKey: Uint8Array, value: Uint8Array | null): void {
    const parsed = parseTxKeyBytes(txKey);
    invariant(parsed !== undefined, 'apply: a table-0x05 key names a record or an intent');
    const key = txIdKey(parsed.txId);
    if (parsed.kind === 'record') {
      if (value === null) this.recordsByTx.delete(key);
      else this.recordsByTx.set(key, { partitionId, record: decodeRecord(value) });
      return;
    }
    this.dropIntent(key);
    if (value !== null) {
      const intent = decodeIntent(value);
      const stored: StoredIntent = { partitionId, intent, locks: locksOfPart(intent.part) };
      this.intentsByTx.set(key, stored);
      for (const lock of stored.locks) {
        let set = this.holders.get(lock);
        if (set === undefined) this.holders.set(lock, (set = new Set()));
        set.add(key);
      }
    }
    for (const listener of this.listeners) listener();
  }

  /** Takes over another table's content (a store replaced by a snapshot); listeners stay. */
  replaceWith(other: TxTable): void {
    this.intentsByTx.clear();
    this.recordsByTx.clear();
    this.holders.clear();
    for (const [key, stored] of other.intentsByTx) this.intentsByTx.set(key, stored);
    for (const [key, stored] of other.recordsByTx) this.recordsByTx.set(key, stored);
    for (const [lock, set] of other.holders) this.holders.set(lock, new Set(set));
    for (const listener of this.listeners) listener();
  }

  private dropIntent(key: string): void {
    const stored = this.intentsByTx.get(key);
    if (stored === undefined) return;
    this.intentsByTx.delete(key);
    for (const lock of stored.locks) {
      const set = this.holders.get(lock)!;
      set.delete(key);
      if (set.size === 0) this.holders.delete(lock);
    }
  }
}
