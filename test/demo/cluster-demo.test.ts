/**
 * The cluster demo with a small workload: the counts it reports are the operations it
 * was asked for, the replicas agree, and no server process survives it, whether it
 * finishes, is aborted, or its process gets SIGINT (Ctrl-C) in the middle.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { DemoAbortedError, runClusterDemo, survivingServerPids } from '../../src/demo/cluster-demo.ts';

const TUNING = { fsync: false } as const;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function collector(isTTY = false): { write(text: string): boolean; readonly isTTY: boolean; text(): string } {
  let text = '';
  return {
    isTTY,
    write(chunk: string) {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

test('a small workload: the reported counts match the plan, replicas agree, and every server process is stopped', async () => {
  const output = collector();
  const progress = collector();
  const report = await runClusterDemo({ clients: 2, filesPerClient: 10, readdirRounds: 2, tuning: TUNING, output, progress, handleSignals: false });

  expect(report.servers).toBe(3);
  expect(report.copysets).toBe(2);
  expect(report.partitions).toBe(4);
  const counts = Object.fromEntries(Object.entries(report.ops).map(([kind, s]) => [kind, s.count]));
  expect(counts).toEqual({ mkdir: 4, create: 20, stat: 20, readdir: 4, rename: 10, unlink: 10 });
  expect(Object.values(report.ops).every((s) => s.errors === 0)).toBe(true);
  expect(report.totalOps).toBe(68);
  for (const s of Object.values(report.ops)) {
    expect(s.p50Ms).toBeGreaterThan(0);
    expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
    expect(s.opsPerSecond).toBeGreaterThan(0);
  }
  expect(report.entriesLeft).toBe(10); // 2 clients × 10 files, half renamed then unlinked
  // Client 0's directory is in partition 1 (copyset 1), client 1's in partition 2 (copyset 2).
  expect(report.directoriesByCopyset).toEqual({ '1/1': 2, '1/2': 2 });
  expect(report.copysetReports.map((c) => c.copysetId)).toEqual([1, 2]);
  for (const c of report.copysetReports) {
    expect(c.replicasAgree).toBe(true);
    expect(c.appliedIndex).toBeGreaterThan(0);
  }

  expect(output.text()).toMatch(/^create\s+20\s+0\s/m);
  expect(output.text()).toMatch(/^unlink\s+10\s+0\s/m);
  expect(output.text()).toContain('stopped 3 metaserver processes');
  expect(progress.text()).toContain('100% 68/68 ops');

  expect(report.pids).toHaveLength(3);
  expect(report.pids.filter(isAlive)).toEqual([]);
  expect(survivingServerPids()).toEqual([]);
}, 90_000);

test('an abort once the cluster serves stops every server process and rejects with DemoAbortedError', async () => {
  const controller = new AbortController();
  let pids: readonly number[] = [];
  const run = runClusterDemo({
    clients: 2,
    filesPerClient: 10_000,
    tuning: TUNING,
    output: null,
    progress: null,
    handleSignals: false,
    signal: controller.signal,
    onClusterReady: (info) => {
      pids = info.pids;
      controller.abort('test abort');
    },
  });
  await expect(run).rejects.toBeInstanceOf(DemoAbortedError);
  expect(pids).toHaveLength(3);
  expect(pids.filter(isAlive)).toEqual([]);
  expect(survivingServerPids()).toEqual([]);
}, 90_000);

test('SIGINT to the demo process in the middle of the workload stops every server process (exit 130)', async () => {
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const main = join(import.meta.dirname, '../../src/demo/cluster-main.ts');
  const child = spawn(process.execPath, ['--import', loader, main, '--clients', '2', '--files', '5000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('workload:')) resolve();
      });
      void exited.then(() => reject(new Error(`the demo exited before its workload: ${stderr}`)));
    });
    const pids = [...stdout.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('stopped (SIGINT)');
    expect(pids.filter(isAlive)).toEqual([]);
  } finally {
    child.kill('SIGKILL');
  }
}, 90_000);
