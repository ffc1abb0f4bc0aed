/**
 * fsck for a quiescent cluster (docs/transactions.md §18): reads every copyset's
 * LEADER store in this process and checks the namespace of one file system across all
 * its partitions, the transaction state left behind, and that the replicas of each
 * copyset hold the same state. Returns the violations found; none = clean.
 *
 * Namespace rules (POSIX counts as metaraft keeps them):
 * - a live non-directory's nlink = the number of dentries naming it;
 * - a live directory's nlink = 2 + its subdirectories, and it has exactly one name
 *   (the root none);
 * - a live inode's `parent` list = the multiset of the parents of the dentries naming it;
 * - every dentry names an inode that exists, in the partition owning its id, and that
 *   is not in the trash; a dentry lives in the partition owning its parent's id;
 * - every live directory is reachable from the root (no cycle, no orphan directory);
 * - no live file without a name (the root and the recycle directory aside);
 * - the trash is exactly the inodes with nlink 0 (which carry a dtime).
 * "Live" means nlink > 0; inodes in the trash are exempt from the name rules.
 *
 * Transaction state: no intent may be left after quiescence; committed records are
 * kept for a retention window, so they are allowed only with `allowRecords`.
 */
import type { Dentry, Inode, PartitionInfo } from '../../src/metastore/types.ts';
import { FsFileType, RECYCLE_INODE_ID, ROOT_INODE_ID } from '../../src/metastore/types.ts';
import type { MetaStore } from '../../src/metastore/metastore.ts';
import type { MetaServer } from '../../src/server/meta-server.ts';

/** Wait this long for the replicas of a copyset to reach the same applied index. */
export const REPLICA_CATCH_UP_MS = 10_000;
/**
 * Wait this long for every intent to be resolved before checking: resolution runs after
 * the reply (docs/transactions.md §3), and a lost coordinator's intents go only after
 * INTENT_QUERY_AFTER_MS + TX_PREPARE_TIMEOUT_MS (§11) plus an election.
 */
export const QUIESCE_WAIT_MS = 12_000;
const POLL_MS = 20;
/** Every id, every entry: the metastore's listing calls take a limit. */
const ALL = Number.MAX_SAFE_INTEGER;

export type FsckRule =
  | 'FILE_NLINK'
  | 'DIR_NLINK'
  | 'DIR_NAMES'
  | 'PARENT_LIST'
  | 'DANGLING_DENTRY'
  | 'DENTRY_TO_TRASH'
  | 'DENTRY_TYPE'
  | 'MISPLACED_DENTRY'
  | 'MISPLACED_INODE'
  | 'DUPLICATE_INODE'
  | 'UNREACHABLE_DIR'
  | 'ORPHAN_FILE'
  | 'TRASH_STATE'
  | 'ROOT_MISSING'
  | 'NO_PARTITIONS'
  | 'INTENTS_LEFT'
  | 'RECORDS_LEFT'
  | 'REPLICAS_LAGGING'
  | 'REPLICA_DIVERGED';

export interface Violation {
  readonly rule: FsckRule;
  readonly detail: string;
}

export interface FsckOptions {
  /** Committed records are kept for a retention window: allow them (intents never are). */
  readonly allowRecords?: boolean;
  /** Compare the state hashes of every replica (default true). */
  readonly compareReplicas?: boolean;
  readonly replicaWaitMs?: number;
  /** How long to wait for every replica to hold no intent before checking (0: do not wait). */
  readonly quiesceMs?: number;
}

/** What fsck needs of a cluster (TxCluster has it). */
export interface FsckTarget {
  readonly poolId: number;
  readonly copysetIds: readonly number[];
  leaderOf(poolId: number, copysetId: number): Promise<MetaServer>;
  replicaStores(poolId: number, copysetId: number): { server: number; store: MetaStore }[];
  /** How many replicas replicaStores must list before they are compared (a restarted server loads first). */
  expectedReplicas(poolId: number, copysetId: number): number;
}

