/**
 * `recovery`: how long a replica takes from process start until it serves reads, when
 * its data folder holds a snapshot of N files (default 1M) and E newer log entries
 * (default 100k).
 *
 * Setup (not timed): one partition of N files (the lookup fixture) is dumped as the
 * group's snapshot at index 1; then E entries are produced by the executor itself (E/2
 * file creates: CreateInode + CreateDentry, as a client makes them) and written to the
 * level log store after the snapshot, committed, with the replica as the group's only
 * voter. The timed part runs in a fresh process (bench/lib-recovery-replica.ts): open
 * the log store, start the RaftHost (load the snapshot), campaign, replay, answer a
 * linearizable GetInode of the inode the last entry created.
 *
 * Each restart runs twice, in turns: as metaraft ships (node + tsx compiling the
 * TypeScript sources at start) and from JavaScript compiled beforehand with tsc (the
 * project's build settings, untimed), which isolates the metaserver's own recovery
 * from the compiler's start.
 */
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MetaExecutor } from '../src/executor/executor.ts';
import { partitionInfoKey } from '../src/metastore/keys.ts';
import { dumpSnapshot } from '../src/metastore/snapshot-io.ts';
import { PartitionStatus } from '../src/metastore/types.ts';
import { encodePartitionInfo } from '../src/metastore/value-codec.ts';
import type { Entry } from '../src/raft/types.ts';
import { LogStore } from '../src/storage/log-store.ts';
import { Progress, progress, round } from './harness.ts';
import type { Suite, SuiteContext } from './harness.ts';
import { buildStore, FILES_PER_DIRECTORY, FS_ID, PARTITION_ID } from './lookup.ts';
import { dentryRequest, inodeRequest } from './lib-copyset-cluster.ts';

