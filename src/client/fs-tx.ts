/**
 * File-system operations made atomic by metaraft.tx.TxService, each sent as ONE
 * call to its home copyset (docs/transactions.md): the
 * coordinator there makes names, link counts, parent lists and times change in one
 * atomic step. FsClient takes this path with renameProtocol 'metaraft': always for
 * create (mkdir, symlink), link, unlink and rmdir; for rename when the parents' entries
 * live in different copysets or the one-entry rename answers TX_FAILED.
 *
 * Each call gets a fresh txId from the {@link TxIdSource}; MetaServerClient resends the
 * same request (same txId) on every retry, so a lost answer never applies twice.
 */
import { MetaStatusCode, type Inode, type PartitionInfo, type Time, type TxIdWire, type TxNameRef } from '../proto/index.ts';
import { FsError, MetaClientError, isMetaError } from './client-errors.ts';
import { nodeAttributesOf, type FsCalls, type NewInodeFields } from './fs-calls.ts';
import type { CallOptions } from './meta-server-client.ts';
import type { TxIdSource } from './tx-ids.ts';
import { txRoutesOf } from './tx-routes.ts';

/** True when the two partitions share a copyset (one Raft log: one entry can change both). */
export function sameCopyset(a: PartitionInfo, b: PartitionInfo): boolean {
  return a.poolId === b.poolId && a.copysetId === b.copysetId;
}

/** True when the file system's partitions live in more than one copyset. */
export function spansCopysets(calls: FsCalls): boolean {
  const partitions = calls.partitions.partitionsOf(calls.fsId);
  const first = partitions[0];
  return first !== undefined && partitions.some((partition) => !sameCopyset(partition, first));
}

/** What every TxService request of one operation shares. */
interface TxEnvelope {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly txId: TxIdWire;
  readonly routes: ReturnType<typeof txRoutesOf>;
  readonly time: Time;
  readonly ackedBelow: number;
}

export class FsTxCalls {
  constructor(
    private readonly calls: FsCalls,
    readonly txIds: TxIdSource,
  ) {}

  /** rename: one TxService.Rename to the copyset of the source parent's entries. */
  async rename(srcParent: number, srcName: string, dstParent: number, dstName: string, time: Time, options: CallOptions): Promise<void> {
    const src = this.nameRef(srcParent, srcName);
    const dst = this.nameRef(dstParent, dstName);
    await this.send(this.calls.dentryPartition(srcParent), time, (envelope) => this.calls.client.txRename({ ...envelope, src, dst }, options));
  }

  /** link: one TxService.Link to the copyset of the new parent's entries. */
  async link(inodeId: number, newParent: number, newName: string, time: Time, options: CallOptions): Promise<void> {
    const dst = this.nameRef(newParent, newName);
    await this.send(this.calls.dentryPartition(newParent), time, (envelope) => this.calls.client.txLink({ ...envelope, inodeId, dst }, options));
  }

  /**
   * create / mkdir / symlink with the new inode in `inodePartition` (any copyset): one
   * TxService.Create to the parent's copyset; the reply carries the new inode.
   * PARTITION_ALLOC_ID_FAIL comes back as MetaClientError for the caller to try the next
   * partition (with a new txId).
   */
  async create(inodePartition: PartitionInfo, name: string, fields: NewInodeFields, time: Time, options: CallOptions): Promise<Inode> {
    const dst = this.nameRef(fields.parent, name);
    const reply = await this.send(this.calls.dentryPartition(fields.parent), time, (envelope) =>
      this.calls.client.txCreate(
        {
          ...envelope,
          dst,
          inodePartitionId: inodePartition.partitionId,
          ...nodeAttributesOf(fields),
          ...(fields.length === undefined ? {} : { length: fields.length }),
        },
        options,
      ),
    );
    // The coordinator answers OK with the inode it created (docs/transactions.md §7).
    if (reply.inode === undefined) throw new MetaClientError('Create', MetaStatusCode.UNKNOWN_ERROR);
    return reply.inode;
  }

  /**
   * unlink / rmdir (`directory`): one TxService.Unlink to the copyset of the parent's
   * entries. The server checks a directory's emptiness atomically: TARGET_DIRECTORY_EXIST
   * → FsError NOT_EMPTY, as the single-copyset rmdir reports it.
   */
  async unlink(parent: number, name: string, directory: boolean, time: Time, options: CallOptions): Promise<void> {
    const ref = this.nameRef(parent, name);
    try {
      await this.send(this.calls.dentryPartition(parent), time, (envelope) => this.calls.client.txUnlink({ ...envelope, name: ref, directory }, options));
    } catch (error) {
      if (directory && isMetaError(error, 'TARGET_DIRECTORY_EXIST')) throw new FsError('NOT_EMPTY', `${name} is not empty`);
      throw error;
    }
  }

  private nameRef(parentInodeId: number, name: string): TxNameRef {
    return { partitionId: this.calls.dentryPartition(parentInodeId).partitionId, parentInodeId, name };
  }

  /** Sends one tx call home with a new txId; the seq counts as answered once the call is over, whatever its outcome. */
  private async send<T>(home: PartitionInfo, time: Time, call: (envelope: TxEnvelope) => Promise<T>): Promise<T> {
    const txId = this.txIds.next();
    try {
      return await call({
        poolId: home.poolId,
        copysetId: home.copysetId,
        fsId: this.calls.fsId,
        txId,
        routes: txRoutesOf(this.calls.partitions, this.calls.fsId),
        time,
        // This call's own seq is outstanding, so ackedBelow never covers it.
        ackedBelow: this.txIds.ackedBelow(),
      });
    } finally {
      this.txIds.answered(txId.seq);
    }
  }
}

