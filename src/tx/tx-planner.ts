/**
 * A coordinator's plan of one attempt (docs/transactions.md §4, §7): read the keys the
 * operation needs (its own group from the leader view, other groups through linearizable
 * reads), apply POSIX's refusals, and split the operation into one part per group:
 * what that group checks (conditions) and changes (effects).
 */
import { dentryFlagOf } from '../executor/tx-calls.ts';
import { MetaStatusCode } from '../executor/status.ts';
import { FsFileType, ROOT_INODE_ID } from '../metastore/types.ts';
import type { Dentry, Inode, Time } from '../metastore/types.ts';
import { NEW_INODE } from '../metastore/tx-records.ts';
import type { NewInodeSpec, TxCondition, TxEffect, TxKind, TxPart } from '../metastore/tx-records.ts';
import type { TxRoute } from '../proto/metaraft-tx-types.ts';
import type { CopysetAddress } from './tx-remote.ts';

/** Ancestors walked for a directory move (deeper is refused, as in the single-group rename). */
export const MAX_TX_ANCESTRY = 4096;

export const groupKeyOf = (poolId: number, copysetId: number): string => `${poolId}/${copysetId}`;

/** One group's share while planning. */
export interface PlannedPart {
  readonly address: CopysetAddress;
  readonly conditions: TxCondition[];
  readonly effects: TxEffect[];
}

export interface Plan {
  readonly kind: TxKind;
  /** Parts by group key; the home group's part (maybe empty) is decided in the decision entry. */
  readonly parts: Map<string, PlannedPart>;
  /** A directory moving to another parent: the fs-wide lock, then the ancestor walk from `from`. */
  readonly dirMove?: { readonly anchor: CopysetAddress; readonly movedId: number; readonly from: number };
  /** The create's new inode is allocated by a secondary (its id fills the home part's dentry). */
  readonly createdBy?: string;
}

export type PlanResult = { readonly kind: 'plan'; readonly plan: Plan } | { readonly kind: 'reply'; readonly statusCode: MetaStatusCode } | { readonly kind: 'retry'; readonly statusCode: MetaStatusCode };

/** What a planner reads with: the home group's view, and other groups' leaders. */
export interface PlanReader {
  /** The group key of a route. */
  readonly homeKey: string;
  /**
   * Plan without reading what the other groups will check anyway: a destination name in
   * another group is taken to be absent, a moved inode to have its entry's type. A wrong
   * guess fails that group's condition (TX_MISMATCH) and the next attempt reads.
   */
  readonly guess: boolean;
  /** True when the route's group is the home group (its reads are free: the leader view). */
  isHome(route: TxRoute): boolean;
  dentry(route: TxRoute, parent: number, name: string): Promise<Dentry | undefined | MetaStatusCode>;
  inode(route: TxRoute, inodeId: number): Promise<Inode | undefined | MetaStatusCode>;
}

/** The file system's routes, by partition and by inode id. */
export class RouteTable {
  private readonly byPartition = new Map<number, TxRoute>();
  private readonly sorted: TxRoute[];

  constructor(routes: readonly TxRoute[]) {
    for (const route of routes) this.byPartition.set(route.partitionId, route);
    this.sorted = [...routes].sort((a, b) => a.start - b.start);
  }

  partition(partitionId: number): TxRoute | undefined {
    return this.byPartition.get(partitionId);
  }

  /** The partition holding inode `inodeId` (and a directory's entries). */
  ofInode(inodeId: number): TxRoute | undefined {
    for (const route of this.sorted) if (inodeId >= route.start && inodeId <= route.end) return route;
    return undefined;
  }
}

export function addressOf(route: TxRoute): CopysetAddress {
  return { poolId: route.poolId, copysetId: route.copysetId, peers: route.peers };
}

class PartsBuilder {
  readonly parts = new Map<string, PlannedPart>();

  constructor(homeAddress: CopysetAddress, homeKey: string) {
    this.parts.set(homeKey, { address: homeAddress, conditions: [], effects: [] });
  }

  private partOf(route: TxRoute): PlannedPart {
    const key = groupKeyOf(route.poolId, route.copysetId);
    let part = this.parts.get(key);
    if (part === undefined) this.parts.set(key, (part = { address: addressOf(route), conditions: [], effects: [] }));
    return part;
  }

  condition(route: TxRoute, condition: TxCondition): void {
    this.partOf(route).conditions.push(condition);
  }

  effect(route: TxRoute, effect: TxEffect): void {
    this.partOf(route).effects.push(effect);
  }