/** One partition's content, copied out of a store. */
export interface PartitionContent {
  readonly info: PartitionInfo;
  readonly inodes: readonly Inode[];
  readonly dentries: readonly Dentry[];
}

/** The transaction counters a store exposes (read defensively: older stores have none). */
export interface TxCounts {
  readonly intentCount: number;
  readonly recordCount: number;
}

export async function fsck(cluster: FsckTarget, fsId: number, options: FsckOptions = {}): Promise<Violation[]> {
  const violations: Violation[] = [];
  await waitForNoIntents(cluster, options.quiesceMs ?? QUIESCE_WAIT_MS);
  if (options.compareReplicas ?? true) {
    for (const copysetId of cluster.copysetIds) violations.push(...(await compareReplicas(cluster, copysetId, options.replicaWaitMs ?? REPLICA_CATCH_UP_MS)));
  }
  const leaders = new Map<number, MetaStore>();
  for (const copysetId of cluster.copysetIds) {
    const node = (await cluster.leaderOf(cluster.poolId, copysetId)).copysetOf(cluster.poolId, copysetId);
    if (node !== undefined) leaders.set(copysetId, node.store);
  }
  // One synchronous pass over all leader stores: no entry applies in between.
  const partitions: PartitionContent[] = [];
  for (const [copysetId, store] of leaders) {
    partitions.push(...partitionsOf(store, fsId));
    violations.push(...checkTxState(`copyset ${cluster.poolId}/${copysetId}`, txCountsOf(store), options));
  }
  violations.push(...checkNamespace(partitions));
  return violations;
}

/** `intentCount` and `recordCount` of a store's transaction state, 0 when it has none. */
export function txCountsOf(store: MetaStore): TxCounts {
  const tx = (store as unknown as { tx?: Partial<TxCounts> }).tx;
  return { intentCount: tx?.intentCount ?? 0, recordCount: tx?.recordCount ?? 0 };
}

export function checkTxState(where: string, counts: TxCounts, options: FsckOptions = {}): Violation[] {
  const violations: Violation[] = [];
  if (counts.intentCount !== 0) violations.push({ rule: 'INTENTS_LEFT', detail: `${where}: ${counts.intentCount} intent(s) left after quiescence` });
  if (counts.recordCount !== 0 && !(options.allowRecords ?? false)) violations.push({ rule: 'RECORDS_LEFT', detail: `${where}: ${counts.recordCount} committed record(s) left` });
  return violations;
}

/** The partitions of `fsId` held by a store, copied. */
export function partitionsOf(store: MetaStore, fsId: number): PartitionContent[] {
  const found: PartitionContent[] = [];
  for (const partitionId of store.partitionIds()) {
    const info = store.partitionInfoRaw(partitionId);
    if (info === undefined || info.fsId !== fsId) continue;
    const inodes = store.inodeIds(partitionId, ALL).map((id) => store.getInode(partitionId, id)!);
    found.push({ info, inodes, dentries: store.dentries(partitionId, ALL) });
  }
  return found;
}

