/**
 * `rename`: renames on 3 metaserver processes on loopback (`metaraft serve`, fsync on,
 * the server defaults), one file system spread over 2+ copysets of 3 replicas each
 * (partitions dealt round robin, as a coordinator lays them out: src/demo/cluster-setup.ts).
 *
 * Each worker owns a directory pair and `--files` files, and renames them in turn back
 * and forth between its two directories, so the namespace stays the same size (one file
 * would make each rename wait on the resolution of the one before). Paths measured:
 *  - same partition, MetaraftService.Rename (the baseline): both directories in
 *    partition 1, the one-entry rename called directly (MetaServerClient.rename);
 *  - same partition through FsClient.rename: both parents share a copyset, so the
 *    client sends MetaraftService.Rename first (one entry), and TxService only when the
 *    server answers TX_FAILED (an inode elsewhere; docs/transactions.md §0);
 *  - cross partition, same copyset (partitions 1 and 1 + copysets), FsClient.rename;
 *  - cross copyset: partition 1 (copyset 1) and partition 2 (copyset 2), FsClient.rename:
 *    the two-phase commit, each direction with a different home copyset.
 * Figures: renames/s and p50/p99 at N in flight (default 64) for each, as ratios to the
 * baseline of the same run; directory moves across copysets (the dirmove lock) at N and
 * at 1 in flight; N workers renaming one file (conflicts: NOT_FOUND and refusals
 * counted); TxService creates with the inode in the parent's copyset (the creates
 * baseline) and in another, and links of inodes held by another copyset; log entries per
 * rename on both rename paths; then cross-copyset renames/s with 1, 4, 16 and 64 clients
 * (each its own MetaServerClient, connections and directory pair, one rename in flight),
 * as ratios to the 1-client figure: unrelated directories must not serialize.
 *
 * Before the servers serve TxService, FsClient's renames fail (UNIMPLEMENTED): the suite
 * measures the baseline, prints its table, then fails with that error.
 */
import { performance } from 'node:perf_hooks';
import { MetaClientError } from '../src/client/client-errors.ts';
import { FsCalls, modeOf, routedTo, type NewInodeFields } from '../src/client/fs-calls.ts';
import { FsClient, systemTime } from '../src/client/fs-client.ts';
import { FsTxCalls } from '../src/client/fs-tx.ts';
import { TxIdSource } from '../src/client/tx-ids.ts';
import { MetaServerClient } from '../src/client/meta-server-client.ts';
import type { PartitionRoute } from '../src/client/partition-table.ts';
import { LocalCluster, type ServerProcess } from '../src/demo/cluster-processes.ts';
import { createFileSystem, partitionLayout, type FileSystemLayout } from '../src/demo/cluster-setup.ts';
import { FsFileType, type PartitionInfo } from '../src/proto/index.ts';
import { formatNumber, progress, round } from './harness.ts';
import { closedLoop, cpuShares, processCpuSeconds, type LoadResult } from './lib-load.ts';
import type { Reporter, Suite, SuiteContext } from './harness.ts';

const SERVERS = 3;
const POOL = 1;
const FS_ID = 1;
const ROOT = 1;
/** Latency samples kept per figure (a ring; enough for stable p99s). */
/** Load before every figure after the first, which gets the full `--warmup` (the servers' JIT is warm by then). */
const PHASE_WARMUP_MS = 1_000;
/** Operations ride out a slow fsync or an election: a long client deadline. */
const OPERATION_TIMEOUT_MS = 30_000;
/** Design expectation (docs/transactions.md §19): cross-copyset ≥ 0.4× same-partition throughput. */
const CROSS_COPYSET_TARGET = 0.4;
const DIR_ATTRIBUTES = { mode: 0o755, uid: 0, gid: 0 };
const FILE_ATTRIBUTES = { mode: 0o644, uid: 1000, gid: 1000 };
/** Names of a pair's files: f0, f1, ... */
const fileName = (k: number): string => `f${k}`;

/**
 * One worker's directory pair, its files and where each is now (0: in `a`, 1: in `b`).
 * The worker renames the files in turn: with one file, each rename touches the names
 * and inode of the one before (see `--files`).
 */
