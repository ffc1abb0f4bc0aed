/**
 * Bench helpers shared by `replicated` and `recovery`: RaftHosts of one copyset in one
 * process over an InMemoryHub, each with a real level log store and snapshot folder, the
 * copyset's state machine and executor (CopysetNode) on every replica; and the calls a
 * file create makes (CreateInode, then CreateDentry).
 */
import { join } from 'node:path';
import type { MetaExecutor } from '../src/executor/executor.ts';
import { MetaStatusCode } from '../src/executor/status.ts';
import { InMemoryHub } from '../src/host/in-memory-transport.ts';
import { RaftHost } from '../src/host/raft-host.ts';
import type { MetaStore } from '../src/metastore/metastore.ts';
import { FsFileType, PartitionStatus, ROOT_INODE_ID } from '../src/metastore/types.ts';
import type { GroupId, NodeId } from '../src/raft/types.ts';
import { CopysetNode } from '../src/server/copyset-node.ts';
import { LogStore } from '../src/storage/log-store.ts';
import { sleep } from './harness.ts';

export const GROUP_ID: GroupId = 1;
export const POOL_ID = 1;
export const COPYSET_ID = 1;
export const FS_ID = 1;
export const PARTITION_ID = 1;
/** Election timeout of the bench hosts: the defaults (100 ms ticks, 10 ticks), as a server runs. */
const TICK_MS = 100;
const LEADER_WAIT_MS = 10_000;
/** Writes of a bench never time out on a loaded machine: a timed-out create would be a lost figure. */
const REQUEST_TIMEOUT_MS = 60_000;
const LEADER_READY_TIMEOUT_MS = 10_000;

/** One replica: its host and its copyset. */
export interface Replica {
  readonly id: NodeId;
  readonly host: RaftHost;
  readonly node: CopysetNode;
}

/** A fixed clock for the executor, so that runs are alike. */
const FIXED_TIME = { sec: 1_700_000_000, nsec: 0 };

export async function startReplica(hub: InMemoryHub, root: string, id: NodeId, fsync: boolean): Promise<Replica> {
  const dir = join(root, `host-${id}`);
  const logStore = await LogStore.open(join(dir, 'log'));
  const nodes = new Map<GroupId, CopysetNode>();
  let host: RaftHost;
  const newNode = (group: GroupId): CopysetNode => {
    const node = new CopysetNode(group, () => host, { leaderReadyTimeoutMs: LEADER_READY_TIMEOUT_MS, executorClock: () => FIXED_TIME });
    nodes.set(group, node);
    return node;
  };
  host = new RaftHost({
    nodeId: id,
    snapshotDir: join(dir, 'snapshots'),
    logStore,
    transport: hub.connect(id),
    stateMachineFactory: (group) => newNode(group).machine,
    tickMs: TICK_MS,
    fsync,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxInFlightRequests: 1 << 20,
  });
  await host.start();
  const existing = nodes.get(GROUP_ID);
  return { id, host, node: existing ?? newNode(GROUP_ID) };
}

/** Three replicas of group 1, the group created, replica 1 elected leader. */
export async function startCluster(root: string, fsync: boolean, ids: readonly NodeId[] = [1, 2, 3]): Promise<{ hub: InMemoryHub; replicas: Replica[] }> {
  const hub = new InMemoryHub();
  const replicas: Replica[] = [];
  for (const id of ids) replicas.push(await startReplica(hub, root, id, fsync));
  await Promise.all(replicas.map((r) => r.host.createGroup(GROUP_ID, { voters: ids }, r.node.machine)));
  replicas[0]!.host.campaign(GROUP_ID);
  await waitForLeader(replicas);
  return { hub, replicas };
}

export async function waitForLeader(replicas: readonly Replica[]): Promise<Replica> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    const leader = replicas.find((r) => r.host.hasGroup(GROUP_ID) && r.host.status(GROUP_ID).role === 'leader');
    if (leader !== undefined) return leader;
    if (Date.now() > deadline) throw new Error(`no leader of group ${GROUP_ID} within ${LEADER_WAIT_MS} ms`);
    await sleep(5);
  }
}

export async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.host.stop().catch(() => undefined)));
}

function expectOk(what: string, response: { statusCode: MetaStatusCode }): void {
  if (response.statusCode !== MetaStatusCode.OK) throw new Error(`${what} answered status ${response.statusCode}`);
}

export const PARTITION_INFO = { fsId: FS_ID, poolId: POOL_ID, copysetId: COPYSET_ID, partitionId: PARTITION_ID, start: 0, end: 2 ** 40, status: PartitionStatus.READWRITE };

/** The writes a create makes: CreateInode, then CreateDentry under `parent` (two log entries, as a client makes two calls). */
export interface CreateWrites {
  createInode(parent: number): Promise<number>;
  createDentry(parent: number, inodeId: number, name: string, type?: number): Promise<void>;
}

