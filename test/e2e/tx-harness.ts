/**
 * Helpers for the end-to-end tests of operations across copysets (docs/transactions.md
 * §18 item 5) against real processes: a seeded random source, the classification of an
 * operation's outcome as the client saw it, placement of a directory or file in a chosen
 * partition, an fsck that walks the namespace over gRPC (ListDentry + GetInode), and a
 * check that reads meet no transaction intent any more (none is answered OVERLOAD).
 */
import {
  ClientCallError,
  FsClient,
  META_SERVICE,
  MetaClientError,
  metaStatusName,
  systemTime,
  type MetaServerClient,
  type PartitionRoute,
} from '../../src/client/index.ts';
import { routedTo } from '../../src/client/fs-calls.ts';
import { clusterClient } from '../../src/demo/cluster-setup.ts';
import { FsFileType, MetaStatusCode, type Inode, type PartitionInfo } from '../../src/proto/index.ts';
import { FS_ID, ROOT, sleep } from './e2e-harness.ts';
import { mulberry32 } from '../../src/testing/random.ts';

/** The recycle directory's inode id (created with the root; wire.md). */
export const RECYCLE = 2;
/** Entries per ListDentry page of the fsck walk. */
const FSCK_PAGE = 1_000;
/** A read of the quiet pass: time for a leader election; a read that meets an intent is answered OVERLOAD sooner. */
const READ_DEADLINE_MS = 10_000;
/** Inodes fetched at once by the fsck walk. */
const FSCK_CONCURRENCY = 8;

/** A seeded generator, uniform in [0, 1): the seed replays a schedule. */
export const seededRandom = mulberry32;