interface Pair {
  readonly a: number;
  readonly b: number;
  readonly sides: (0 | 1)[];
  next: number;
}

/** Moves a file from one directory to another (same name). */
type MoveFile = (from: number, to: number, name: string) => Promise<void>;

/** Renames the pair's next file to the other directory of the pair. */
async function flip(move: MoveFile, pair: Pair): Promise<void> {
  const k = pair.next;
  pair.next = (k + 1) % pair.sides.length;
  const side = pair.sides[k]!;
  const [from, to] = side === 0 ? [pair.a, pair.b] : [pair.b, pair.a];
  await move(from, to, fileName(k));
  pair.sides[k] = side === 0 ? 1 : 0;
}

/** What the workers of the hot-name figure got back. */
interface HotOutcomes {
  moved: number;
  /** Another worker had moved the file first (NOT_FOUND for the source name). */
  lostRace: number;
  /** Any other refusal, by status name. */
  refused: Map<string, number>;
}

/**
 * Every worker renames the pair's one file to the other directory: all of them race for
 * the same two names. A worker that loses the race (the file had moved) counts it and
 * goes on from the side the file is on now.
 */
async function contendedFlip(move: MoveFile, pair: Pair, outcomes: HotOutcomes): Promise<void> {
  const side = pair.sides[0]!;
  const [from, to] = side === 0 ? [pair.a, pair.b] : [pair.b, pair.a];
  try {
    await move(from, to, fileName(0));
    pair.sides[0] = side === 0 ? 1 : 0;
    outcomes.moved++;
  } catch (error) {
    if (!(error instanceof MetaClientError)) throw error;
    if (error.code === 'NOT_FOUND') {
      outcomes.lostRace++;
      if (pair.sides[0] === side) pair.sides[0] = side === 0 ? 1 : 0;
      return;
    }
    outcomes.refused.set(error.code, (outcomes.refused.get(error.code) ?? 0) + 1);
  }
}

/** Through the client's rename (TxService in a file system over several copysets). */
function viaFsClient(fs: FsClient): MoveFile {
  return (from, to, name) => fs.rename(from, name, to, name);
}

/** MetaraftService.Rename called directly: one log entry, parents in partitions of one copyset. */
function viaMetaraftRename(client: MetaServerClient, partitionOf: (inodeId: number) => PartitionInfo): MoveFile {
  return async (from, to, name) => {
    const src = partitionOf(from);
    const dst = partitionOf(to);
    await client.rename({
      poolId: src.poolId,
      copysetId: src.copysetId,
      fsId: FS_ID,
      srcPartitionId: src.partitionId,
      srcParentInodeId: from,
      srcName: name,
      dstPartitionId: dst.partitionId,
      dstParentInodeId: to,
      dstName: name,
      create: systemTime(),
    });
  };
}

/**
 * A directory whose inode lives in `partition` (CreateInode there, CreateDentry under
 * the parent), as a CurveFS client makes a node; the parent's nlink follows the entry.
 */
async function mkdirIn(client: MetaServerClient, parent: number, name: string, partition: PartitionInfo): Promise<number> {
  const calls = new FsCalls(client, FS_ID);
  const options = { deadlineMs: client.deadline() };
  const time = systemTime();
  const created = await client.createInode({ ...routedTo(partition), fsId: FS_ID, length: 0, uid: DIR_ATTRIBUTES.uid, gid: DIR_ATTRIBUTES.gid, mode: modeOf(FsFileType.TYPE_DIRECTORY, DIR_ATTRIBUTES.mode), type: FsFileType.TYPE_DIRECTORY, parent, create: time }, options);
  const inodeId = created.inode!.inodeId;
  await calls.createDentry(parent, name, inodeId, FsFileType.TYPE_DIRECTORY, time, options);
  return inodeId;
}

/**
 * `count` directory pairs, `a` in partition `pa` and `b` in `pb`, each with `files` files
 * in `a` (created next to `a`), or `files` directories when `moved` is 'directories'.
 */