const ROUTE = { poolId: POOL_ID, copysetId: COPYSET_ID, partitionId: PARTITION_ID };

export function inodeRequest(parent: number, type: number = FsFileType.TYPE_FILE) {
  return { ...ROUTE, fsId: FS_ID, length: 0, uid: 1000, gid: 1000, mode: type === FsFileType.TYPE_DIRECTORY ? 0o40755 : 0o100644, type: type as FsFileType, parent };
}

export function dentryRequest(parent: number, inodeId: number, name: string, type: number = FsFileType.TYPE_FILE) {
  return { ...ROUTE, dentry: { fsId: FS_ID, inodeId, parentInodeId: parent, name, type: type as FsFileType } };
}

/** Creates through a leader's CopysetNode (executor → propose → applied on the leader). */
export function replicatedWrites(node: CopysetNode): CreateWrites {
  return {
    async createInode(parent) {
      const response = await node.write('CreateInode', inodeRequest(parent));
      expectOk('CreateInode', response);
      return response.inode!.inodeId;
    },
    async createDentry(parent, inodeId, name, type) {
      expectOk('CreateDentry', await node.write('CreateDentry', dentryRequest(parent, inodeId, name, type)));
    },
  };
}

/** Partition, root inode and `count` directories under the root; returns the directories' inode ids. */
export async function prepareNamespace(node: CopysetNode, count: number): Promise<number[]> {
  expectOk('CreatePartition', await node.write('CreatePartition', { partition: PARTITION_INFO }));
  expectOk('CreateRootInode', await node.write('CreateRootInode', { ...ROUTE, fsId: FS_ID, uid: 0, gid: 0, mode: 0o40755 }));
  const writes = replicatedWrites(node);
  const directories: number[] = [];
  for (let d = 0; d < count; d++) {
    const response = await node.write('CreateInode', inodeRequest(ROOT_INODE_ID, FsFileType.TYPE_DIRECTORY));
    expectOk('CreateInode (directory)', response);
    const id = response.inode!.inodeId;
    await writes.createDentry(ROOT_INODE_ID, id, `dir-${String(d).padStart(12, '0')}`, FsFileType.TYPE_DIRECTORY);
    directories.push(id);
  }
  return directories;
}

/**
 * The baseline: the same executor calls with each write applied at once (no Raft, no
 * log, no replication): execute → onProposed(next index) → store.applyEntry → onApplied.
 */
export class DirectApplier {
  private index: number;

  constructor(
    readonly store: MetaStore,
    readonly executor: MetaExecutor,
  ) {
    this.index = store.appliedIndex;
  }

  write(method: 'CreateInode' | 'CreateDentry' | 'CreatePartition' | 'CreateRootInode', request: unknown): { statusCode: MetaStatusCode; inode?: { inodeId: number } } {
    const result = this.executor.execute(method, request as never);
    if (result.kind === 'read') return result.response as { statusCode: MetaStatusCode };
    if (result.kind === 'blocked') throw new Error(`${method} blocked by tx ${result.holder}`);
    const index = ++this.index;
    this.executor.onProposed(index);
    this.store.applyEntry(index, result.batch);
    this.executor.onApplied(index);
    return result.response as { statusCode: MetaStatusCode; inode?: { inodeId: number } };
  }

  createFile(parent: number, name: string): void {
    const inode = this.write('CreateInode', inodeRequest(parent));
    expectOk('CreateInode', inode);
    expectOk('CreateDentry', this.write('CreateDentry', dentryRequest(parent, inode.inode!.inodeId, name)));
  }

  prepare(count: number): number[] {
    expectOk('CreatePartition', this.write('CreatePartition', { partition: PARTITION_INFO }));
    expectOk('CreateRootInode', this.write('CreateRootInode', { ...ROUTE, fsId: FS_ID, uid: 0, gid: 0, mode: 0o40755 }));
    const directories: number[] = [];
    for (let d = 0; d < count; d++) {
      const inode = this.write('CreateInode', inodeRequest(ROOT_INODE_ID, FsFileType.TYPE_DIRECTORY));
      expectOk('CreateInode (directory)', inode);
      const id = inode.inode!.inodeId;
      expectOk('CreateDentry (directory)', this.write('CreateDentry', dentryRequest(ROOT_INODE_ID, id, `dir-${String(d).padStart(12, '0')}`, FsFileType.TYPE_DIRECTORY)));
      directories.push(id);
    }
    return directories;
  }
}

/** A 16-byte file name. */
export function createName(worker: number, i: number): string {
  return `f${worker.toString(36).padStart(4, '0')}-${i.toString(36).padStart(10, '0')}`;
}

/** Latency percentiles of sorted-on-demand samples, in ms. */
export function percentile(samples: Float64Array | number[], count: number, p: number): number {
  if (count === 0) return Number.NaN;
  const sorted = Float64Array.from(samples.slice(0, count)).sort();
  return sorted[Math.min(count - 1, Math.floor((p / 100) * count))]!;
}
