/**
 * The shape checks of TxService's client calls, made before any planning: a malformed
 * request is answered PARAM_ERROR at once, touches no other copyset and writes nothing.
 * (The prepare and decision entries check their parts again: the executor trusts no
 * caller.)
 */
import { isOptionalU32, isOptionalU64, isTime, isU32, isU64, isValidName, isValidSymlink } from '../executor/validate.ts';
import { isFsFileType } from '../metastore/types.ts';
import type { TxCreateRequest, TxLinkRequest, TxNameRef, TxRenameRequest, TxRoute, TxUnlinkRequest } from '../proto/metaraft-tx-types.ts';

type Envelope = Pick<TxRenameRequest, 'poolId' | 'copysetId' | 'fsId' | 'txId' | 'routes' | 'time' | 'ackedBelow'>;

export function isWellFormedRename(request: TxRenameRequest): boolean {
  return isWellFormedEnvelope(request) && isNameRef(request.src) && isNameRef(request.dst);
}

export function isWellFormedLink(request: TxLinkRequest): boolean {
  return isWellFormedEnvelope(request) && isU64(request.inodeId) && isNameRef(request.dst);
}

export function isWellFormedCreate(request: TxCreateRequest): boolean {
  if (!isWellFormedEnvelope(request) || !isNameRef(request.dst) || !isU32(request.inodePartitionId)) return false;
  if (!isFsFileType(request.type) || !isU32(request.mode) || !isU32(request.uid) || !isU32(request.gid)) return false;
  if (!isOptionalU32(request.rdev) || !isOptionalU64(request.length)) return false;
  // An empty target is SYM_LINK_EMPTY (CurveFS's answer), checked by the caller.
  return request.symlink === undefined || request.symlink === '' || isValidSymlink(request.symlink);
}

export function isWellFormedUnlink(request: TxUnlinkRequest): boolean {
  return isWellFormedEnvelope(request) && isNameRef(request.name) && typeof request.directory === 'boolean';
}

function isNameRef(ref: TxNameRef | undefined): boolean {
  return ref !== undefined && ref !== null && isU32(ref.partitionId) && isU64(ref.parentInodeId) && isValidName(ref.name);
}

function isWellFormedEnvelope(request: Envelope): boolean {
  if (!isU32(request.poolId) || !isU32(request.copysetId) || !isU32(request.fsId)) return false;
  if (request.txId === undefined || request.txId === null || !isU64(Number(request.txId.clientId)) || !isU64(Number(request.txId.seq))) return false;
  if (request.time !== undefined && request.time !== null && !isTime(request.time)) return false;
  if (!isOptionalU64(request.ackedBelow)) return false;
  return areWellFormedRoutes(request.routes);
}

/** Every route names a copyset and a range; partitions are unique and their ranges disjoint. */
export function areWellFormedRoutes(routes: readonly TxRoute[] | undefined): boolean {
  if (!Array.isArray(routes) || routes.length === 0) return false;
  const partitions = new Set<number>();
  for (const route of routes) {
    if (!isU32(route.poolId) || !isU32(route.copysetId) || !isU32(route.partitionId)) return false;
    if (!isU64(route.start) || !isU64(route.end) || route.start > route.end) return false;
    if (!Array.isArray(route.peers) || !route.peers.every((peer: unknown) => typeof peer === 'string' && peer !== '')) return false;
    if (partitions.has(route.partitionId)) return false;
    partitions.add(route.partitionId);
  }
  const byStart = [...routes].sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) if (byStart[i]!.start <= byStart[i - 1]!.end) return false;
  return true;
}