async function preparePairs(client: MetaServerClient, fs: FsClient, kind: string, count: number, files: number, pa: PartitionInfo, pb: PartitionInfo, moved: 'files' | 'directories' = 'files'): Promise<Pair[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, w) => {
      const a = await mkdirIn(client, ROOT, `${kind}-${w}-a`, pa);
      const b = await mkdirIn(client, ROOT, `${kind}-${w}-b`, pb);
      for (let k = 0; k < files; k++) await (moved === 'files' ? fs.create(a, fileName(k), FILE_ATTRIBUTES) : fs.mkdir(a, fileName(k), DIR_ATTRIBUTES));
      return { a, b, sides: Array.from({ length: files }, () => 0 as const), next: 0 };
    }),
  );
}

/** Runs `measure` and returns its result with each server's CPU share over it (% of a core). */
async function withServerCpu<T>(servers: readonly ServerProcess[], measure: () => Promise<T>): Promise<{ result: T; cpu: string }> {
  const before = await Promise.all(servers.map((server) => processCpuSeconds(server.pid)));
  const started = performance.now();
  const result = await measure();
  const seconds = (performance.now() - started) / 1000;
  const after = await Promise.all(servers.map((server) => processCpuSeconds(server.pid)));
  return { result, cpu: cpuShares(before, after, seconds) };
}

