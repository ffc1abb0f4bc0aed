/**
 * Running namespace operations from several FsClients at once against a TxCluster and
 * recording what they answered, for the linearizability check of concurrent-model.ts;
 * plus the fault injector and the quiescence wait of the concurrent tests.
 *
 * Placement: the clients made here never place a new inode in copysets 2 and 3 (their
 * partitions are marked full in the client's table), so every new file and directory
 * lands in copyset 1 while the directories the tests work in hold their entries in
 * copysets 2 and 3. Every create, link, unlink, rmdir and rename then crosses copysets
 * and FsClient sends it through TxService as one atomic call (a rename whose parents
 * share a copyset is first offered to the single-copyset Rename, which hands it over
 * since the moved inode lives elsewhere): the only kind of operation the
 * linearizability check may hold to atomicity (the CurveFS-style single-copyset
 * sequences are several calls by design).
 */
import { ClientCallError, FsClient, FsError, MetaClientError, type RetryPolicy } from '../../src/client/index.ts';
import { FsFileType, type Inode } from '../../src/proto/index.ts';
import type { Operation } from '../../src/testing/linearizability.ts';
import { partitionsOf, txCountsOf } from './fsck.ts';
import { sleep } from '../service/harness.ts';
import type { TxCluster } from './tx-cluster.ts';
import type { Errno, NodeKind, NsInput, NsOutput } from './concurrent-model.ts';

/** The copyset every new inode goes to; the working directories' entries live in the others. */
export const NEW_INODE_COPYSET = 1;
/** How long quiesce() waits for every intent to be resolved (a lost coordinator: query delay + prepare timeout + election). */
export const QUIESCE_MS = 20_000;
const SCAN_EVERY_MS = 25;
const OWNER = { uid: 0, gid: 0 } as const;

export type NsOperation = Operation<NsInput, NsOutput>;

/** A client whose new inodes all go to copyset {@link NEW_INODE_COPYSET}; `retry` overrides the cluster's client retry policy. */
export function crossingClient(cluster: TxCluster, retry: Partial<RetryPolicy> = {}): FsClient {
  const fs = cluster.client({ retry });
  for (const partition of cluster.partitions) {
    if (partition.copysetId !== NEW_INODE_COPYSET) fs.calls.partitions.markFull(partition.partitionId);
  }
  return fs;
}

/** The errno a definite failure means, or 'unknown' when the operation may have applied. */
export function classifyError(error: unknown): Errno | 'unknown' {
  if (error instanceof FsError) {
    if (error.code === 'NOT_EMPTY') return 'ENOTEMPTY';
    if (error.code === 'IS_DIRECTORY' || error.code === 'NOT_DIRECTORY') return 'EWRONGTYPE';
    return 'unknown';
  }
  if (error instanceof MetaClientError) {
    switch (error.code) {
      case 'NOT_FOUND':
        return 'ENOENT';
      case 'DENTRY_EXIST':
      case 'INODE_EXIST':
        return 'EEXIST';
      case 'TARGET_DIRECTORY_EXIST':
        return 'ENOTEMPTY';
      case 'PARAM_ERROR':
        return 'EWRONGTYPE';
      // The coordinator aborted every attempt (docs/transactions.md §5): definitely not applied.
      case 'TX_KEY_LOCKED':
      case 'TX_FAILED':
        return 'EBUSY';
      default:
        return 'unknown';
    }
  }
  if (error instanceof ClientCallError) return 'unknown';
  // Anything else is a test bug, not an outcome.
  throw error;
}

function kindOf(inode: Inode): NodeKind {
  return inode.type === FsFileType.TYPE_DIRECTORY ? 'dir' : 'file';
}

/** Runs one operation through FsClient and says what it answered. */
export async function perform(fs: FsClient, input: NsInput): Promise<NsOutput> {
  try {
    switch (input.op) {
      case 'create': {
        const attributes = { mode: input.kind === 'dir' ? 0o755 : 0o644, ...OWNER };
        const inode = input.kind === 'dir' ? await fs.mkdir(input.dir, input.name, attributes) : await fs.create(input.dir, input.name, attributes);
        return { status: 'ok', id: inode.inodeId };
      }
      case 'link':
        await fs.link(input.id, input.dir, input.name);
        return { status: 'ok' };
      case 'unlink':
        await fs.unlink(input.dir, input.name);
        return { status: 'ok' };
      case 'rmdir':
        await fs.rmdir(input.dir, input.name);
        return { status: 'ok' };
      case 'rename':
        await fs.rename(input.srcDir, input.srcName, input.dstDir, input.dstName);
        return { status: 'ok' };
      case 'lookup': {
        const inode = await fs.lookup(input.dir, input.name);
        return { status: 'ok', id: inode.inodeId, kind: kindOf(inode) };
      }
      case 'readdir': {
        const page = await fs.readdirPage(input.dir);
        return { status: 'ok', entries: page.entries.map((dentry) => [dentry.name, dentry.inodeId] as const) };
      }
      case 'stat': {
        const inode = await fs.getattr(input.id);
        return { status: 'ok', nlink: inode.nlink, kind: kindOf(inode) };
      }
    }
  } catch (error) {
    const errno = classifyError(error);
    return errno === 'unknown' ? { status: 'unknown', detail: (error as Error).message } : { status: 'error', errno };
  }
}