  /**
   * The inode a removed name (unlink, rmdir, rename over it) named, where it lives: its
   * type checked, a directory also empty (the seal); a file loses one link, a directory
   * all of them; `parent` leaves its parent list.
   */
  loseName(route: TxRoute, inodeId: number, type: FsFileType, parent: number, directory: boolean): void {
    this.condition(route, { c: 'inode', partitionId: route.partitionId, inodeId, type, linkable: false });
    if (directory) this.condition(route, { c: 'empty', partitionId: route.partitionId, inodeId });
    this.effect(route, { e: 'relink', partitionId: route.partitionId, inodeId, nlinkDelta: directory ? 0 : -1, zero: directory, parentRemove: parent, parentAdd: null });
  }
}

/** The time and the parts as sent: each group's TxPart. */
export function partOf(planned: PlannedPart, time: Time): TxPart {
  return { time, conditions: planned.conditions, effects: planned.effects };
}

type Read<T> = T | undefined | MetaStatusCode;
const isStatus = (value: unknown): value is MetaStatusCode => typeof value === 'number';

/** A status met while reading: final refusals stay, transient ones retry the attempt. */
function readFailed(statusCode: MetaStatusCode): PlanResult {
  const transient: number[] = [MetaStatusCode.OVERLOAD, MetaStatusCode.REDIRECTED, MetaStatusCode.COPYSET_NOTEXIST, MetaStatusCode.UNKNOWN_ERROR, MetaStatusCode.TX_TIMEOUT];
  return transient.includes(statusCode) ? { kind: 'retry', statusCode } : { kind: 'reply', statusCode };
}

export interface RenameInput {
  readonly fsId: number;
  readonly src: { partitionId: number; parentInodeId: number; name: string };
  readonly dst: { partitionId: number; parentInodeId: number; name: string };
}