/** Waits until no replica of any copyset holds an intent, or `waitMs` passed (fsck then reports what is left). */
async function waitForNoIntents(cluster: FsckTarget, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  const intents = (): number =>
    cluster.copysetIds.reduce((sum, copysetId) => sum + cluster.replicaStores(cluster.poolId, copysetId).reduce((n, r) => n + txCountsOf(r.store).intentCount, 0), 0);
  while (intents() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

/**
 * Waits until every running replica of the copyset has applied the same index, then
 * compares their state hashes (read in one synchronous step, so no entry applies between).
 */
async function compareReplicas(cluster: FsckTarget, copysetId: number, waitMs: number): Promise<Violation[]> {
  const where = `copyset ${cluster.poolId}/${copysetId}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const replicas = cluster.replicaStores(cluster.poolId, copysetId);
    const indexes = replicas.map((r) => r.store.appliedIndex);
    const allLoaded = replicas.length >= cluster.expectedReplicas(cluster.poolId, copysetId);
    if (allLoaded && indexes.every((index) => index === indexes[0])) {
      const hashes = replicas.map((r) => ({ server: r.server, hash: r.store.stateHash() }));
      const distinct = new Set(hashes.map((h) => h.hash));
      if (distinct.size <= 1) return [];
      return [{ rule: 'REPLICA_DIVERGED', detail: `${where} at applied index ${indexes[0]}: ${hashes.map((h) => `server ${h.server} ${h.hash}`).join(', ')}` }];
    }
    if (Date.now() > deadline) {
      return [{ rule: 'REPLICAS_LAGGING', detail: `${where}: applied indexes ${replicas.map((r) => `server ${r.server} ${r.store.appliedIndex}`).join(', ')} ${allLoaded ? 'not equal' : `(${replicas.length} loaded of ${cluster.expectedReplicas(cluster.poolId, copysetId)})`} after ${waitMs} ms` }];
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const isDirectory = (inode: Inode): boolean => inode.type === FsFileType.TYPE_DIRECTORY;
const isLive = (inode: Inode): boolean => inode.nlink > 0;

type Report = (rule: FsckRule, detail: string) => void;

/** What the namespace checks look things up in, built once from the partitions. */
interface NamespaceIndex {
  readonly inodes: Map<number, Inode>;
  /** Per inode, the parents of the dentries naming it. */
  readonly namedBy: Map<number, number[]>;
  /** Per directory, how many of its entries name a directory. */
  readonly subdirectories: Map<number, number>;
  readonly childrenOf: Map<number, Dentry[]>;
}

/** The namespace rules of the module doc over the partitions of one file system. */
export function checkNamespace(partitions: readonly PartitionContent[]): Violation[] {
  if (partitions.length === 0) return [{ rule: 'NO_PARTITIONS', detail: 'the file system has no partition' }];
  const violations: Violation[] = [];
  const report: Report = (rule, detail) => void violations.push({ rule, detail });
  const owner = (id: number): number | undefined => partitions.find((p) => p.info.start <= id && id <= p.info.end)?.info.partitionId;
  const inodes = indexInodes(partitions, owner, report);
  const index = indexDentries(partitions, inodes, owner, report);
  checkCounts(index, report);
  checkReachable(index, report);
  return violations;
}

/** Every inode by id; placement, duplicates and trash state checked on the way. */
function indexInodes(partitions: readonly PartitionContent[], owner: (id: number) => number | undefined, report: Report): Map<number, Inode> {
  const inodes = new Map<number, Inode>();
  for (const partition of partitions) {
    const here = partition.info.partitionId;
    for (const inode of partition.inodes) {
      const id = inode.inodeId;
      if (owner(id) !== here) report('MISPLACED_INODE', `inode ${id} is held by partition ${here}, which does not own its id`);
      if (inodes.has(id)) report('DUPLICATE_INODE', `inode ${id} is held by two partitions`);
      inodes.set(id, inode);
      if (inode.nlink === 0 && inode.dtime === undefined) report('TRASH_STATE', `inode ${id} has nlink 0 but no dtime (not in the trash)`);
      if (inode.nlink > 0 && inode.dtime !== undefined && inode.dtime !== 0) report('TRASH_STATE', `inode ${id} has nlink ${inode.nlink} and a dtime`);
    }
  }
  return inodes;
}

/** Names, children and subdirectory counts; every dentry checked against its inode and placement. */
function indexDentries(partitions: readonly PartitionContent[], inodes: Map<number, Inode>, owner: (id: number) => number | undefined, report: Report): NamespaceIndex {
  const index: NamespaceIndex = { inodes, namedBy: new Map(), subdirectories: new Map(), childrenOf: new Map() };
  for (const partition of partitions) {
    for (const dentry of partition.dentries) {
      const at = `dentry ${dentry.parentInodeId}/${JSON.stringify(dentry.name)} → ${dentry.inodeId}`;
      if (owner(dentry.parentInodeId) !== partition.info.partitionId) report('MISPLACED_DENTRY', `${at} is held by partition ${partition.info.partitionId}, not by the partition of its parent`);
      push(index.namedBy, dentry.inodeId, dentry.parentInodeId);
      push(index.childrenOf, dentry.parentInodeId, dentry);
      const target = inodes.get(dentry.inodeId);
      if (target === undefined) {
        report('DANGLING_DENTRY', `${at}: the inode does not exist`);
        continue;
      }
      if (!isLive(target)) report('DENTRY_TO_TRASH', `${at}: the inode has nlink 0 (in the trash)`);
      if (dentry.type !== undefined && dentry.type !== target.type) report('DENTRY_TYPE', `${at}: entry type ${dentry.type}, inode type ${target.type}`);
      if (isDirectory(target)) index.subdirectories.set(dentry.parentInodeId, (index.subdirectories.get(dentry.parentInodeId) ?? 0) + 1);
    }
  }
  return index;
}

/** nlink against names (files) or subdirectories (directories); parent lists against names. */
function checkCounts({ inodes, namedBy, subdirectories }: NamespaceIndex, report: Report): void {
  if (!inodes.has(ROOT_INODE_ID)) report('ROOT_MISSING', `inode ${ROOT_INODE_ID} (the root) does not exist`);
  for (const inode of inodes.values()) {
    if (!isLive(inode)) continue;
    const id = inode.inodeId;
    const names = namedBy.get(id) ?? [];
    if (isDirectory(inode)) {
      const expected = 2 + (subdirectories.get(id) ?? 0);
      if (inode.nlink !== expected) report('DIR_NLINK', `directory ${id}: nlink ${inode.nlink}, expected 2 + ${expected - 2} subdirectories`);
      const wantedNames = id === ROOT_INODE_ID ? 0 : 1;
      // The recycle directory may be unnamed (a coordinator that made it without its entry).
      if (names.length !== wantedNames && !(names.length === 0 && id === RECYCLE_INODE_ID)) {
        report('DIR_NAMES', `directory ${id} has ${names.length} names (parents ${names.join(', ') || 'none'}), expected ${wantedNames}`);
      }
    } else if (names.length === 0) {
      report('ORPHAN_FILE', `inode ${id}: nlink ${inode.nlink} but no dentry names it`);
    } else if (inode.nlink !== names.length) {
      report('FILE_NLINK', `inode ${id}: nlink ${inode.nlink}, named by ${names.length} dentries`);
    }
    // An inode without names is reported above (ORPHAN_FILE, DIR_NAMES); its parent list says nothing more.
    if (id !== ROOT_INODE_ID && names.length > 0 && !sameMultiset(inode.parent, names)) {
      report('PARENT_LIST', `inode ${id}: parent list [${inode.parent.join(', ')}], dentries under [${[...names].sort((x, y) => x - y).join(', ')}]`);
    }
  }
}

/** A walk from the root over directory entries: a live directory it misses is an orphan or in a cycle. */
function checkReachable({ inodes, childrenOf }: NamespaceIndex, report: Report): void {
  if (!inodes.has(ROOT_INODE_ID)) return; // reported as ROOT_MISSING
  const reached = new Set<number>([ROOT_INODE_ID]);
  const queue = [ROOT_INODE_ID];
  while (queue.length > 0) {
    for (const dentry of childrenOf.get(queue.pop()!) ?? []) {
      const child = inodes.get(dentry.inodeId);
      if (child === undefined || !isDirectory(child) || reached.has(child.inodeId)) continue;
      reached.add(child.inodeId);
      queue.push(child.inodeId);
    }
  }
  for (const inode of inodes.values()) {
    if (isDirectory(inode) && isLive(inode) && !reached.has(inode.inodeId)) {
      report('UNREACHABLE_DIR', `directory ${inode.inodeId} (nlink ${inode.nlink}, parents [${inode.parent.join(', ')}]) is not reachable from the root`);
    }
  }
}

/** One line per violation, for test failure messages. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.length === 0 ? 'clean' : violations.map((v) => `${v.rule}: ${v.detail}`).join('\n');
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function sameMultiset(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  return x.every((value, i) => value === y[i]);
}
