/**
 * CurveFS's PrepareRenameTx, served for stock CurveFS clients (docs/transactions.md §15,
 * "Two doors"). Their rename protocol changes link counts and parent lists itself
 * (GetInode + UpdateInode before and after the prepare), so the prepare must change
 * dentries only: mapping it onto the executor's Rename, which also moves parents' nlink
 * and the replaced inode, would count every directory move twice.
 *
 * What is served: both names in the request's partition (the client sends two dentries
 * in one call: the source delete-marked, the destination). Delete the source name and
 * set the destination name, in ONE log entry, so every reader sees the old or the new
 * name, never both or neither. metaraft commits at once: the coordinator's CommitTx that
 * follows has nothing left to decide here.
 *
 * What is refused:
 * - one dentry per call (source and destination in different partitions): the pending
 *   compat transaction records of §15 that would make the pair atomic are not built yet,
 *   so this answers TX_FAILED rather than apply half a rename; metaraft's own client
 *   renames inside a copyset with one call and across copysets with metaraft.tx;
 * - any other shape (no dentry, more than two, mixed fsId/txId/txSequence, no
 *   delete-marked source, a destination naming another inode): PARAM_ERROR.
 */
import { checkPartition } from '../executor/call-context.ts';
import type { LeaderView } from '../executor/leader-view.ts';
import { MetaStatusCode } from '../executor/status.ts';
import { isOptionalU32, isOptionalU64, isU32, isU64, isValidName } from '../executor/validate.ts';
import { WriteBuilder } from '../executor/write-builder.ts';
import { encodeRecordBatch } from '../metastore/record-codec.ts';
import { DentryFlag, isFsFileType } from '../metastore/types.ts';
import type { Dentry } from '../metastore/types.ts';
import type { WriteStep } from '../server/copyset-node.ts';

export interface CompatRenameRequest {
  readonly partitionId: number;
  readonly dentrys: readonly Dentry[];
}

export interface CompatRenameResponse {
  statusCode: MetaStatusCode;
  appliedIndex?: number;
}

const PREPARE_BITS = DentryFlag.DELETE_MARK_FLAG | DentryFlag.TRANSACTION_PREPARE_FLAG;

function isWellFormed(dentry: Dentry): boolean {
  const { fsId, inodeId, parentInodeId, name, txId, flag, type, txSequence } = dentry;
  if (!isU32(fsId) || !isU64(inodeId) || !isU64(parentInodeId) || !isValidName(name)) return false;
  if (!isOptionalU64(txId) || !isOptionalU32(flag) || !isOptionalU64(txSequence)) return false;
  return type === undefined || isFsFileType(type);
}

function isDeleteMarked(dentry: Dentry): boolean {
  return ((dentry.flag ?? 0) & DentryFlag.DELETE_MARK_FLAG) !== 0;
}

/** Computes the rename against the leader view: an answer now, or one write to propose. */
export function prepareCompatRename(view: LeaderView, appliedIndex: number, request: CompatRenameRequest): WriteStep<CompatRenameResponse> {
  const answer = (statusCode: MetaStatusCode): WriteStep<CompatRenameResponse> => ({ kind: 'answer', response: { statusCode, appliedIndex } });
  const { partitionId, dentrys } = request;
  if (!isU32(partitionId) || !Array.isArray(dentrys) || !dentrys.every(isWellFormed)) return answer(MetaStatusCode.PARAM_ERROR);
  if (dentrys.length === 1) return answer(MetaStatusCode.TX_FAILED); // see the module doc
  if (dentrys.length !== 2) return answer(MetaStatusCode.PARAM_ERROR);
  const source = dentrys.find(isDeleteMarked);
  const destination = dentrys.find((dentry) => !isDeleteMarked(dentry));
  if (source === undefined || destination === undefined) return answer(MetaStatusCode.PARAM_ERROR);
  if (source.fsId !== destination.fsId || source.txId !== destination.txId || source.txSequence !== destination.txSequence) return answer(MetaStatusCode.PARAM_ERROR);
  if (source.inodeId !== destination.inodeId) return answer(MetaStatusCode.PARAM_ERROR);
  const builder = new WriteBuilder(view);
  const info = builder.partition(partitionId);
  const misrouted = checkPartition(info, source.fsId, source.parentInodeId) ?? checkPartition(info, destination.fsId, destination.parentInodeId);
  if (misrouted !== undefined) return answer(misrouted);
  const existing = builder.dentry(partitionId, source.parentInodeId, source.name);
  if (existing === undefined || existing.inodeId !== source.inodeId) return answer(MetaStatusCode.NOT_FOUND);
  if (source.parentInodeId === destination.parentInodeId && source.name === destination.name) return answer(MetaStatusCode.OK);
  builder.deleteDentry(partitionId, source.fsId, source.parentInodeId, source.name);
  const flag = (destination.flag ?? existing.flag ?? 0) & ~PREPARE_BITS;
  builder.putDentry(partitionId, {
    fsId: destination.fsId,
    inodeId: destination.inodeId,
    parentInodeId: destination.parentInodeId,
    name: destination.name,
    type: destination.type ?? existing.type,
    flag: flag === 0 ? undefined : flag,
    txId: destination.txId,
    txSequence: destination.txSequence,
  });
  const response: CompatRenameResponse = { statusCode: MetaStatusCode.OK };
  const batch = encodeRecordBatch(builder.records());
  view.addUnbound(builder.effectList());
  return {
    kind: 'write',
    write: {
      batch,
      response,
      bind: (index) => {
        view.bind(index);
        response.appliedIndex = index;
      },
      unbind: () => view.unbindFailed(),
    },
  };
}