/** Call and return events on one logical clock: the event loop orders them as real time does. */
export class HistoryRecorder {
  readonly operations: NsOperation[] = [];
  private clock = 0;
  private tags = 0;

  nextTag(): number {
    return ++this.tags;
  }

  /** Runs `input` as client `clientId` and records it; a read of unknown outcome is dropped (it changed nothing). */
  async run(clientId: number, fs: FsClient, input: NsInput): Promise<NsOutput> {
    const call = ++this.clock;
    const output = await perform(fs, input);
    const ret = ++this.clock;
    const isRead = input.op === 'lookup' || input.op === 'readdir' || input.op === 'stat';
    if (output.status === 'unknown' && isRead) return output;
    this.operations.push({ clientId, input, output, call, return: output.status === 'unknown' ? Number.POSITIVE_INFINITY : ret });
    return output;
  }
}

/** One fault between operations. */
export type Fault = { readonly kind: 'transfer'; readonly copysetId: number; readonly to: number } | { readonly kind: 'restart'; readonly server: number };

export function describeFault(fault: Fault): string {
  return fault.kind === 'transfer' ? `transfer leadership of copyset ${fault.copysetId} to server ${fault.to}` : `stop and restart server ${fault.server}`;
}

/** Injects one fault; failures of the admin call itself are fine (a transfer may be refused mid-election). */
export async function injectFault(cluster: TxCluster, fault: Fault): Promise<void> {
  if (fault.kind === 'transfer') {
    const target = cluster.servers[fault.to];
    if (target === undefined || !cluster.running().includes(fault.to)) return;
    const admin = cluster.admin();
    await admin
      .transferLeader({ poolId: cluster.poolId, copysetId: fault.copysetId, transferee: { address: target.peerAddress } }, { deadlineMs: admin.deadline() })
      .catch(() => undefined);
    return;
  }
  await cluster.stopServer(fault.server);
  await cluster.restartServer(fault.server);
}

/** Total intents held by every running replica of every copyset. */
export function intentsLeft(cluster: TxCluster): number {
  let total = 0;
  for (const copysetId of cluster.copysetIds) {
    for (const { store } of cluster.replicaStores(cluster.poolId, copysetId)) total += txCountsOf(store).intentCount;
  }
  return total;
}

/** Coordinator tasks still running on the running servers (a client that gave up leaves its tx retrying). */
export function tasksLeft(cluster: TxCluster): number {
  return cluster.running().reduce((sum, i) => sum + (cluster.servers[i]!.tx?.taskCount ?? 0), 0);
}

/**
 * Drives the background resolvers until no coordinator task runs and no replica holds an
 * intent; throws after `timeoutMs`.
 */
export async function quiesce(cluster: TxCluster, timeoutMs = QUIESCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (tasksLeft(cluster) > 0 || intentsLeft(cluster) > 0) {
    if (Date.now() > deadline) throw new Error(`${tasksLeft(cluster)} task(s) and ${intentsLeft(cluster)} intent(s) left ${timeoutMs} ms after the operations ended`);
    await Promise.all(cluster.running().map((i) => cluster.servers[i]!.txBackground?.scan().catch(() => undefined)));
    await sleep(SCAN_EVERY_MS);
  }
}

/**
 * Entries under a directory that is unlinked (nlink 0) or missing, read from every
 * copyset's leader store once quiescent: names the tree no longer reaches, which a
 * replaced or removed directory must never keep (docs/transactions.md §5 seal, §10).
 */
export async function namesUnderRemovedDirectories(cluster: TxCluster): Promise<string[]> {
  const inodes = new Map<number, { nlink: number }>();
  const dentries: { parent: number; name: string; inodeId: number }[] = [];
  for (const copysetId of cluster.copysetIds) {
    const store = (await cluster.leaderOf(cluster.poolId, copysetId)).copysetOf(cluster.poolId, copysetId)?.store;
    if (store === undefined) continue;
    for (const partition of partitionsOf(store, cluster.fsId)) {
      for (const inode of partition.inodes) inodes.set(inode.inodeId, inode);
      for (const dentry of partition.dentries) dentries.push({ parent: dentry.parentInodeId, name: dentry.name, inodeId: dentry.inodeId });
    }
  }
  return dentries
    .filter((dentry) => (inodes.get(dentry.parent)?.nlink ?? 0) === 0)
    .map((dentry) => `${dentry.parent}/${dentry.name} → ${dentry.inodeId} under ${inodes.has(dentry.parent) ? 'an unlinked' : 'a missing'} directory`);
}
