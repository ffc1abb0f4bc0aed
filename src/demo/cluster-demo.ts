/**
 * The cluster demo: a local metaraft cluster of real processes, a file system over
 * several partitions in two copysets, a short workload from several clients with a
 * progress bar, and a report of what was done and how fast. Everything it starts, it
 * stops: on success, on an error, on Ctrl-C (SIGINT) or SIGTERM, and (through the
 * process exit handler of cluster-processes.ts) when this process exits any other way.
 *
 *   const report = await runClusterDemo({ clients: 4, filesPerClient: 50 });
 */
import { clusterClient, createFileSystem, type FileSystemLayout } from './cluster-setup.ts';
import { LocalCluster, liveServerPids, type ServerTuning } from './cluster-processes.ts';
import { ProgressBar, type ProgressStream } from './cluster-progress.ts';
import { formatOpTable, type OpKind, type OpSummary } from './cluster-stats.ts';
import { ClusterWorkload, DemoAbortedError, plannedOps, untilAborted, type WorkloadShape } from './cluster-workload.ts';

export { DemoAbortedError } from './cluster-workload.ts';

export interface ClusterDemoOptions {
  /** Metaserver processes (each copyset has a replica on each). Default 3. */
  readonly servers?: number;
  /** Copysets (Raft groups). Default 2. */
  readonly copysets?: number;
  /** Partitions of the file system, dealt round-robin over the copysets. Default 4. */
  readonly partitions?: number;
  /** Concurrent clients, each with its own directory. Default 4. */
  readonly clients?: number;
  readonly filesPerClient?: number;
  readonly readdirRounds?: number;
  /** Server settings (election timeout, fsync, snapshot thresholds). */
  readonly tuning?: ServerTuning;
  /** Where the progress bar goes (default process.stderr); null: none. */
  readonly progress?: ProgressStream | null;
  /** Where the report goes (default process.stdout); null: nowhere (the returned report remains). */
  readonly output?: { write(text: string): unknown } | null;
  /** Stops the demo (and the cluster) when aborted. */
  readonly signal?: AbortSignal;
  /** Stop on SIGINT / SIGTERM of this process (default true). */
  readonly handleSignals?: boolean;
  /** Called once the cluster serves (tests: abort at a known point). */
  readonly onClusterReady?: (info: { readonly pids: readonly number[]; readonly peers: readonly string[] }) => void;
}

export interface CopysetReport {
  readonly poolId: number;
  readonly copysetId: number;
  readonly leader: string;
  readonly term: number;
  readonly appliedIndex: number;
  /** Every replica reported the same state hash at the same applied index. */
  readonly replicasAgree: boolean;
}

export interface ClusterDemoReport {
  readonly servers: number;
  readonly copysets: number;
  readonly partitions: number;
  readonly clients: number;
  /** Pids of the server processes (all stopped when the report is returned). */
  readonly pids: readonly number[];
  readonly ops: Record<OpKind, OpSummary>;
  readonly totalOps: number;
  readonly workloadMs: number;
  readonly entriesLeft: number;
  readonly directoriesByCopyset: Record<string, number>;
  readonly copysetReports: readonly CopysetReport[];
}

const DEFAULTS = { servers: 3, copysets: 2, partitions: 4, clients: 4, filesPerClient: 100, readdirRounds: 3 } as const;
const POOL_ID = 1;
const FS_ID = 1;
/** Replicas get this long to agree once the workload is done (they apply what the leader committed). */
const AGREEMENT_WAIT_MS = 10_000;
/** How long a clean stop may take before children are killed. */
const STOP_GRACE_MS = 5_000;

/**
 * Runs the demo; resolves with the report once every server process has stopped.
 * Rejects with DemoAbortedError on SIGINT/SIGTERM/abort (after stopping everything).
 */
