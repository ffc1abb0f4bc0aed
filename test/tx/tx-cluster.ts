/**
 * An in-process cluster for the cross-copyset tests: N MetaServers in this process on
 * 127.0.0.1 (port 0 at first start), each with a temporary data folder, fast timers and
 * no fsync by default. A file system is spread over several copysets exactly as a
 * coordinator would lay it out (src/demo/cluster-setup.ts): partitions dealt round robin
 * over the copysets, partition 1 holding the root and the recycle directory.
 *
 *   const cluster = await TxCluster.start({ servers: 3, copysets: 3, partitions: 6 });
 *   const fs = cluster.client();                        // an FsClient of its own
 *   const dir = await cluster.mkdirIn(1, 'a', 2);       // a directory held by copyset 2
 *   const r = await cluster.placeRename({ src: 1, dst: 2, moved: 3, replaced: 2 });
 *   await fs.rename(r.srcParent, r.srcName, r.dstParent, r.dstName);
 *   const leader = await cluster.leaderOf(1, 2);        // the MetaServer leading it now
 *   await cluster.stopServer(0); await cluster.restartServer(0);
 *   await cluster.close();                              // stops all, removes the folders
 *
 * Tests read the stores of the servers directly (`server.copysetOf(pool, id).store`),
 * which is what fsck.ts does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsCalls, FsClient, MetaServerClient, ROOT_INODE_ID, modeOf, systemTime, type FsClientOptions, type PartitionRoute, type RetryPolicy } from '../../src/client/index.ts';
import { routedTo } from '../../src/client/fs-calls.ts';
import { createFileSystem, partitionLayout, type FileSystemLayout } from '../../src/demo/cluster-setup.ts';
import { FsFileType, type Inode, type PartitionInfo } from '../../src/proto/index.ts';
import { MetaServer } from '../../src/server/meta-server.ts';
import type { MetaServerConfig } from '../../src/server/meta-server-config.ts';
import type { MetaStore } from '../../src/metastore/metastore.ts';
import { sleep } from '../service/harness.ts';

/** Fast timers: 20 ms ticks, a 200 ms election timeout (leases need ≥ 4 ticks of room); no fsync. */
export const TX_CLUSTER_TUNING: Partial<MetaServerConfig> = { tickMs: 20, electionTicks: 10, fsync: false, requestTimeoutMs: 5_000 };
/** Clients ride out an election or a restart of one server: a long operation deadline. */
export const TX_CLIENT_RETRY: Partial<RetryPolicy> = { operationTimeoutMs: 15_000 };
/** How long leaderOf waits for a copyset to have a leader (elections on a busy two-core machine). */
export const LEADER_WAIT_MS = 15_000;
const POLL_MS = 10;
const DEFAULT_OWNER = { uid: 0, gid: 0 } as const;

export interface TxClusterOptions {
  /** MetaServers in this process (default 3); every copyset has a replica on each. */
  readonly servers?: number;
  /** Copysets of the file system (default 3), ids 1..copysets. */
  readonly copysets?: number;
  /** Partitions of the file system (default 2 per copyset), dealt round robin over the copysets. */
  readonly partitions?: number;
  readonly fsId?: number;
  readonly poolId?: number;
  /** Server options over {@link TX_CLUSTER_TUNING} (e.g. `{ fsync: true }`). */
  readonly tuning?: Partial<MetaServerConfig>;
}

/** Where a new node's inode goes: a copyset (its first partition of the fs) or one partition. */
export type Placement = { readonly copysetId: number } | { readonly partitionId: number };

/** Copysets of the keys of a rename `src/a → dst/b` (docs/transactions.md §4). */
export interface RenamePlacement {
  /** Copyset holding the source parent's inode and entries. */
  readonly src: number;
  /** Copyset holding the destination parent's (may equal src; a different directory still). */
  readonly dst: number;
  /** Copyset holding the moved inode. */
  readonly moved: number;
  /** When set, `dst/b` exists beforehand, naming an inode held by this copyset. */
  readonly replaced?: number;
  /** The moved (and replaced) node is a directory (default: a file). */
  readonly directory?: boolean;
}

/** A rename made ready by {@link TxCluster.placeRename}: call `fs.rename(srcParent, srcName, dstParent, dstName)`. */
export interface PlacedRename {
  readonly srcParent: number;
  readonly srcName: string;
  readonly dstParent: number;
  readonly dstName: string;
  readonly moved: Inode;
  readonly replaced: Inode | undefined;
}

export class TxCluster {
  /** The servers by index; a stopped server stays here until restarted (see `running`). */
  readonly servers: MetaServer[] = [];
  readonly layout: FileSystemLayout;
  readonly partitions: readonly PartitionInfo[];
  private readonly stopped = new Set<number>();
  private readonly ports: number[] = [];
  private readonly clients: MetaServerClient[] = [];
  private routeTable: PartitionRoute[] = [];
  private adminClient: MetaServerClient | null = null;
  private closed = false;
  /** Renames placed so far (unique names). */
  private placed = 0;