/** An integer in [low, high], drawn from `random`. */
export function between(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/**
 * What the client learnt of an operation: 'ok' (applied), 'failed' (a definite refusal:
 * not applied), 'unknown' (no answer, or an answer saying the outcome is unknown: the
 * operation may or may not have been applied).
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

/**
 * Statuses that do not tell whether the operation happened: UNKNOWN_ERROR is what a
 * server answers for a write whose proposal's fate it does not know; TX_TIMEOUT a
 * coordinator that lost track of a secondary.
 */
const UNDECIDED_STATUSES = new Set(['UNKNOWN_ERROR', 'TX_TIMEOUT']);

export function outcomeOf(error: unknown): Outcome {
  if (error instanceof MetaClientError) return UNDECIDED_STATUSES.has(error.code) ? 'unknown' : 'failed';
  if (error instanceof ClientCallError) return 'unknown';
  // FsError and RoutingError are refused before any write; anything else is not understood.
  return error instanceof Error && (error.name === 'FsError' || error.name === 'RoutingError') ? 'failed' : 'unknown';
}

/** Runs `operation` and classifies it; `errors` collects the messages of the failures. */
export async function attempt<T>(operation: () => Promise<T>, errors: string[]): Promise<{ outcome: Outcome; value?: T }> {
  try {
    return { outcome: 'ok', value: await operation() };
  } catch (error) {
    errors.push((error as Error).message);
    return { outcome: outcomeOf(error) };
  }
}

/** The partition of the file system numbered `partitionId` (1-based, as partitionLayout numbers them). */
export function partitionOf(routes: readonly PartitionRoute[], partitionId: number): PartitionInfo {
  const route = routes.find((r) => r.partition.partitionId === partitionId);
  if (route === undefined) throw new Error(`no partition ${partitionId} in the table`);
  return route.partition;
}

/**
 * Creates a node whose inode lives in `partition` (not where the client would place it):
 * CreateInode there, then CreateDentry under `parent` (the server adds 1 to the parent's
 * nlink for a directory). A setup step, run before any fault: the two calls need not
 * be atomic.
 */
export async function placeNode(fs: FsClient, parent: number, name: string, type: FsFileType, partition: PartitionInfo): Promise<Inode> {
  const options = { deadlineMs: fs.calls.client.deadline() };
  const time = systemTime();
  const mode = type === FsFileType.TYPE_DIRECTORY ? 0o755 : 0o644;
  const inode = await fs.calls.createInodeIn(partition, { type, parent, mode, uid: 0, gid: 0 }, time, options);
  await fs.calls.createDentry(parent, name, inode.inodeId, type, time, options);
  return inode;
}

/** What fsck saw: every directory's entries (dir → name → inode id) and every inode reached. */
export interface Namespace {
  readonly entries: Map<number, Map<string, number>>;
  readonly inodes: Map<number, Inode>;
}

export interface FsckResult {
  readonly namespace: Namespace;
  /** Broken rules, one line each; empty when the namespace is sound. */
  readonly violations: string[];
}

/** Every entry of a directory, by ListDentry pages. */
async function listAll(fs: FsClient, dir: number): Promise<{ name: string; inodeId: number; type: FsFileType | undefined }[]> {
  const all: { name: string; inodeId: number; type: FsFileType | undefined }[] = [];
  for await (const dentry of fs.readdir(dir, FSCK_PAGE)) all.push({ name: dentry.name, inodeId: dentry.inodeId, type: dentry.type });
  return all;
}

function sameMultiset(a: readonly number[], b: readonly number[]): boolean {
  const sorted = (xs: readonly number[]) => [...xs].sort((x, y) => x - y).join(',');
  return sorted(a) === sorted(b);
}

/**
 * fsck over gRPC (docs/transactions.md §18): walks from the root with ListDentry and
 * GetInode through a fresh client and checks that no dentry names a missing inode or
 * one in the trash (nlink 0), that the dentry's type is the inode's, that a file's nlink
 * equals the names naming it and its parent list the multiset of their directories,
 * that a directory has one name, parent list [its parent] and nlink 2 + subdirectories,
 * and that no directory is reached twice (no cycle).
 */
export async function fsckOverGrpc(routes: readonly PartitionRoute[], retry: { operationTimeoutMs: number }): Promise<FsckResult> {
  const client = clusterClient(routes, retry);
  const fs = new FsClient({ client, fsId: FS_ID });
  const violations: string[] = [];
  const entries = new Map<number, Map<string, number>>();
  const inodes = new Map<number, Inode>();
  /** inode id → the directories of the names naming it (one per name). */
  const namedBy = new Map<number, number[]>();
  const subdirectories = new Map<number, number>();
  try {
    inodes.set(ROOT, await fs.getattr(ROOT));
    const queue = [ROOT];
    while (queue.length > 0) {
      const dir = queue.shift()!;
      const listed = await listAll(fs, dir);
      entries.set(dir, new Map(listed.map((e) => [e.name, e.inodeId])));
      subdirectories.set(dir, 0);
      for (let i = 0; i < listed.length; i += FSCK_CONCURRENCY) {
        await Promise.all(listed.slice(i, i + FSCK_CONCURRENCY).map((e) => fetchInode(fs, e.inodeId, inodes, violations, `${dir}/${e.name}`)));
      }
      for (const e of listed) {
        namedBy.set(e.inodeId, [...(namedBy.get(e.inodeId) ?? []), dir]);
        const inode = inodes.get(e.inodeId);
        if (inode === undefined) continue;
        if (inode.nlink === 0) violations.push(`dentry ${dir}/${e.name} names inode ${e.inodeId} with nlink 0 (in the trash)`);
        if (e.type !== undefined && e.type !== inode.type) violations.push(`dentry ${dir}/${e.name} has type ${e.type}, inode ${e.inodeId} type ${inode.type}`);
        if (inode.type !== FsFileType.TYPE_DIRECTORY) continue;
        subdirectories.set(dir, subdirectories.get(dir)! + 1);
        if (entries.has(e.inodeId) || queue.includes(e.inodeId)) violations.push(`directory ${e.inodeId} reached twice (at ${dir}/${e.name})`);
        else queue.push(e.inodeId);
      }
    }
  } finally {
    client.close();
  }
  for (const [inodeId, inode] of inodes) {
    const parents = inodeId === ROOT ? [] : (namedBy.get(inodeId) ?? []);
    if (inode.type === FsFileType.TYPE_DIRECTORY) {
      const expected = 2 + (subdirectories.get(inodeId) ?? 0);
      if (inode.nlink !== expected) violations.push(`directory ${inodeId}: nlink ${inode.nlink}, expected 2 + ${expected - 2} subdirectories`);
      if (inodeId !== ROOT && parents.length !== 1) violations.push(`directory ${inodeId}: ${parents.length} names`);
      if (inodeId !== ROOT && !sameMultiset(inode.parent, parents)) violations.push(`directory ${inodeId}: parent list [${inode.parent}], named in [${parents}]`);
      continue;
    }
    if (inode.nlink !== parents.length) violations.push(`file ${inodeId}: nlink ${inode.nlink}, named ${parents.length} times (in [${parents}])`);
    if (!sameMultiset(inode.parent, parents)) violations.push(`file ${inodeId}: parent list [${inode.parent}], named in [${parents}]`);
  }
  return { namespace: { entries, inodes }, violations };
}

async function fetchInode(fs: FsClient, inodeId: number, inodes: Map<number, Inode>, violations: string[], where: string): Promise<void> {
  if (inodes.has(inodeId)) return;
  try {
    inodes.set(inodeId, await fs.getattr(inodeId));
  } catch (error) {
    violations.push(`dentry ${where} names inode ${inodeId}, GetInode: ${(error as Error).message}`);
  }
}

/** The directories (of `dirs`) where `name` names `inodeId`. */
export function placesOf(namespace: Namespace, dirs: readonly number[], name: string): { dir: number; inodeId: number }[] {
  return dirs.flatMap((dir) => {
    const inodeId = namespace.entries.get(dir)?.get(name);
    return inodeId === undefined ? [] : [{ dir, inodeId }];
  });
}

/** The keys a read pass touches: directories to list, names to look up, inodes to get. */
export interface ReadPass {
  readonly dirs: readonly number[];
  readonly names: readonly { parent: number; name: string }[];
  readonly inodes: readonly number[];
}

/** How a read of the pass ends: OK and NOT_FOUND are answers; OVERLOAD is a read that met an intent. */
const ANSWERED = new Set<number>([MetaStatusCode.OK, MetaStatusCode.NOT_FOUND]);

/**
 * One read at the copyset's leader whose OVERLOAD answer is final (MetaServerClient
 * would retry it): a read that meets an intent waits for it up to the servers'
 * LOCK_WAIT_BUDGET_MS and is then answered OVERLOAD. Returns the status.
 */
async function readAtLeader(client: MetaServerClient, method: 'ListDentry' | 'GetDentry' | 'GetInode', request: { readonly poolId: number; readonly copysetId: number; readonly [field: string]: unknown }): Promise<number> {
  const response = await client.caller.call({
    copyset: { poolId: request.poolId, copysetId: request.copysetId },
    service: META_SERVICE,
    method,
    request: () => request as never,
    verdict: (answer) => {
      const status = (answer as { statusCode: number }).statusCode;
      return status === MetaStatusCode.REDIRECTED || status === MetaStatusCode.COPYSET_NOTEXIST ? 'not-leader' : 'final';
    },
  });
  return (response as { statusCode: number }).statusCode;
}

/**
 * One pass of reads at the leaders: ListDentry of each directory, GetDentry of each
 * name, GetInode of each inode. Returns the reads not answered OK or NOT_FOUND (an
 * OVERLOAD: the read met an intent that stayed unresolved; or no answer at all).
 */
export async function unansweredReads(client: MetaServerClient, pass: ReadPass): Promise<string[]> {
  const calls = new FsClient({ client, fsId: FS_ID }).calls;
  const missed: string[] = [];
  const read = async (what: string, call: () => Promise<number>): Promise<void> => {
    try {
      const status = await call();
      if (!ANSWERED.has(status)) missed.push(`${what}: ${metaStatusName(status)}`);
    } catch (error) {
      missed.push(`${what}: ${(error as Error).message}`);
    }
  };
  const fsId = FS_ID;
  const reads = [
    ...pass.dirs.map((dirInodeId) => () => read(`ListDentry ${dirInodeId}`, () => readAtLeader(client, 'ListDentry', { ...routedTo(calls.dentryPartition(dirInodeId)), fsId, dirInodeId, count: FSCK_PAGE }))),
    ...pass.names.map(({ parent, name }) => () => read(`GetDentry ${parent}/${name}`, () => readAtLeader(client, 'GetDentry', { ...routedTo(calls.dentryPartition(parent)), fsId, parentInodeId: parent, name }))),
    ...pass.inodes.map((inodeId) => () => read(`GetInode ${inodeId}`, () => readAtLeader(client, 'GetInode', { ...routedTo(calls.inodePartition(inodeId)), fsId, inodeId }))),
  ];
  for (let i = 0; i < reads.length; i += FSCK_CONCURRENCY) await Promise.all(reads.slice(i, i + FSCK_CONCURRENCY).map((r) => r()));
  return missed;
}

/**
 * Repeats read passes until one is answered in full (every intent resolved) or
 * `timeoutMs` runs out; returns the passes made and the misses of the last one (empty:
 * quiet).
 */
export async function waitForQuietReads(routes: readonly PartitionRoute[], pass: ReadPass, timeoutMs: number): Promise<{ passes: number; missed: string[] }> {
  const client = clusterClient(routes, { operationTimeoutMs: READ_DEADLINE_MS });
  const deadline = Date.now() + timeoutMs;
  let passes = 0;
  let missed: string[] = [];
  try {
    for (;;) {
      passes++;
      missed = await unansweredReads(client, pass);
      if (missed.length === 0 || Date.now() > deadline) return { passes, missed };
      await sleep(200);
    }
  } finally {
    client.close();
  }
}