export async function runClusterDemo(options: ClusterDemoOptions = {}): Promise<ClusterDemoReport> {
  const servers = options.servers ?? DEFAULTS.servers;
  const copysets = options.copysets ?? DEFAULTS.copysets;
  const partitions = options.partitions ?? DEFAULTS.partitions;
  const shape: WorkloadShape = {
    clients: options.clients ?? DEFAULTS.clients,
    filesPerClient: options.filesPerClient ?? DEFAULTS.filesPerClient,
    readdirRounds: options.readdirRounds ?? DEFAULTS.readdirRounds,
  };
  checkOptions(servers, copysets, partitions, shape);
  const out = options.output === undefined ? process.stdout : options.output;
  const say = (text: string): void => void out?.write(`${text}\n`);
  const progressStream = options.progress === undefined ? process.stderr : options.progress;

  const controller = new AbortController();
  const abort = (reason: string): void => controller.abort(reason);
  const onExternalAbort = (): void => abort(String(options.signal?.reason ?? 'aborted'));
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  if (options.signal?.aborted === true) onExternalAbort();
  const onSigint = (): void => abort('SIGINT');
  const onSigterm = (): void => abort('SIGTERM');
  if (options.handleSignals !== false) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
  }

  let cluster: LocalCluster | null = null;
  try {
    say(`metaraft cluster demo: starting ${servers} metaserver processes on 127.0.0.1`);
    cluster = await untilAborted(LocalCluster.start({ servers, tuning: options.tuning ?? {} }), controller.signal, (started) => started.kill());
    const pids = cluster.servers.map((server) => server.pid!);
    const peers = cluster.peerAddresses();
    for (const server of cluster.servers) say(`  ${server.name}  ${server.peerAddress}  pid ${server.pid}`);
    options.onClusterReady?.({ pids, peers });

    const layout: FileSystemLayout = { poolId: POOL_ID, copysetIds: Array.from({ length: copysets }, (_, i) => i + 1), fsId: FS_ID, partitions };
    const routes = await untilAborted(createFileSystem(layout, peers), controller.signal);
    say(`file system ${FS_ID}: ${partitions} partitions over ${copysets} copysets (pool ${POOL_ID}), root and .recycle created`);
    for (const route of routes) {
      const p = route.partition;
      say(`  partition ${p.partitionId}  inodes [${p.start}, ${p.end}]  copyset ${p.poolId}/${p.copysetId}`);
    }

    const total = plannedOps(shape);
    say(`workload: ${shape.clients} clients × (mkdir ×2, create ×${shape.filesPerClient}, stat ×${shape.filesPerClient}, readdir ×${shape.readdirRounds}, rename and unlink of every other file) = ${total} operations`);
    const progress = new ProgressBar(progressStream, total);
    const started = performance.now();
    const result = await new ClusterWorkload(routes, FS_ID, shape, progress, controller.signal).run();
    const workloadMs = performance.now() - started;
    progress.finish();

    const copysetReports = await untilAborted(checkReplicas(routes, layout, peers), controller.signal);
    const ops = result.stats.summaries();
    const totalOps = Object.values(ops).reduce((sum, s) => sum + s.count, 0);
    say('');
    say(formatOpTable(ops));
    say(`${totalOps} operations in ${(workloadMs / 1000).toFixed(2)} s (${((totalOps * 1000) / workloadMs).toFixed(0)} ops/s overall); ${result.entriesLeft} files left, as expected`);
    say(`directories per copyset: ${Object.entries(result.directoriesByCopyset).map(([key, n]) => `${key}: ${n}`).join(', ')}`);
    for (const c of copysetReports) {
      say(`copyset ${c.poolId}/${c.copysetId}: leader ${c.leader}, term ${c.term}, applied index ${c.appliedIndex}, replicas ${c.replicasAgree ? 'agree (same state hash)' : 'DIFFER'}`);
    }
    await cluster.stop(STOP_GRACE_MS);
    say(`stopped ${servers} metaserver processes`);
    return {
      servers,
      copysets,
      partitions,
      clients: shape.clients,
      pids,
      ops,
      totalOps,
      workloadMs,
      entriesLeft: result.entriesLeft,
      directoriesByCopyset: result.directoriesByCopyset,
      copysetReports,
    };
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof DemoAbortedError)) throw new DemoAbortedError(String(controller.signal.reason));
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onExternalAbort);
    if (options.handleSignals !== false) {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
    // A second stop is a no-op; after an error or abort this is the one that counts.
    if (cluster !== null) await cluster.stop(STOP_GRACE_MS);
    if (progressStream?.isTTY === true && controller.signal.aborted) progressStream.write('\n');
  }
}

function checkOptions(servers: number, copysets: number, partitions: number, shape: WorkloadShape): void {
  const counts: Array<[string, number, number]> = [
    ['servers', servers, 1],
    ['copysets', copysets, 1],
    ['partitions', partitions, copysets],
    ['clients', shape.clients, 1],
    ['filesPerClient', shape.filesPerClient, 1],
    ['readdirRounds', shape.readdirRounds, 0],
  ];
  for (const [name, value, least] of counts) {
    if (!Number.isSafeInteger(value) || value < least) throw new RangeError(`${name} must be an integer >= ${least}, got ${value}`);
  }
}

/** Each copyset's leader, term and applied index, and whether all replicas hold the same state. */
async function checkReplicas(routes: Parameters<typeof clusterClient>[0], layout: FileSystemLayout, peers: readonly string[]): Promise<CopysetReport[]> {
  const client = clusterClient(routes);
  try {
    const reports: CopysetReport[] = [];
    for (const copysetId of layout.copysetIds) {
      const deadline = Date.now() + AGREEMENT_WAIT_MS;
      for (;;) {
        const statuses = await Promise.all(
          peers.map((peer) =>
            client.getCopysetStatus({ poolId: layout.poolId, copysetId, queryHash: true }, peer, { deadlineMs: Date.now() + 2_000 }).then(
              (response) => response.copysetStatus,
              () => undefined,
            ),
          ),
        );
        const leader = statuses.find((status) => status?.state === 1);
        const agree = statuses.every((status) => status !== undefined && status.knownAppliedIndex === leader?.knownAppliedIndex && status.hash === leader.hash);
        if ((leader !== undefined && agree) || Date.now() > deadline) {
          reports.push({
            poolId: layout.poolId,
            copysetId,
            leader: leader?.peer.address ?? 'none',
            term: leader?.term ?? 0,
            appliedIndex: leader?.knownAppliedIndex ?? 0,
            replicasAgree: leader !== undefined && agree,
          });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return reports;
  } finally {
    client.close();
  }
}

/** Pids of server processes still running (none once runClusterDemo has settled). */
export function survivingServerPids(): number[] {
  return liveServerPids();
}