/** The concurrency levels of the scaling figures: 1, 4, 16, ... up to `max` (and `max` itself). */
function scalingLevels(max: number): number[] {
  const levels: number[] = [];
  for (let n = 1; n < max; n *= 4) levels.push(n);
  levels.push(max);
  return levels;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

interface Phases {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly inFlight: number;
}

async function run({ sizes, report }: SuiteContext): Promise<void> {
  const phases: Phases = { inFlight: sizes.inflight!, durationMs: sizes.duration!, warmupMs: sizes.warmup! };
  const copysets = sizes.copysets!;
  if (copysets < 2) throw new RangeError('--copysets must be at least 2: the suite renames across copysets');
  const maxClients = sizes.clients!;
  const files = sizes.files!;
  const layout: FileSystemLayout = { poolId: POOL, copysetIds: Array.from({ length: copysets }, (_, i) => i + 1), fsId: FS_ID, partitions: 2 * copysets };
  const partitions = partitionLayout(layout);
  const partitionOf = (inodeId: number): PartitionInfo => partitions.find((p) => p.start <= inodeId && inodeId <= p.end)!;
  // Partition 1 (copyset 1) holds the root; partition 1 + copysets is copyset 1's second; partition 2 is copyset 2's first.
  const home = partitions[0]!;
  const sameCopyset = partitions[copysets]!;
  const otherCopyset = partitions[1]!;
  report.measured(`${SERVERS} processes \`metaraft serve\` on loopback (fsync on, lease reads, 100 ms ticks: the defaults); one file system of ${layout.partitions} partitions over ${copysets} copysets of ${SERVERS} replicas (round robin)`);
  report.measured(`each worker renames its ${files} file(s) in turn back and forth between its own two directories; ${phases.inFlight} in flight from one client for the path figures; ${phases.warmupMs} ms warm-up before the baseline and the cross-copyset figure, ${PHASE_WARMUP_MS} ms before the others, ${phases.durationMs} ms measured per figure`);

  const cluster = await LocalCluster.start({ servers: SERVERS });
  const clients: MetaServerClient[] = [];
  const newClient = (routes: readonly PartitionRoute[]): MetaServerClient => {
    const client = new MetaServerClient({ partitions: routes, retry: { operationTimeoutMs: OPERATION_TIMEOUT_MS } });
    clients.push(client);
    return client;
  };
  try {
    progress(`${SERVERS} servers up; creating ${copysets} copysets and the file system`);
    const routes = await createFileSystem(layout, cluster.peerAddresses());
    const client = newClient(routes);
    const fs = new FsClient({ client, fsId: FS_ID });
    const pairsOf = Math.max(phases.inFlight, maxClients);
    progress(`preparing 3 × ${phases.inFlight} + ${pairsOf} directory pairs`);
    const baselinePairs = await preparePairs(client, fs, 'base', phases.inFlight, files, home, home);
    const samePairs = await preparePairs(client, fs, 'same', phases.inFlight, files, home, home);
    const crossPartitionPairs = await preparePairs(client, fs, 'xpart', phases.inFlight, files, home, sameCopyset);
    const crossCopysetPairs = await preparePairs(client, fs, 'xcs', pairsOf, files, home, otherCopyset);
    const loop = (label: string, move: MoveFile, pairs: readonly Pair[], warmupMs: number) =>
      withServerCpu(cluster.servers, () => closedLoop(label, phases.inFlight, phases.durationMs, warmupMs, (w) => flip(move, pairs[w]!), 'renames'));

    // One cross-copyset rename first: if TxService is not served, say so before minutes of load.
    const probe = await flip(viaFsClient(fs), crossCopysetPairs[0]!).then(() => null, (error: unknown) => error);
    if (probe !== null) report.measured(`a cross-copyset rename FAILED before any load: ${describeError(probe)}`);

    progress('same-partition renames, MetaraftService.Rename');
    const baseline = await loop('baseline', viaMetaraftRename(client, partitionOf), baselinePairs, phases.warmupMs);
    report.measured(`server CPU (% of a core, warm-up included), MetaraftService.Rename: ${baseline.cpu}; client ${Math.round(baseline.result.cpuPercent)}%`);
    reportPath(report, 'same-partition', baseline.result);
    if (probe !== null) {
      process.stdout.write('\n');
      report.printTable();
      throw new Error(`rename suite: renames through TxService failed (${describeError(probe)}); the baseline above was measured`, { cause: probe });
    }

    // The cross-copyset path runs code (prepare, resolve) the others never ran: it gets the full warm-up too.
    const paths: [string, string, readonly Pair[], number][] = [
      ['same-partition, FsClient', 'same partition, FsClient.rename', samePairs, PHASE_WARMUP_MS],
      ['cross-partition (same copyset)', 'cross partition in one copyset, FsClient.rename', crossPartitionPairs, PHASE_WARMUP_MS],
      ['cross-copyset', 'cross copyset, FsClient.rename', crossCopysetPairs, phases.warmupMs],
    ];
    let cross: LoadResult | undefined;
    for (const [name, what, pairs, warmupMs] of paths) {
      progress(`${what}`);
      const before = { ...client.caller.stats };
      const measured = await loop(name, viaFsClient(fs), pairs, warmupMs);
      const stats = client.caller.stats;
      report.measured(`server CPU, ${what}: ${measured.cpu}; client ${Math.round(measured.result.cpuPercent)}%; client retries: ${formatNumber(stats.backoffs - before.backoffs)} backoffs over ${formatNumber(stats.attempts - before.attempts)} RPC attempts`);
      reportPath(report, name, measured.result, baseline.result);
      cross = measured.result;
    }
    report.figure({ name: 'cross-copyset vs same-partition', value: cross!.perSecond / baseline.result.perSecond, unit: 'x', target: { op: '>=', value: CROSS_COPYSET_TARGET } });

    await directoryMoves(report, fs, await preparePairs(client, fs, 'dirmove', phases.inFlight, files, home, otherCopyset, 'directories'), cross!, phases, cluster.servers);
    const [hotPair] = await preparePairs(client, fs, 'hot', 1, 1, home, otherCopyset);
    await hotName(report, fs, client, hotPair!, cross!, phases, cluster.servers);
    await createsAndLinks(report, client, { home, otherCopyset }, crossCopysetPairs.slice(0, phases.inFlight), files, phases, cluster.servers);
    await entriesPerRename(report, client, layout.copysetIds, { baseline: viaMetaraftRename(client, partitionOf), cross: viaFsClient(fs) }, { baseline: baselinePairs[0]!, cross: crossCopysetPairs[0]! });

    await scaling(report, routes, newClient, crossCopysetPairs, scalingLevels(maxClients), phases, cluster.servers);
  } finally {
    for (const client of clients) client.close();
    await cluster.stop();
  }
}

function reportPath(report: Reporter, name: string, result: LoadResult, baseline?: LoadResult): void {
  const versus = (value: number | undefined) => (baseline === undefined || value === undefined ? {} : { baseline: { name: 'same-partition, MetaraftService.Rename', value } });
  report.figure({ name: `${name} renames`, value: result.perSecond, unit: 'renames/s', ...versus(baseline?.perSecond) });
  report.figure({ name: `${name} rename latency p50`, value: result.p50Ms, unit: 'ms', ...versus(baseline?.p50Ms) });
  report.figure({ name: `${name} rename latency p99`, value: result.p99Ms, unit: 'ms', ...versus(baseline?.p99Ms) });
}

/**
 * Renames/s when every worker renames the same file between the same two directories
 * (cross-copyset): the cost of conflicts beside the unrelated-directories figure of the
 * same run. Workers losing the race get NOT_FOUND, as POSIX says; they are counted.
 */
async function hotName(report: Reporter, fs: FsClient, client: MetaServerClient, pair: Pair, unrelated: LoadResult, phases: Phases, servers: readonly ServerProcess[]): Promise<void> {
  const outcomes: HotOutcomes = { moved: 0, lostRace: 0, refused: new Map() };
  progress(`cross-copyset renames of one name by ${phases.inFlight} workers`);
  const before = { ...client.caller.stats };
  const { result, cpu } = await withServerCpu(servers, () =>
    closedLoop('hot name', phases.inFlight, phases.durationMs, PHASE_WARMUP_MS, () => contendedFlip(viaFsClient(fs), pair, outcomes), 'renames'),
  );
  const stats = client.caller.stats;
  const attempts = outcomes.moved + outcomes.lostRace + [...outcomes.refused.values()].reduce((a, b) => a + b, 0);
  const share = (n: number): string => `${round((100 * n) / Math.max(1, attempts), 1)}%`;
  const refused = [...outcomes.refused].map(([code, n]) => `${code} ${share(n)}`).join(', ') || 'none';
  const movedPerSecond = result.perSecond * (outcomes.moved / Math.max(1, attempts));
  report.figure({ name: 'one-name renames answered', value: result.perSecond, unit: 'renames/s', baseline: { name: 'cross-copyset renames, unrelated directories', value: unrelated.perSecond } });
  report.figure({ name: 'one-name renames that moved the file', value: movedPerSecond, unit: 'renames/s', baseline: { name: 'cross-copyset renames, unrelated directories', value: unrelated.perSecond } });
  report.measured(
    `one name, ${phases.inFlight} workers (warm-up included): ${share(outcomes.moved)} moved the file, ${share(outcomes.lostRace)} lost the race (NOT_FOUND), refused: ${refused}; ` +
      `p50 ${round(result.p50Ms, 1)} ms, p99 ${round(result.p99Ms, 1)} ms; client retries ${formatNumber(stats.backoffs - before.backoffs)} backoffs over ${formatNumber(stats.attempts - before.attempts)} RPC attempts; server CPU ${cpu}`,
  );
}

/**
 * Directories moved between parents in different copysets, each worker its own pair:
 * every such move takes the file system's dirmove lock at the root's copyset and walks
 * the new parent's ancestors (docs/transactions.md §8), so they serialize per file
 * system; file renames of the same run are the baseline.
 */
async function directoryMoves(report: Reporter, fs: FsClient, pairs: readonly Pair[], fileRenames: LoadResult, phases: Phases, servers: readonly ServerProcess[]): Promise<void> {
  progress(`cross-copyset directory moves, ${phases.inFlight} in flight`);
  const { result, cpu } = await withServerCpu(servers, () => closedLoop('directory moves', phases.inFlight, phases.durationMs, PHASE_WARMUP_MS, (w) => flip(viaFsClient(fs), pairs[w]!), 'moves'));
  report.figure({ name: 'cross-copyset directory moves', value: result.perSecond, unit: 'moves/s', baseline: { name: 'cross-copyset file renames', value: fileRenames.perSecond } });
  report.measured(`directory moves, ${phases.inFlight} in flight: p50 ${round(result.p50Ms, 1)} ms, p99 ${round(result.p99Ms, 1)} ms; server CPU ${cpu}`);
  // They serialize anyway: one in flight shows what the contention for the lock costs.
  const alone = await closedLoop('directory moves, 1 in flight', 1, phases.durationMs, PHASE_WARMUP_MS, () => flip(viaFsClient(fs), pairs[0]!), 'moves');
  report.figure({ name: 'cross-copyset directory moves, 1 in flight', value: alone.perSecond, unit: 'moves/s', baseline: { name: `${phases.inFlight} in flight`, value: result.perSecond } });
  report.measured(`directory moves, 1 in flight: p50 ${round(alone.p50Ms, 1)} ms, p99 ${round(alone.p99Ms, 1)} ms`);
}

/**
 * TxService.Create with the new inode in the parent's copyset (one entry: the baseline)
 * and in another copyset (two-phase), and TxService.Link of an inode held by another
 * copyset: each worker creates or links new names in its own directory.
 */
async function createsAndLinks(
  report: Reporter,
  client: MetaServerClient,
  where: { home: PartitionInfo; otherCopyset: PartitionInfo },
  pairs: readonly Pair[],
  files: number,
  phases: Phases,
  servers: readonly ServerProcess[],
): Promise<void> {
  const calls = new FsCalls(client, FS_ID);
  const tx = new FsTxCalls(calls, new TxIdSource());
  const options = { deadlineMs: client.deadline() };
  const fileIn = (parent: number): NewInodeFields => ({ type: FsFileType.TYPE_FILE, parent, mode: FILE_ATTRIBUTES.mode, uid: FILE_ATTRIBUTES.uid, gid: FILE_ATTRIBUTES.gid });
  // Each worker's `a` lives in `home`; the inodes it links live in its `b` (another
  // copyset). It links them in turn: a link's intent on its inode lasts until the resolve
  // after the reply, and the next link of the same inode would meet it (as `--files`).
  const targets = await Promise.all(
    pairs.map(async (pair, w) => {
      const made: number[] = [];
      for (let k = 0; k < files; k++) made.push((await tx.create(where.otherCopyset, `link-target-${w}-${k}`, fileIn(pair.b), systemTime(), options)).inodeId);
      return made;
    }),
  );
  const runs: [string, string, (w: number, i: number) => Promise<unknown>][] = [
    ['creates, inode in the parent\'s copyset', 'creates', (w, i) => tx.create(where.home, `c-${i}`, fileIn(pairs[w]!.a), systemTime(), options)],
    ['creates, inode in another copyset', 'creates', (w, i) => tx.create(where.otherCopyset, `x-${i}`, fileIn(pairs[w]!.a), systemTime(), options)],
    ['links of an inode in another copyset', 'links', (w, i) => tx.link(targets[w]![i % files]!, pairs[w]!.a, `l-${i}`, systemTime(), options)],
  ];
  let single: LoadResult | undefined;
  for (const [name, unit, op] of runs) {
    progress(name);
    const { result, cpu } = await withServerCpu(servers, () => closedLoop(name, phases.inFlight, phases.durationMs, PHASE_WARMUP_MS, async (w, i) => void (await op(w, i)), unit));
    single ??= result;
    const versus = single === result ? {} : { baseline: { name: 'creates, inode in the parent\'s copyset', value: single.perSecond } };
    report.figure({ name, value: result.perSecond, unit: `${unit}/s`, ...versus });
    report.measured(`${name}: p50 ${round(result.p50Ms, 1)} ms, p99 ${round(result.p99Ms, 1)} ms; server CPU ${cpu}`);
    if (single !== result) report.figure({ name: `${name} vs single-copyset creates`, value: result.perSecond / single.perSecond, unit: 'x', target: { op: '>=', value: CROSS_COPYSET_TARGET } });
  }
}

/** Renames per path in the entries-per-rename figure, one at a time. */
const ENTRIES_SAMPLE = 200;
/** Longer than the resolver's scan period (200 ms): the previous renames' record deletions are in. */
const SETTLE_MS = 1_000;

/** Committed entries of every copyset of the file system, summed (each leader's view). */
async function committedEntries(client: MetaServerClient, copysetIds: readonly number[]): Promise<number> {
  const statuses = await Promise.all(copysetIds.map((copysetId) => client.getCopysetStatus({ poolId: POOL, copysetId })));
  return statuses.reduce((sum, status) => sum + Number(status.copysetStatus?.committedIndex ?? 0), 0);
}

/**
 * Log entries per rename over all copysets, for the one-entry rename and the cross-copyset
 * one (prepare, decision, resolve, and a share of the batched record deletion): renames
 * one at a time, committed indexes read before and after, with time for the background
 * entries to land. The last rename's record stays (no later call acknowledges it): one
 * entry in ENTRIES_SAMPLE at most.
 */
async function entriesPerRename(report: Reporter, client: MetaServerClient, copysetIds: readonly number[], moves: { baseline: MoveFile; cross: MoveFile }, pairs: { baseline: Pair; cross: Pair }): Promise<void> {
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const perRename = async (move: MoveFile, pair: Pair): Promise<number> => {
    await sleep(SETTLE_MS);
    const before = await committedEntries(client, copysetIds);
    for (let i = 0; i < ENTRIES_SAMPLE; i++) await flip(move, pair);
    await sleep(SETTLE_MS);
    return ((await committedEntries(client, copysetIds)) - before) / ENTRIES_SAMPLE;
  };
  progress(`log entries per rename (${ENTRIES_SAMPLE} renames one at a time, per path)`);
  const baseline = await perRename(moves.baseline, pairs.baseline);
  const cross = await perRename(moves.cross, pairs.cross);
  report.figure({ name: 'log entries per cross-copyset rename', value: cross, unit: 'entries', baseline: { name: 'per same-partition rename', value: baseline } });
}

/** Cross-copyset renames/s with N independent clients, one rename in flight each, N = levels. */
async function scaling(
  report: Reporter,
  routes: readonly PartitionRoute[],
  newClient: (routes: readonly PartitionRoute[]) => MetaServerClient,
  pairs: readonly Pair[],
  levels: readonly number[],
  phases: Phases,
  servers: readonly ServerProcess[],
): Promise<void> {
  const fsClients = Array.from({ length: Math.max(...levels) }, () => new FsClient({ client: newClient(routes), fsId: FS_ID }));
  let single: number | undefined;
  for (const n of levels) {
    progress(`cross-copyset renames, ${n} client(s)`);
    const { result, cpu } = await withServerCpu(servers, () => closedLoop(`${n} clients`, n, phases.durationMs, PHASE_WARMUP_MS, (w) => flip(viaFsClient(fsClients[w]!), pairs[w]!), 'renames'));
    single ??= result.perSecond;
    report.figure({ name: `cross-copyset renames, ${n} client${n === 1 ? '' : 's'}`, value: result.perSecond, unit: 'renames/s', baseline: { name: '1 client', value: single } });
    report.measured(`${n} client(s): p50 ${round(result.p50Ms, 1)} ms, p99 ${round(result.p99Ms, 1)} ms; server CPU ${cpu}`);
  }
}

const suite: Suite = {
  name: 'rename',
  description:
    'renames through the client on 3 metaserver processes: cross-copyset beside same-partition renames/s and p50/p99 at N in flight; one contended name; creates and links across copysets beside single-copyset creates; cross-copyset scaling over 1..N clients in unrelated directories',
  flags: {
    inflight: { description: 'renames in flight (closed-loop workers) for the main figures', default: 64, quick: 64 },
    clients: { description: 'most independent clients in the scaling figures (levels 1, 4, 16, ... up to it)', default: 64, quick: 64 },
    files: {
      description: 'files per directory pair, renamed in turn (1: each rename touches the names and inode of the one before, while its cross-copyset resolution may still run)',
      default: 4,
      quick: 4,
    },
    copysets: { description: 'copysets of the file system (at least 2), 2 partitions each', default: 2, quick: 2 },
    duration: { description: 'measured milliseconds per figure', default: 5000, quick: 1500 },
    // The quick warm-up is longer than cluster's: the baseline is every ratio's denominator.
    warmup: { description: 'milliseconds of load before the baseline and the cross-copyset figure (JIT warm-up of the servers)', default: 10000, quick: 3000 },
  },
  run,
};
export default suite;
