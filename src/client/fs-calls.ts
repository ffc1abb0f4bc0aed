/**
 * The single RPCs the file-system operations are made of, routed for one file system:
 * an inode call goes to the partition holding the inode id, a dentry call to the
 * partition holding the parent (wire.md, Placement). Each returns plain values and
 * throws MetaClientError on a status other than OK.
 */

import { DentryFlag, FsFileType, MetaStatusCode, type Dentry, type Inode, type InodeAttr, type PartitionInfo, type Time } from '../proto/index.ts';
import { MetaClientError, RoutingError, isMetaError } from './client-errors.ts';
import { placementOrder } from './inode-placement.ts';
import type { CallOptions, MetaRequest, MetaServerClient } from './meta-server-client.ts';

/** POSIX file-type bits of `mode`, as FUSE passes them and CurveFS stores them. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
const PERMISSION_BITS = 0o7777;

/** `mode` with the file-type bits of `type` (permission bits kept from the caller). */
export function modeOf(type: FsFileType, mode: number): number {
  const typeBits = type === FsFileType.TYPE_DIRECTORY ? S_IFDIR : type === FsFileType.TYPE_SYM_LINK ? S_IFLNK : S_IFREG;
  return typeBits | (mode & PERMISSION_BITS);
}

/** The fields of a new inode a caller chooses. */
export interface NewInodeFields {
  readonly type: FsFileType;
  readonly parent: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly length?: number;
  readonly rdev?: number;
  readonly symlink?: string;
}

/** The fields UpdateInode may change (absent: unchanged). */
export type InodeChanges = Omit<MetaRequest<'UpdateInode'>, 'poolId' | 'copysetId' | 'partitionId' | 'fsId' | 'inodeId'>;

export function routedTo(partition: PartitionInfo): { poolId: number; copysetId: number; partitionId: number } {
  return { poolId: partition.poolId, copysetId: partition.copysetId, partitionId: partition.partitionId };
}

export class FsCalls {
  constructor(
    readonly client: MetaServerClient,
    readonly fsId: number,
  ) {}

  get partitions() {
    return this.client.partitions;
  }

  inodePartition(inodeId: number): PartitionInfo {
    return this.partitions.partitionOfInode(this.fsId, inodeId);
  }

  dentryPartition(parentInodeId: number): PartitionInfo {
    return this.partitions.partitionOfDentry(this.fsId, parentInodeId);
  }

  /** The committed rename transaction id of a partition, sent on dentry reads when known (as CurveFS does). */
  private txIdFields(partition: PartitionInfo): { txId?: number } {
    const txId = this.partitions.txIdOf(partition.partitionId);
    return txId === undefined ? {} : { txId };
  }

  async getDentry(parentInodeId: number, name: string, options: CallOptions): Promise<Dentry> {
    const partition = this.dentryPartition(parentInodeId);
    const request = { ...routedTo(partition), fsId: this.fsId, parentInodeId, name, ...this.txIdFields(partition) };
    const response = await this.client.getDentry(request, options);
    if (response.dentry === undefined) throw new MetaClientError('GetDentry', MetaStatusCode.NOT_FOUND);
    return response.dentry;
  }

  /** GetDentry, with NOT_FOUND as undefined. */
  async findDentry(parentInodeId: number, name: string, options: CallOptions): Promise<Dentry | undefined> {
    try {
      return await this.getDentry(parentInodeId, name, options);
    } catch (error) {
      if (isMetaError(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
  }

  async listDentry(dirInodeId: number, page: { last?: string; count: number; onlyDir?: boolean }, options: CallOptions): Promise<readonly Dentry[]> {
    const partition = this.dentryPartition(dirInodeId);
    const response = await this.client.listDentry(
      {
        ...routedTo(partition),
        fsId: this.fsId,
        dirInodeId,
        ...this.txIdFields(partition),
        ...(page.last === undefined ? {} : { last: page.last }),
        count: page.count,
        ...(page.onlyDir === undefined ? {} : { onlyDir: page.onlyDir }),
      },
      options,
    );
    return response.dentrys;
  }

  /** CreateDentry with `type` set, so that the server updates the parent (nlink for a directory, mtime/ctime). */
  async createDentry(parentInodeId: number, name: string, inodeId: number, type: FsFileType, create: Time, options: CallOptions): Promise<void> {
    const dentry: Dentry = {
      fsId: this.fsId,
      inodeId,
      parentInodeId,
      name,
      // CurveFS marks every non-directory entry TYPE_FILE_FLAG.
      flag: type === FsFileType.TYPE_DIRECTORY ? 0 : DentryFlag.TYPE_FILE_FLAG,
      type,
    };
    await this.client.createDentry({ ...routedTo(this.dentryPartition(parentInodeId)), dentry, create }, options);
  }

  async deleteDentry(parentInodeId: number, name: string, type: FsFileType | undefined, create: Time, options: CallOptions): Promise<void> {
    await this.client.deleteDentry(
      { ...routedTo(this.dentryPartition(parentInodeId)), fsId: this.fsId, parentInodeId, name, ...(type === undefined ? {} : { type }), create },
      options,
    );
  }

  async getInode(inodeId: number, options: CallOptions): Promise<Inode> {
    const response = await this.client.getInode({ ...routedTo(this.inodePartition(inodeId)), fsId: this.fsId, inodeId }, options);
    if (response.inode === undefined) throw new MetaClientError('GetInode', MetaStatusCode.NOT_FOUND);
    return response.inode;
  }

  /**
   * The attributes of many inodes: one BatchGetInodeAttr per partition holding some of
   * them (in partition order), as CurveFS's client splits a batch.
   */
  async batchGetInodeAttr(inodeIds: readonly number[], options: CallOptions): Promise<Map<number, InodeAttr>> {
    const byPartition = new Map<PartitionInfo, number[]>();
    for (const inodeId of inodeIds) {
      const partition = this.inodePartition(inodeId);
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), inodeId]);
    }
    const attributes = new Map<number, InodeAttr>();
    const ordered = [...byPartition].sort(([a], [b]) => a.partitionId - b.partitionId);
    for (const [partition, ids] of ordered) {
      const response = await this.client.batchGetInodeAttr({ ...routedTo(partition), fsId: this.fsId, inodeId: ids }, options);
      for (const attr of response.attr) attributes.set(attr.inodeId, attr);
    }
    return attributes;
  }

