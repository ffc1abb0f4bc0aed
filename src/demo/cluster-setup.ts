/**
 * What a coordinator (CurveFS's MDS) does to bring up a file system on a set of
 * metaservers, done here by hand: create copysets on their peers (CreateCopysetNode on
 * each), wait for their leaders, create a file system's partitions in them
 * (CreatePartition) and its root and recycle directories (CreateRootInode,
 * CreateManageInode). The partition table is then handed to clients directly.
 */
import { FsClient, MetaServerClient, type PartitionRoute, type RetryPolicy } from '../client/index.ts';
import { CopysetOpStatus, PartitionStatus, type PartitionInfo } from '../proto/index.ts';

/** CurveFS's coordinator hands out partitions of 2^20 inode ids (wire.md). */
export const PARTITION_ID_SPAN = 2 ** 20;
/** Time for a new copyset to elect its first leader (several election timeouts on a busy machine). */
export const LEADER_WAIT_MS = 20_000;
const LEADER_POLL_MS = 50;

export interface FileSystemLayout {
  readonly poolId: number;
  readonly copysetIds: readonly number[];
  readonly fsId: number;
  /** Partitions, dealt round-robin over the copysets; partition 1 holds the root. */
  readonly partitions: number;
}

/** Partition i (from 1) holds ids [(i−1)·2^20, i·2^20 − 1] and lives in copyset copysetIds[(i−1) mod n]. */
export function partitionLayout(layout: FileSystemLayout): PartitionInfo[] {
  return Array.from({ length: layout.partitions }, (_, i) => ({
    fsId: layout.fsId,
    poolId: layout.poolId,
    copysetId: layout.copysetIds[i % layout.copysetIds.length]!,
    partitionId: i + 1,
    start: i * PARTITION_ID_SPAN,
    end: (i + 1) * PARTITION_ID_SPAN - 1,
    status: PartitionStatus.READWRITE,
    fileType2inodeNum: new Map<number, number>(),
  }));
}

/** The client's partition table: every partition with its copyset's peers. */
export function partitionRoutes(layout: FileSystemLayout, peers: readonly string[]): PartitionRoute[] {
  return partitionLayout(layout).map((partition) => ({ partition, peers: [...peers] }));
}

/** A client of the cluster; `retry` overrides the default policy (e.g. a longer operation timeout). */
export function clusterClient(routes: readonly PartitionRoute[], retry: Partial<RetryPolicy> = {}): MetaServerClient {
  return new MetaServerClient({ partitions: routes, retry });
}

/** CreateCopysetNode of each copyset on each of its peers (all of `peers`). */
export async function createCopysets(client: MetaServerClient, poolId: number, copysetIds: readonly number[], peers: readonly string[]): Promise<void> {
  const request = { copysets: copysetIds.map((copysetId) => ({ poolId, copysetId, peers: peers.map((address) => ({ address })) })) };
  await Promise.all(
    peers.map(async (peer) => {
      const response = await client.createCopysetNode(request, peer);
      if (response.status !== CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS) {
        throw new Error(`CreateCopysetNode on ${peer} answered status ${response.status}`);
      }
    }),
  );
}

/** Waits until a peer names a leader of the copyset, and returns it (`ip:port:0`). */
export async function waitForLeader(client: MetaServerClient, poolId: number, copysetId: number, timeoutMs = LEADER_WAIT_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = await client.findLeader({ poolId, copysetId }, { deadlineMs: Math.min(deadline, Date.now() + 2_000) }).catch(() => undefined);
    if (leader !== undefined) return leader;
    if (Date.now() > deadline) throw new Error(`copyset ${poolId}/${copysetId}: no leader within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
  }
}

/**
 * Creates the copysets on `peers`, waits for their leaders, creates the partitions and
 * the root and recycle directories. Returns the partition table.
 */
export async function createFileSystem(layout: FileSystemLayout, peers: readonly string[]): Promise<PartitionRoute[]> {
  const routes = partitionRoutes(layout, peers);
  const client = clusterClient(routes, { operationTimeoutMs: LEADER_WAIT_MS });
  try {
    await createCopysets(client, layout.poolId, layout.copysetIds, peers);
    await Promise.all(layout.copysetIds.map((copysetId) => waitForLeader(client, layout.poolId, copysetId)));
    for (const partition of partitionLayout(layout)) await client.createPartition({ partition });
    await new FsClient({ client, fsId: layout.fsId }).initRoot({ mode: 0o755, uid: 0, gid: 0 });
  } finally {
    client.close();
  }
  return routes;
}
