/**
 * Closed-loop load for the suites that drive real server processes (cluster, rename):
 * N workers each running one operation after another, measured after a warm-up, and
 * the CPU each server process used meanwhile.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { formatNumber, Progress, startCpuMeter } from './harness.ts';

/** Latency samples kept per run (a ring: the newest when there are more). */
const MAX_SAMPLES = 1 << 20;

export interface LoadResult {
  readonly ops: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This (client) process's CPU over the measured part, % of one core. */
  readonly cpuPercent: number;
}

/**
 * `inFlight` closed-loop workers running `op(worker, i)` for `warmupMs`, then for
 * `durationMs`, measured. The first failure stops every worker and is thrown.
 */
export async function closedLoop(
  label: string,
  inFlight: number,
  durationMs: number,
  warmupMs: number,
  op: (worker: number, i: number) => Promise<void>,
  unit = 'ops',
): Promise<LoadResult> {
  const samples = new Float64Array(MAX_SAMPLES);
  let measuring = false;
  let stopping = false;
  let ops = 0;
  const bar = new Progress(label);
  let failure: unknown = null;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      const started = performance.now();
      await op(w, i);
      if (measuring && !stopping) {
        samples[ops % MAX_SAMPLES] = performance.now() - started;
        ops++;
        bar.tick(() => `${formatNumber(ops)} ${unit}`);
      }
    }
  };
  const workers = Array.from({ length: inFlight }, (_, w) =>
    worker(w).catch((error: unknown) => {
      failure ??= error;
      stopping = true;
    }),
  );
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  await Promise.race([wait(warmupMs), Promise.all(workers)]);
  const cpu = startCpuMeter();
  const start = performance.now();
  measuring = true;
  await Promise.race([wait(durationMs), Promise.all(workers)]);
  stopping = true;
  const seconds = (performance.now() - start) / 1000;
  const counted = ops;
  const used = cpu();
  await Promise.all(workers);
  if (failure !== null) throw failure;
  const sorted = Float64Array.from(samples.subarray(0, Math.min(counted, MAX_SAMPLES))).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  return { ops: counted, perSecond: counted / seconds, p50Ms: at(50), p99Ms: at(99), cpuPercent: used.percentOfOneCore };
}

/** CPU seconds (user + system) a process has used so far, from /proc (0 where unavailable). */
export async function processCpuSeconds(pid: number | undefined): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Each process's CPU share between two readings `seconds` apart, as "a%, b%, …" of a core. */
export function cpuShares(before: readonly number[], after: readonly number[], seconds: number): string {
  return after.map((cpu, i) => `${Math.round((100 * (cpu - before[i]!)) / seconds)}%`).join(', ');
}