export async function planRename(reader: PlanReader, routes: RouteTable, home: CopysetAddress, input: RenameInput): Promise<PlanResult> {
  const { src, dst, fsId } = input;
  const srcRoute = routes.partition(src.partitionId);
  const dstRoute = routes.partition(dst.partitionId);
  if (srcRoute === undefined || dstRoute === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
  const source: Read<Dentry> = await reader.dentry(srcRoute, src.parentInodeId, src.name);
  if (isStatus(source)) return readFailed(source);
  if (source === undefined) return { kind: 'reply', statusCode: MetaStatusCode.NOT_FOUND };
  if (src.parentInodeId === dst.parentInodeId && src.name === dst.name) return { kind: 'reply', statusCode: MetaStatusCode.OK };
  const movedRoute = routes.ofInode(source.inodeId);
  if (movedRoute === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
  // Independent reads go out together. The destination parent is not read: its group
  // checks it (condition 'parent'), so a rename does not wait for a tx that is still
  // resolving a delta on that directory.
  // A file's rename reads nothing remote on its first attempt: the entry gives the type,
  // the destination is guessed absent, and the groups' conditions check both (§0).
  const guessType = reader.guess && source.type !== undefined && source.type !== FsFileType.TYPE_DIRECTORY && !reader.isHome(movedRoute);
  const guessAbsent = reader.guess && !reader.isHome(dstRoute);
  const [moved, target] = await Promise.all([
    guessType ? { type: source.type! } : reader.inode(movedRoute, source.inodeId),
    guessAbsent ? undefined : reader.dentry(dstRoute, dst.parentInodeId, dst.name),
  ]);
  if (isStatus(moved)) return readFailed(moved);
  if (moved === undefined) return { kind: 'reply', statusCode: MetaStatusCode.NOT_FOUND };
  const isDirectory = moved.type === FsFileType.TYPE_DIRECTORY;
  if (isStatus(target)) return readFailed(target);
  let replaced: { route: TxRoute; inode: Inode } | undefined;
  if (target !== undefined) {
    if (target.inodeId === source.inodeId) return { kind: 'reply', statusCode: MetaStatusCode.OK };
    const route = routes.ofInode(target.inodeId);
    if (route === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
    const inode = await reader.inode(route, target.inodeId);
    if (isStatus(inode)) return readFailed(inode);
    if (inode === undefined) return { kind: 'retry', statusCode: MetaStatusCode.TX_MISMATCH };
    // A directory replaces only a directory, a non-directory only a non-directory (EISDIR / ENOTDIR).
    if ((inode.type === FsFileType.TYPE_DIRECTORY) !== isDirectory) return { kind: 'reply', statusCode: MetaStatusCode.PARAM_ERROR };
    replaced = { route, inode };
  }
  const changesParent = src.parentInodeId !== dst.parentInodeId;
  const parts = new PartsBuilder(home, reader.homeKey);
  parts.condition(srcRoute, { c: 'dentry', partitionId: src.partitionId, parent: src.parentInodeId, name: src.name, inodeId: source.inodeId });
  parts.effect(srcRoute, { e: 'delDentry', partitionId: src.partitionId, parent: src.parentInodeId, name: src.name });
  parts.effect(srcRoute, { e: 'touchDir', partitionId: src.partitionId, inodeId: src.parentInodeId, nlinkDelta: isDirectory && changesParent ? -1 : 0 });
  parts.condition(dstRoute, { c: 'dentry', partitionId: dst.partitionId, parent: dst.parentInodeId, name: dst.name, inodeId: target?.inodeId ?? null });
  parts.condition(dstRoute, { c: 'parent', partitionId: dst.partitionId, inodeId: dst.parentInodeId });
  parts.effect(dstRoute, {
    e: 'putDentry',
    partitionId: dst.partitionId,
    parent: dst.parentInodeId,
    name: dst.name,
    inodeId: source.inodeId,
    type: moved.type,
    flag: source.flag ?? dentryFlagOf(moved.type),
  });
  const dstDelta = (isDirectory && changesParent ? 1 : 0) - (replaced !== undefined && isDirectory ? 1 : 0);
  parts.effect(dstRoute, { e: 'touchDir', partitionId: dst.partitionId, inodeId: dst.parentInodeId, nlinkDelta: dstDelta });
  parts.condition(movedRoute, { c: 'inode', partitionId: movedRoute.partitionId, inodeId: source.inodeId, type: moved.type, linkable: false });
  parts.effect(movedRoute, {
    e: 'relink',
    partitionId: movedRoute.partitionId,
    inodeId: source.inodeId,
    nlinkDelta: 0,
    zero: false,
    parentRemove: changesParent ? src.parentInodeId : null,
    parentAdd: changesParent ? dst.parentInodeId : null,
  });
  if (replaced !== undefined) {
    parts.loseName(replaced.route, replaced.inode.inodeId, replaced.inode.type, dst.parentInodeId, isDirectory);
  }
  const plan: Plan = { kind: 'rename', parts: parts.parts };
  if (isDirectory && changesParent) {
    const anchor = routes.ofInode(ROOT_INODE_ID);
    if (anchor === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
    return { kind: 'plan', plan: { ...plan, dirMove: { anchor: addressOf(anchor), movedId: source.inodeId, from: dst.parentInodeId } } };
  }
  void fsId;
  return { kind: 'plan', plan };
}

export interface LinkInput {
  readonly inodeId: number;
  readonly dst: { partitionId: number; parentInodeId: number; name: string };
}

export async function planLink(reader: PlanReader, routes: RouteTable, home: CopysetAddress, input: LinkInput): Promise<PlanResult> {
  const { dst, inodeId } = input;
  const dstRoute = routes.partition(dst.partitionId);
  const inodeRoute = routes.ofInode(inodeId);
  if (dstRoute === undefined || inodeRoute === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
  const [parentCheck, inode] = await Promise.all([checkNewName(reader, dstRoute, dst), reader.inode(inodeRoute, inodeId)]);
  if (parentCheck !== undefined) return parentCheck;
  if (isStatus(inode)) return readFailed(inode);
  if (inode === undefined || inode.nlink === 0) return { kind: 'reply', statusCode: MetaStatusCode.NOT_FOUND };
  if (inode.type === FsFileType.TYPE_DIRECTORY) return { kind: 'reply', statusCode: MetaStatusCode.PARAM_ERROR };
  const parts = new PartsBuilder(home, reader.homeKey);
  newName(parts, dstRoute, dst, inodeId, inode.type, 0);
  parts.condition(inodeRoute, { c: 'inode', partitionId: inodeRoute.partitionId, inodeId, type: inode.type, linkable: true });
  parts.effect(inodeRoute, { e: 'relink', partitionId: inodeRoute.partitionId, inodeId, nlinkDelta: 1, zero: false, parentRemove: null, parentAdd: dst.parentInodeId });
  return { kind: 'plan', plan: { kind: 'link', parts: parts.parts } };
}

export interface CreateInput {
  readonly dst: { partitionId: number; parentInodeId: number; name: string };
  readonly inodePartitionId: number;
  readonly spec: NewInodeSpec;
}

export async function planCreate(reader: PlanReader, routes: RouteTable, home: CopysetAddress, input: CreateInput): Promise<PlanResult> {
  const { dst, spec } = input;
  const dstRoute = routes.partition(dst.partitionId);
  const inodeRoute = routes.partition(input.inodePartitionId);
  if (dstRoute === undefined || inodeRoute === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
  const parentCheck = await checkNewName(reader, dstRoute, dst);
  if (parentCheck !== undefined) return parentCheck;
  const parts = new PartsBuilder(home, reader.homeKey);
  parts.effect(inodeRoute, { e: 'allocInode', partitionId: inodeRoute.partitionId, spec: { ...spec, parent: dst.parentInodeId } });
  newName(parts, dstRoute, dst, NEW_INODE, spec.type, spec.type === FsFileType.TYPE_DIRECTORY ? 1 : 0);
  const creator = groupKeyOf(inodeRoute.poolId, inodeRoute.copysetId);
  return { kind: 'plan', plan: { kind: 'create', parts: parts.parts, ...(creator === reader.homeKey ? {} : { createdBy: creator }) } };
}

export interface UnlinkInput {
  readonly name: { partitionId: number; parentInodeId: number; name: string };
  readonly directory: boolean;
}

export async function planUnlink(reader: PlanReader, routes: RouteTable, home: CopysetAddress, input: UnlinkInput): Promise<PlanResult> {
  const { name, directory } = input;
  const route = routes.partition(name.partitionId);
  if (route === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
  const entry = await reader.dentry(route, name.parentInodeId, name.name);
  if (isStatus(entry)) return readFailed(entry);
  if (entry === undefined) return { kind: 'reply', statusCode: MetaStatusCode.NOT_FOUND };
  const inodeRoute = routes.ofInode(entry.inodeId);
  if (inodeRoute === undefined) return { kind: 'reply', statusCode: MetaStatusCode.TX_MISMATCH };
  // The entry's type stands for the inode's on a first attempt (its group checks it).
  const guessType = reader.guess && entry.type !== undefined && !reader.isHome(inodeRoute);
  const inode = guessType ? { type: entry.type! } : await reader.inode(inodeRoute, entry.inodeId);
  if (isStatus(inode)) return readFailed(inode);
  if (inode === undefined) return { kind: 'retry', statusCode: MetaStatusCode.TX_MISMATCH };
  if ((inode.type === FsFileType.TYPE_DIRECTORY) !== directory) return { kind: 'reply', statusCode: MetaStatusCode.PARAM_ERROR };
  const parts = new PartsBuilder(home, reader.homeKey);
  parts.condition(route, { c: 'dentry', partitionId: name.partitionId, parent: name.parentInodeId, name: name.name, inodeId: entry.inodeId });
  parts.effect(route, { e: 'delDentry', partitionId: name.partitionId, parent: name.parentInodeId, name: name.name });
  parts.effect(route, { e: 'touchDir', partitionId: name.partitionId, inodeId: name.parentInodeId, nlinkDelta: directory ? -1 : 0 });
  parts.loseName(inodeRoute, entry.inodeId, inode.type, name.parentInodeId, directory);
  return { kind: 'plan', plan: { kind: directory ? 'rmdir' : 'unlink', parts: parts.parts } };
}

/** The new name must be absent (its directory is checked by the 'parent' condition). */
async function checkNewName(reader: PlanReader, route: TxRoute, dst: { parentInodeId: number; name: string }): Promise<PlanResult | undefined> {
  const existing = await reader.dentry(route, dst.parentInodeId, dst.name);
  if (isStatus(existing)) return readFailed(existing);
  if (existing !== undefined) return { kind: 'reply', statusCode: MetaStatusCode.DENTRY_EXIST };
  return undefined;
}

function newName(parts: PartsBuilder, route: TxRoute, dst: { partitionId: number; parentInodeId: number; name: string }, inodeId: number, type: FsFileType, nlinkDelta: number): void {
  parts.condition(route, { c: 'dentry', partitionId: dst.partitionId, parent: dst.parentInodeId, name: dst.name, inodeId: null });
  parts.condition(route, { c: 'parent', partitionId: dst.partitionId, inodeId: dst.parentInodeId });
  parts.effect(route, { e: 'putDentry', partitionId: dst.partitionId, parent: dst.parentInodeId, name: dst.name, inodeId, type, flag: dentryFlagOf(type) });
  parts.effect(route, { e: 'touchDir', partitionId: dst.partitionId, inodeId: dst.parentInodeId, nlinkDelta });
}
