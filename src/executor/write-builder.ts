/**
 * Collects one request's effects. Reads go through the effects already collected, then
 * the leader view, so a call that touches one inode twice (a rename inside one
 * directory) sees its own changes. At the end the effects become the SET/DEL records
 * of one log entry.
 */
import { dentryKey, inodeKey, partitionInfoKey, txKey } from '../metastore/keys.ts';
import { encodeTx, txKeyBytes } from '../metastore/tx-records.ts';
import type { TxId, TxIntent, TxRecord } from '../metastore/tx-records.ts';
import type { MetaRecord } from '../metastore/record-codec.ts';
import type { Dentry, DentryValue, Inode, PartitionInfo, PartitionStatus } from '../metastore/types.ts';
import { encodeDentryValue, encodeInode, encodePartitionInfo } from '../metastore/value-codec.ts';
import { toDentry } from '../metastore/dentry-table.ts';
import { effectKey } from './leader-view.ts';
import type { Effect, LeaderView } from './leader-view.ts';

export class WriteBuilder {
  private readonly effects = new Map<string, Effect>();

  constructor(readonly view: LeaderView) {}

  get size(): number {
    return this.effects.size;
  }

  partition(partitionId: number): PartitionInfo | undefined {
    const effect = this.effects.get(effectKey({ table: 'partition', partitionId, value: null }));
    if (effect !== undefined) return (effect.value as PartitionInfo | null) ?? undefined;
    return this.view.partition(partitionId);
  }

  inode(partitionId: number, inodeId: number): Inode | undefined {
    const effect = this.effects.get(effectKey({ table: 'inode', partitionId, fsId: 0, inodeId, value: null }));
    if (effect !== undefined) return (effect.value as Inode | null) ?? undefined;
    return this.view.inode(partitionId, inodeId);
  }

  dentry(partitionId: number, parentInodeId: number, name: string): Dentry | undefined {
    const effect = this.effects.get(effectKey({ table: 'dentry', partitionId, fsId: 0, parentInodeId, name, value: null }));
    if (effect === undefined) return this.view.dentry(partitionId, parentInodeId, name);
    const value = effect.value as DentryValue | null;
    return value === null ? undefined : toDentry((effect as Effect & { table: 'dentry' }).fsId, parentInodeId, name, value);
  }

  /**
   * Stores a partition info, with `nextId` and `status` replaced when given; the derived
   * counts are never stored. A literal, not a spread: on a create's path, and V8 builds
   * `{ ...info, field }` far slower than a literal.
   */
  putPartition(info: PartitionInfo, nextId: number | undefined = info.nextId, status: PartitionStatus = info.status): void {
    const stored: PartitionInfo = {
      fsId: info.fsId,
      poolId: info.poolId,
      copysetId: info.copysetId,
      partitionId: info.partitionId,
      start: info.start,
      end: info.end,
      txId: info.txId,
      nextId,
      status,
      manageFlag: info.manageFlag,
    };
    this.add({ table: 'partition', partitionId: info.partitionId, value: stored });
  }

  deletePartition(partitionId: number): void {
    this.add({ table: 'partition', partitionId, value: null });
  }

  putInode(partitionId: number, inode: Inode): void {
    this.add({ table: 'inode', partitionId, fsId: inode.fsId, inodeId: inode.inodeId, value: inode });
  }

  deleteInode(partitionId: number, fsId: number, inodeId: number): void {
    this.add({ table: 'inode', partitionId, fsId, inodeId, value: null });
  }

  putDentry(partitionId: number, dentry: Dentry): void {
    const { fsId, parentInodeId, name, inodeId, type, flag, txId, txSequence } = dentry;
    this.add({ table: 'dentry', partitionId, fsId, parentInodeId, name, value: { inodeId, type, flag, txId, txSequence } });
  }

  deleteDentry(partitionId: number, fsId: number, parentInodeId: number, name: string): void {
    this.add({ table: 'dentry', partitionId, fsId, parentInodeId, name, value: null });
  }

  putIntent(partitionId: number, intent: TxIntent): void {
    this.add({ table: 'intent', partitionId, txId: intent.txId, value: intent });
  }

  deleteIntent(partitionId: number, txId: TxId): void {
    this.add({ table: 'intent', partitionId, txId, value: null });
  }

  putRecord(partitionId: number, record: TxRecord): void {
    this.add({ table: 'record', partitionId, txId: record.txId, value: record });
  }

  deleteRecord(partitionId: number, txId: TxId): void {
    this.add({ table: 'record', partitionId, txId, value: null });
  }

  effectList(): Effect[] {
    return [...this.effects.values()];
  }

  /** The effects as SET/DEL records, in the order they were first made. */
  records(): MetaRecord[] {
    return this.effectList().map(toRecord);
  }

  private add(effect: Effect): void {
    const key = effectKey(effect);
    // Re-inserting keeps the first position: one record per key, in first-touch order.
    this.effects.set(key, effect);
  }
}

function toRecord(effect: Effect): MetaRecord {
  switch (effect.table) {
    case 'partition': {
      const key = partitionInfoKey(effect.partitionId);
      return effect.value === null ? { type: 'del', key } : { type: 'set', key, value: encodePartitionInfo(effect.value) };
    }
    case 'inode': {
      const key = inodeKey(effect.partitionId, effect.fsId, effect.inodeId);
      return effect.value === null ? { type: 'del', key } : { type: 'set', key, value: encodeInode(effect.value) };
    }
    case 'dentry': {
      const key = dentryKey(effect.partitionId, effect.fsId, effect.parentInodeId, effect.name);
      return effect.value === null ? { type: 'del', key } : { type: 'set', key, value: encodeDentryValue(effect.value) };
    }
    case 'intent':
    case 'record': {
      const key = txKey(effect.partitionId, txKeyBytes(effect.table, effect.txId));
      return effect.value === null ? { type: 'del', key } : { type: 'set', key, value: encodeTx(effect.value) };
    }
  }
}