const TARGET_MS = 2000;
const GROUP_ID = 1;
const SNAPSHOT_INDEX = 1;
const TERM = 1;
const CONFIG = { voters: [1], learners: [], epoch: 0 };
/** Entries per log-store batch while building the folder. */
const ENTRIES_PER_BATCH = 5000;
/** Restarts timed; the best and the median are reported (the first may pay for a cold page cache). */
const RESTARTS = 3;
const CHILD = fileURLToPath(new URL('./lib-recovery-replica.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** How the replica process is started: as shipped (tsx), or from JavaScript compiled before the clock starts. */
type Launch = { readonly kind: 'tsx' } | { readonly kind: 'compiled'; readonly script: string };

interface Times {
  readonly modulesLoadedMs: number;
  readonly logOpenedMs: number;
  readonly snapshotLoadedMs: number;
  readonly readMs: number;
}

/** Wall-clock milestones since the child's process start, and its CPU time at each (less moved by other jobs). */
interface Milestones extends Times {
  readonly applied: number;
  readonly cpu: Times;
}

/** Builds the data folder; returns the inode id the last entry created and the last index. */
export async function buildFolder(folder: string, files: number, entries: number): Promise<{ inodeId: number; lastIndex: number }> {
  const store = buildStore(files, FILES_PER_DIRECTORY, 'building the snapshot state');
  const directoryCount = Math.ceil(files / FILES_PER_DIRECTORY);
  // New files get ids after the fixture's (its partition record starts at 3).
  const nextId = 3 + directoryCount + files + 1;
  store.applyRecord({
    type: 'set',
    key: partitionInfoKey(PARTITION_ID),
    value: encodePartitionInfo({ fsId: FS_ID, poolId: 1, copysetId: 1, partitionId: PARTITION_ID, start: 0, end: 2 ** 40, nextId, status: PartitionStatus.READWRITE }),
  });
  const snapshotDir = join(folder, 'snapshots', String(GROUP_ID));
  await mkdir(snapshotDir, { recursive: true });
  progress('dumping the snapshot');
  await dumpSnapshot(store, join(snapshotDir, `snapshot-${SNAPSHOT_INDEX}-${TERM}.snap`), { term: TERM, config: CONFIG });

  const logStore = await LogStore.open(join(folder, 'log'));
  try {
    await logStore.batch().installSnapshot(GROUP_ID, { index: SNAPSHOT_INDEX, term: TERM, config: CONFIG }).commit({ sync: true });
    const executor = new MetaExecutor(store, { clock: () => ({ sec: 1_700_000_000, nsec: 0 }) });
    const bar = new Progress('writing log entries');
    let index = SNAPSHOT_INDEX;
    let pending: Entry[] = [];
    let inodeId = 0;
    const propose = (method: 'CreateInode' | 'CreateDentry', request: unknown): { inode?: { inodeId: number } } => {
      const result = executor.execute(method, request as never);
      if (result.kind !== 'write') throw new Error(`${method} did not write (${result.kind === 'read' ? `status ${(result.response as { statusCode: number }).statusCode}` : 'blocked'})`);
      index++;
      executor.onProposed(index);
      store.applyEntry(index, result.batch);
      executor.onApplied(index);
      pending.push({ index, term: TERM, type: 'normal', data: result.batch });
      return result.response as { inode?: { inodeId: number } };
    };
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await logStore.batch().append(GROUP_ID, pending).setHardState(GROUP_ID, { term: TERM, vote: 1, commit: index }).commit({ sync: false });
      pending = [];
    };
    for (let i = 0; index - SNAPSHOT_INDEX < entries; i++) {
      const parent = 3 + (i % directoryCount);
      inodeId = propose('CreateInode', inodeRequest(parent)).inode!.inodeId;
      if (index - SNAPSHOT_INDEX < entries) propose('CreateDentry', dentryRequest(parent, inodeId, `new-${i.toString().padStart(12, '0')}`));
      if (pending.length >= ENTRIES_PER_BATCH) await flush();
      bar.tick(() => `${(index - SNAPSHOT_INDEX).toLocaleString('en-US')} of ${entries.toLocaleString('en-US')}`);
    }
    await flush();
    await logStore.batch().setHardState(GROUP_ID, { term: TERM, vote: 1, commit: index }).commit({ sync: true });
    return { inodeId, lastIndex: index };
  } finally {
    await logStore.close();
  }
}

/**
 * Compiles the replica script and the sources it imports with tsc (the project's build
 * settings) into `outDir`, which gets a link to the project's node_modules and an ESM
 * package.json so the output runs as it is. Returns the compiled script's path.
 */
async function compileReplica(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const tsconfig = join(outDir, 'tsconfig.json');
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: join(REPO_ROOT, 'tsconfig.build.json'),
      compilerOptions: { rootDir: REPO_ROOT, outDir, declaration: false, sourceMap: false, typeRoots: [join(REPO_ROOT, 'node_modules', '@types')] },
      include: [],
      files: [CHILD],
    }),
  );
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', tsconfig], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  const script = join(outDir, 'bench', 'lib-recovery-replica.js');
  // Type errors do not stop tsc from emitting (types are erased); only a missing output is fatal.
  if (code !== 0) progress(`tsc reported type errors (exit ${code}); running its output anyway`);
  await access(script);
  await symlink(join(REPO_ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  await writeFile(join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
  return script;
}

/** Spawns the replica process; returns its milestones and the wall time from spawn to exit. */
function restart(folder: string, inodeId: number, launch: Launch): Promise<{ milestones: Milestones; spawnToReadMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const script = launch.kind === 'tsx' ? ['--import', 'tsx', CHILD] : [launch.script];
    const child = spawn(process.execPath, [...script, folder, String(inodeId)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let readAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (readAt === 0 && output.includes('recovered ')) readAt = performance.now();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('recovered '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`the restarted replica exited with ${code}: ${output.trim()}`));
        return;
      }
      const milestones = JSON.parse(line.slice('recovered '.length)) as Milestones;
      // The child's clock starts at its own process start; ours measured spawn → its report (a little later than its read).
      resolve({ milestones, spawnToReadMs: readAt - started });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function run({ sizes, report }: SuiteContext): Promise<void> {
  const files = sizes.files!;
  const entries = sizes.entries!;
  report.measured(`one replica's data folder: a snapshot of ${files.toLocaleString('en-US')} files (one partition, directories of ${FILES_PER_DIRECTORY}) and ${entries.toLocaleString('en-US')} newer committed log entries (${Math.ceil(entries / 2).toLocaleString('en-US')} creates made by the executor) in the level log store; built untimed`);
  report.measured(`timed: a fresh process opens the log store (checking every entry), starts a RaftHost with the copyset state machine (loads the snapshot file), campaigns at once (sole voter: no election timeout), replays the log, answers a linearizable GetInode of the newest inode; ${RESTARTS} restarts as shipped (node + tsx) and ${RESTARTS} from JavaScript compiled by tsc beforehand, in turns; medians and best; the CPU figures are the replica process's user + system time (every thread) per phase, less moved by other jobs than wall time`);
  const folder = await mkdtemp(join(tmpdir(), 'metaraft-recovery-'));
  try {
    const built = await buildFolder(join(folder, 'data'), files, entries);
    progress('compiling the replica with tsc (untimed)');
    const compiled: Launch = { kind: 'compiled', script: await compileReplica(join(folder, 'compiled')) };
    const runs: Record<Launch['kind'], Array<{ milestones: Milestones; spawnToReadMs: number }>> = { tsx: [], compiled: [] };
    for (let r = 0; r < RESTARTS; r++) {
      for (const launch of [{ kind: 'tsx' } as const, compiled]) {
        progress(`restart ${r + 1} of ${RESTARTS} (${launch.kind})`);
        const result = await restart(join(folder, 'data'), built.inodeId, launch);
        if (result.milestones.applied < built.lastIndex) throw new Error(`the replica served at ${result.milestones.applied}, before the last entry ${built.lastIndex}`);
        runs[launch.kind].push(result);
      }
    }
    const m = (kind: Launch['kind'], pick: (x: Milestones) => number): number => median(runs[kind].map((r) => pick(r.milestones)));
    const best = (kind: Launch['kind']): number => Math.min(...runs[kind].map((r) => r.milestones.readMs));
    const target = { op: '<=', value: TARGET_MS } as const;
    report.figure({ name: 'process start to first read served', value: m('tsx', (x) => x.readMs), unit: 'ms', target });
    report.figure({ name: 'process start to first read served (best)', value: best('tsx'), unit: 'ms', target });
    report.figure({ name: 'process start to first read served, compiled JavaScript', value: m('compiled', (x) => x.readMs), unit: 'ms', target });
    report.figure({ name: 'process start to first read served, compiled JavaScript (best)', value: best('compiled'), unit: 'ms', target });
    report.figure({ name: 'runtime and modules loaded', value: m('tsx', (x) => x.modulesLoadedMs), unit: 'ms' });
    report.figure({ name: 'runtime and modules loaded, compiled JavaScript', value: m('compiled', (x) => x.modulesLoadedMs), unit: 'ms' });
    // After the modules are loaded both launches run the same code: the split is over all restarts.
    const all = [...runs.tsx, ...runs.compiled].map((r) => r.milestones);
    const split = (pick: (x: Milestones) => number): number => median(all.map(pick));
    report.figure({ name: 'modules loaded to first read served', value: split((x) => x.readMs - x.modulesLoadedMs), unit: 'ms', target });
    report.figure({ name: 'log store opened and checked', value: split((x) => x.logOpenedMs - x.modulesLoadedMs), unit: 'ms' });
    report.figure({ name: 'snapshot loaded (host started)', value: split((x) => x.snapshotLoadedMs - x.logOpenedMs), unit: 'ms' });
    report.figure({ name: 'election, log replay and the read', value: split((x) => x.readMs - x.snapshotLoadedMs), unit: 'ms' });
    report.figure({ name: 'CPU: modules loaded to first read served', value: split((x) => x.cpu.readMs - x.cpu.modulesLoadedMs), unit: 'ms' });
    report.figure({ name: 'CPU: log store opened and checked', value: split((x) => x.cpu.logOpenedMs - x.cpu.modulesLoadedMs), unit: 'ms' });
    report.figure({ name: 'CPU: snapshot loaded (host started)', value: split((x) => x.cpu.snapshotLoadedMs - x.cpu.logOpenedMs), unit: 'ms' });
    report.figure({ name: 'CPU: election, log replay and the read', value: split((x) => x.cpu.readMs - x.cpu.snapshotLoadedMs), unit: 'ms' });
    for (const kind of ['tsx', 'compiled'] as const) {
      report.measured(`${kind}: spawn to the replica's report, as the parent saw it: ${runs[kind].map((r) => round(r.spawnToReadMs, 0)).join(', ')} ms`);
    }
    report.measured(`last index ${built.lastIndex.toLocaleString('en-US')}`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const suite: Suite = {
  name: 'recovery',
  description: 'time from process start until a replica with a 1M-file snapshot and 100k newer log entries serves reads',
  flags: {
    files: { description: 'files in the snapshot', default: 1_000_000, quick: 100_000 },
    entries: { description: 'committed log entries after the snapshot', default: 100_000, quick: 10_000 },
  },
  run,
};
export default suite;