  private constructor(
    readonly root: string,
    private readonly tuning: Partial<MetaServerConfig>,
    layout: FileSystemLayout,
  ) {
    this.layout = layout;
    this.partitions = partitionLayout(layout);
  }

  /** Starts the servers, creates the copysets on all of them, the partitions, the root and recycle directories. */
  static async start(options: TxClusterOptions = {}): Promise<TxCluster> {
    const servers = options.servers ?? 3;
    const copysets = options.copysets ?? 3;
    const layout: FileSystemLayout = {
      poolId: options.poolId ?? 1,
      copysetIds: Array.from({ length: copysets }, (_, i) => i + 1),
      fsId: options.fsId ?? 1,
      partitions: options.partitions ?? 2 * copysets,
    };
    const root = await mkdtemp(join(tmpdir(), 'metaraft-tx-'));
    const cluster = new TxCluster(root, { ...TX_CLUSTER_TUNING, ...options.tuning }, layout);
    try {
      for (let i = 0; i < servers; i++) await cluster.startServer(i, 0);
      cluster.routeTable = await createFileSystem(layout, cluster.peerAddresses());
      cluster.adminClient = cluster.newMetaClient();
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get fsId(): number {
    return this.layout.fsId;
  }

  get poolId(): number {
    return this.layout.poolId;
  }

  get copysetIds(): readonly number[] {
    return this.layout.copysetIds;
  }

  /** The client partition table rows (every copyset has all servers as peers). */
  get routes(): readonly PartitionRoute[] {
    return this.routeTable;
  }

  /** `ip:port:0` of every server (stopped ones included: they keep their address). */
  peerAddresses(): string[] {
    return this.servers.map((server) => server.peerAddress);
  }

  /** Indexes of the servers running now. */
  running(): number[] {
    return this.servers.map((_, i) => i).filter((i) => !this.stopped.has(i));
  }

  /** A new low-level client with its own connections (closed by close()). */
  newMetaClient(retry: Partial<RetryPolicy> = {}): MetaServerClient {
    const client = new MetaServerClient({ partitions: this.routeTable, retry: { ...TX_CLIENT_RETRY, ...retry } });
    this.clients.push(client);
    return client;
  }

  /** A new FsClient of the file system over its own MetaServerClient (default rename protocol unless given). */
  client(options: Partial<Omit<FsClientOptions, 'client' | 'fsId'>> & { retry?: Partial<RetryPolicy> } = {}): FsClient {
    const { retry, ...rest } = options;
    return new FsClient({ ...rest, client: this.newMetaClient(retry), fsId: this.fsId });
  }

  /** The MetaServer (in this process) leading the copyset now; waits until one does. */
  async leaderOf(poolId: number, copysetId: number, timeoutMs = LEADER_WAIT_MS): Promise<MetaServer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leaderNow(poolId, copysetId);
      if (leader !== undefined) return leader;
      if (Date.now() > deadline) throw new Error(`copyset ${poolId}/${copysetId}: no leader among running servers within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }

  /** The running server that leads the copyset at this instant, if any. */
  leaderNow(poolId: number, copysetId: number): MetaServer | undefined {
    return this.running()
      .map((i) => this.servers[i]!)
      .find((server) => server.copysetOf(poolId, copysetId)?.isLeader() === true);
  }

  /** The stores of the copyset on the running servers (one per replica). */
  replicaStores(poolId: number, copysetId: number): { server: number; store: MetaStore }[] {
    const stores: { server: number; store: MetaStore }[] = [];
    for (const i of this.running()) {
      const node = this.servers[i]!.copysetOf(poolId, copysetId);
      if (node !== undefined) stores.push({ server: i, store: node.store });
    }
    return stores;
  }

  /** Every copyset has a replica on every server: the running ones should all hold it. */
  expectedReplicas(_poolId: number, _copysetId: number): number {
    return this.running().length;
  }

  /** A crash stand-in: the server stops (its data folder stays). */
  async stopServer(i: number): Promise<void> {
    if (this.stopped.has(i)) return;
    this.stopped.add(i);
    await this.servers[i]!.stop();
  }

  /** A new MetaServer on the same data folder and the SAME port, so its node id is unchanged. */
  async restartServer(i: number): Promise<MetaServer> {
    if (!this.stopped.has(i)) throw new Error(`server ${i} is running`);
    const server = await this.startServer(i, this.ports[i]!);
    this.stopped.delete(i);
    return server;
  }

  /** The partition holding inode `inodeId` (and the entries of the directory `inodeId`). */
  partitionOfInode(inodeId: number): PartitionInfo {
    const partition = this.partitions.find((p) => p.start <= inodeId && inodeId <= p.end);
    if (partition === undefined) throw new RangeError(`inode ${inodeId} lies in no partition of fs ${this.fsId}`);
    return partition;
  }

  /** The partition holding the entries under `parentInodeId` (the parent's own partition). */
  partitionOfDentry(parentInodeId: number): PartitionInfo {
    return this.partitionOfInode(parentInodeId);
  }

  copysetOfInode(inodeId: number): number {
    return this.partitionOfInode(inodeId).copysetId;
  }

  /** The partitions of the file system held by a copyset, by id. */
  partitionsOfCopyset(copysetId: number): PartitionInfo[] {
    return this.partitions.filter((p) => p.copysetId === copysetId);
  }

  /** mkdir whose new directory inode lives in the chosen copyset (or partition). */
  mkdirIn(parent: number, name: string, where: number | Placement): Promise<Inode> {
    return this.makeNodeIn(parent, name, FsFileType.TYPE_DIRECTORY, where);
  }

  /** create whose new file inode lives in the chosen copyset (or partition). */
  createIn(parent: number, name: string, where: number | Placement): Promise<Inode> {
    return this.makeNodeIn(parent, name, FsFileType.TYPE_FILE, where);
  }

  /**
   * As a CurveFS client makes a node: CreateInode in the chosen partition, then
   * CreateDentry (with its type, so the parent's nlink follows) in the parent's
   * partition; DeleteInode if the entry cannot be made. Two copysets may be involved:
   * not atomic, which is fine for setting a test up.
   */
  async makeNodeIn(parent: number, name: string, type: FsFileType, where: number | Placement): Promise<Inode> {
    const partition = this.placementPartition(typeof where === 'number' ? { copysetId: where } : where);
    const client = this.admin();
    const calls = new FsCalls(client, this.fsId);
    const options = { deadlineMs: client.deadline() };
    const time = systemTime();
    const created = await client.createInode(
      { ...routedTo(partition), fsId: this.fsId, length: 0, uid: DEFAULT_OWNER.uid, gid: DEFAULT_OWNER.gid, mode: modeOf(type, type === FsFileType.TYPE_DIRECTORY ? 0o755 : 0o644), type, parent, create: time },
      options,
    );
    const inode = created.inode;
    if (inode === undefined) throw new Error('CreateInode answered OK without an inode');
    try {
      await calls.createDentry(parent, name, inode.inodeId, type, time, options);
    } catch (error) {
      await calls.deleteInode(inode.inodeId, options).catch(() => undefined);
      throw error;
    }
    return inode;
  }

  /**
   * Directories and nodes under the root for a rename whose keys live in the chosen
   * copysets: a fresh source and destination directory, the moved node in the source,
   * and optionally the node it will replace. Names are unique per call.
   */
  async placeRename(placement: RenamePlacement): Promise<PlacedRename> {
    const tag = `r${++this.placed}`;
    const type = placement.directory === true ? FsFileType.TYPE_DIRECTORY : FsFileType.TYPE_FILE;
    const src = await this.mkdirIn(ROOT_INODE_ID, `${tag}-src`, placement.src);
    const dst = await this.mkdirIn(ROOT_INODE_ID, `${tag}-dst`, placement.dst);
    const moved = await this.makeNodeIn(src.inodeId, 'a', type, placement.moved);
    const replaced = placement.replaced === undefined ? undefined : await this.makeNodeIn(dst.inodeId, 'b', type, placement.replaced);
    return { srcParent: src.inodeId, srcName: 'a', dstParent: dst.inodeId, dstName: 'b', moved, replaced };
  }

  /** The shared low-level client of the cluster (setup and corruption in tests). */
  admin(): MetaServerClient {
    if (this.adminClient === null) throw new Error('the cluster is not started');
    return this.adminClient;
  }

  /** Stops every server, closes every client made here, removes the data folders. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const client of this.clients) client.close();
    await Promise.all(this.running().map((i) => this.servers[i]!.stop().catch(() => undefined)));
    await rm(this.root, { recursive: true, force: true });
  }

  private placementPartition(where: Placement): PartitionInfo {
    if ('partitionId' in where) {
      const partition = this.partitions.find((p) => p.partitionId === where.partitionId);
      if (partition === undefined) throw new RangeError(`fs ${this.fsId} has no partition ${where.partitionId}`);
      return partition;
    }
    const partition = this.partitionsOfCopyset(where.copysetId)[0];
    if (partition === undefined) throw new RangeError(`fs ${this.fsId} has no partition in copyset ${where.copysetId}`);
    return partition;
  }

  private async startServer(i: number, port: number): Promise<MetaServer> {
    const server = new MetaServer({ ...this.tuning, id: `tx-${i}`, listen: `127.0.0.1:${port}`, dataDir: join(this.root, `server-${i}`) });
    await server.start();
    this.servers[i] = server;
    this.ports[i] = server.port;
    return server;
  }
}


