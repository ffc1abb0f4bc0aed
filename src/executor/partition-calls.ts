/**
 * Partition calls: CreatePartition, DeletePartition (two-phase) and the leader's
 * background ReclaimPartition step that empties a DELETING partition through the log.
 */
import { FIRST_ALLOCATABLE_INODE_ID, isPartitionStatus, PartitionStatus } from '../metastore/types.ts';
import type { PartitionInfo } from '../metastore/types.ts';
import { answer, newBuilder, status, write } from './call-context.ts';
import type { CallContext, CallOutcome } from './call-context.ts';
import type { WriteBuilder } from './write-builder.ts';
import type * as R from './requests.ts';
import { MetaStatusCode } from './status.ts';
import { DEFAULT_RECLAIM_RECORDS, isOptionalU64, isU32, isU64, MAX_RECLAIM_RECORDS } from './validate.ts';

function isValidPartition(info: PartitionInfo | undefined): info is PartitionInfo {
  if (typeof info !== 'object' || info === null) return false;
  const { fsId, poolId, copysetId, partitionId, start, end, txId, nextId, status: partitionStatus, manageFlag } = info;
  if (![fsId, poolId, copysetId, partitionId].every(isU32) || !isU64(start) || !isU64(end) || start > end) return false;
  if (!isOptionalU64(txId) || !isOptionalU64(nextId)) return false;
  if (partitionStatus !== undefined && partitionStatus !== null && !isPartitionStatus(partitionStatus)) return false;
  return manageFlag === undefined || manageFlag === null || typeof manageFlag === 'boolean';
}

/** Creates a READWRITE partition; an existing id is OK (idempotent). */
export function createPartition(context: CallContext, request: R.CreatePartitionRequest): CallOutcome<R.CreatePartitionResponse> {
  const info = request.partition;
  if (!isValidPartition(info)) return status(MetaStatusCode.PARAM_ERROR);
  const builder = newBuilder(context);
  if (builder.partition(info.partitionId) !== undefined) return status(MetaStatusCode.OK);
  const firstId = Math.max(FIRST_ALLOCATABLE_INODE_ID, info.start);
  builder.putPartition({
    fsId: info.fsId,
    poolId: info.poolId,
    copysetId: info.copysetId,
    partitionId: info.partitionId,
    start: info.start,
    end: info.end,
    txId: info.txId ?? undefined,
    nextId: Math.max(firstId, info.nextId ?? firstId),
    status: PartitionStatus.READWRITE,
    manageFlag: info.manageFlag ?? undefined,
  });
  return write(builder, { statusCode: MetaStatusCode.OK });
}

/**
 * Phase one marks the partition DELETING and drops (up to a batch of) its dentries;
 * ReclaimPartition steps delete the rest and its inodes; a call on an empty partition
 * removes it (OK). Until then the answer is PARTITION_DELETING.
 */
export function deletePartition(context: CallContext, request: R.DeletePartitionRequest): CallOutcome<R.DeletePartitionResponse> {
  if (!isU32(request.partitionId)) return status(MetaStatusCode.PARAM_ERROR);
  const partitionId = request.partitionId;
  const builder = newBuilder(context);
  const info = builder.partition(partitionId);
  if (info === undefined) return status(MetaStatusCode.PARTITION_NOT_FOUND);
  // An intent or record of a cross-group tx still pending counts as content (docs/transactions.md §13).
  if (context.view.inodeCount(partitionId) === 0 && context.view.dentryCount(partitionId) === 0 && !context.store.tx.hasAny(partitionId)) {
    builder.deletePartition(partitionId);
    return write(builder, { statusCode: MetaStatusCode.OK });
  }
  if (info.status === PartitionStatus.DELETING) return status(MetaStatusCode.PARTITION_DELETING);
  builder.putPartition({ ...info, status: PartitionStatus.DELETING });
  deleteSome(context, builder, partitionId, DEFAULT_RECLAIM_RECORDS, false);
  return write(builder, { statusCode: MetaStatusCode.PARTITION_DELETING });
}

export function reclaimPartition(context: CallContext, request: R.ReclaimPartitionRequest): CallOutcome<R.ReclaimPartitionResponse> {
  const maxRecords = request.maxRecords ?? DEFAULT_RECLAIM_RECORDS;
  if (!isU32(request.partitionId) || !isU32(maxRecords) || maxRecords === 0 || maxRecords > MAX_RECLAIM_RECORDS) {
    return answer({ statusCode: MetaStatusCode.PARAM_ERROR, deleted: 0 });
  }
  const builder = newBuilder(context);
  const info = builder.partition(request.partitionId);
  if (info === undefined) return answer({ statusCode: MetaStatusCode.PARTITION_NOT_FOUND, deleted: 0 });
  if (info.status !== PartitionStatus.DELETING) return answer({ statusCode: MetaStatusCode.PARAM_ERROR, deleted: 0 });
  const deleted = deleteSome(context, builder, request.partitionId, maxRecords, true);
  if (deleted === 0) return answer({ statusCode: MetaStatusCode.OK, deleted: 0 });
  return write(builder, { statusCode: MetaStatusCode.OK, deleted });
}

/** Adds DELs for up to `limit` dentries, then (if asked) inodes; returns how many. */
function deleteSome(context: CallContext, builder: WriteBuilder, partitionId: number, limit: number, inodesToo: boolean): number {
  let deleted = 0;
  for (const dentry of context.view.someDentries(partitionId, limit)) {
    builder.deleteDentry(partitionId, dentry.fsId, dentry.parentInodeId, dentry.name);
    deleted++;
  }
  if (!inodesToo || deleted >= limit) return deleted;
  for (const inodeId of context.view.someInodeIds(partitionId, limit - deleted)) {
    const inode = context.view.inode(partitionId, inodeId)!;
    builder.deleteInode(partitionId, inode.fsId, inodeId);
    deleted++;
  }
  return deleted;
}