  async updateInode(inodeId: number, changes: InodeChanges, options: CallOptions): Promise<void> {
    await this.client.updateInode({ ...routedTo(this.inodePartition(inodeId)), fsId: this.fsId, inodeId, ...changes }, options);
  }

  async deleteInode(inodeId: number, options: CallOptions): Promise<void> {
    await this.client.deleteInode({ ...routedTo(this.inodePartition(inodeId)), fsId: this.fsId, inodeId }, options);
  }

  /**
   * Drops one link of an inode (CurveFS's InodeWrapper::UnLink): GetInode; UpdateInode
   * with nlink − 1 (a directory at 2 → 0: its "." goes with its last name), the parent
   * list without `parent`, ctime := `time`.
   */
  async unlinkInode(inodeId: number, parent: number, time: Time, options: CallOptions): Promise<void> {
    const inode = await this.getInode(inodeId, options);
    if (inode.nlink === 0) return;
    let nlink = inode.nlink - 1;
    if (inode.type === FsFileType.TYPE_DIRECTORY && nlink === 1) nlink = 0;
    const at = inode.parent.indexOf(parent);
    const parents = at < 0 ? inode.parent : [...inode.parent.slice(0, at), ...inode.parent.slice(at + 1)];
    // An empty list on the wire means "unchanged" (wire.md): the last parent stays listed on a dead inode.
    const parentField = parents.length > 0 ? { parent: parents } : {};
    await this.updateInode(inodeId, { nlink, ctime: time.sec, ctime_ns: time.nsec, ...parentField }, options);
  }

  /**
   * CreateInode in the first partition of {@link placementOrder} that has ids left; a
   * partition answering PARTITION_ALLOC_ID_FAIL is marked full and the next one tried.
   */
  async createInode(fields: NewInodeFields, create: Time, options: CallOptions): Promise<Inode> {
    for (const partition of this.placementCandidates(fields.parent)) {
      try {
        return await this.createInodeIn(partition, fields, create, options);
      } catch (error) {
        if (!isMetaError(error, 'PARTITION_ALLOC_ID_FAIL')) throw error;
        this.partitions.markFull(partition.partitionId);
      }
    }
    throw noWritablePartition(this.fsId);
  }

  /** The partitions a new inode under `parent` may go to, best first ({@link placementOrder}). */
  placementCandidates(parent: number): PartitionInfo[] {
    return placementOrder(this.partitions, this.fsId, parent, this.client.random);
  }

  /** CreateInode in one given partition (PARTITION_ALLOC_ID_FAIL is the caller's to handle). */
  async createInodeIn(partition: PartitionInfo, fields: NewInodeFields, create: Time, options: CallOptions): Promise<Inode> {
    const request = {
      ...routedTo(partition),
      fsId: this.fsId,
      length: fields.length ?? 0,
      ...nodeAttributesOf(fields),
      parent: fields.parent,
      create,
    };
    const response = await this.client.createInode(request, options);
    if (response.inode === undefined) throw new MetaClientError('CreateInode', MetaStatusCode.UNKNOWN_ERROR);
    return response.inode;
  }
}

/** A new node's attributes as CreateInode and TxService.Create carry them (the mode with its file-type bits). */
export function nodeAttributesOf(fields: NewInodeFields): { type: FsFileType; mode: number; uid: number; gid: number; rdev?: number; symlink?: string } {
  return {
    type: fields.type,
    mode: modeOf(fields.type, fields.mode),
    uid: fields.uid,
    gid: fields.gid,
    ...(fields.rdev === undefined ? {} : { rdev: fields.rdev }),
    ...(fields.symlink === undefined ? {} : { symlink: fields.symlink }),
  };
}

/** Every candidate partition was full (or none is READWRITE). */
export function noWritablePartition(fsId: number): RoutingError {
  return new RoutingError('NO_WRITABLE_PARTITION', `fs ${fsId}: no READWRITE partition has inode ids left`);
}
