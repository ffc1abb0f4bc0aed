/**
 * The benchmark harness: what a suite is, how it reports figures, and the timing,
 * CPU and heap helpers the suites share.
 *
 * Output contract (docs/benchmarks.md): a readable table on stdout; with `--json`, each
 * figure also as one JSON line `{"suite","name","value","unit"}` (+ `"baseline"`,
 * `"baseline_value"`, `"ratio"` when it has a baseline). Only those lines start with
 * `{`. Progress goes to stderr.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A size flag of a suite: `--<name>=N`, a positive integer; k and M suffixes accepted (`--files=1M`, `--files=1.5k`). */
export interface SizeFlag {
  readonly description: string;
  readonly default: number;
  /** The value under `--quick` (the same figure names, a smaller run). */
  readonly quick: number;
}

export interface SuiteContext {
  readonly quick: boolean;
  readonly json: boolean;
  /** Every size flag of the suite, resolved (given value, else quick or default). */
  readonly sizes: Readonly<Record<string, number>>;
  readonly report: Reporter;
}

export interface Suite {
  readonly name: string;
  /** One line: what the suite measures. */
  readonly description: string;
  readonly flags: Readonly<Record<string, SizeFlag>>;
  run(context: SuiteContext): Promise<void>;
}

export interface Target {
  readonly op: '>=' | '<=';
  readonly value: number;
}

export interface FigureInput {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** A figure measured in the same run that this one is compared to. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** The design target, shown in the table. */
  readonly target?: Target;
}

interface Figure extends FigureInput {
  readonly ratio?: number;
}

/** Collects a suite's figures, prints JSON lines as they come and a table at the end. */
export class Reporter {
  private readonly figures: Figure[] = [];

  constructor(
    readonly suite: string,
    private readonly json: boolean,
  ) {}

  /** States, on stdout, what is being measured: sizes, concurrency, fsync, processes. */
  measured(text: string): void {
    process.stdout.write(`  - ${text}\n`);
  }

  figure(input: FigureInput): void {
    const ratio = input.baseline && input.baseline.value !== 0 ? input.value / input.baseline.value : undefined;
    const figure: Figure = ratio === undefined ? input : { ...input, ratio };
    this.figures.push(figure);
    if (!this.json) return;
    const line: Record<string, string | number> = { suite: this.suite, name: figure.name, value: figure.value, unit: figure.unit };
    if (figure.baseline) {
      line.baseline = figure.baseline.name;
      line.baseline_value = figure.baseline.value;
      if (ratio !== undefined) line.ratio = round(ratio, 4);
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  /** The readable table of every figure reported so far. */
  printTable(): void {
    const header = ['figure', 'value', 'unit', 'baseline', 'ratio', 'target'];
    const rows = this.figures.map((f) => [
      f.name,
      formatNumber(f.value),
      f.unit,
      f.baseline ? `${f.baseline.name} = ${formatNumber(f.baseline.value)}` : '',
      f.ratio === undefined ? '' : `${round(f.ratio, 2)}x`,
      f.target ? describeTarget(f) : '',
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const format = (cells: string[]): string => `  ${cells.map((cell, c) => (c === 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')}`.trimEnd();
    process.stdout.write(`${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}\n`);
    for (const row of rows) process.stdout.write(`${format(row)}\n`);
  }
}

function describeTarget(f: Figure): string {
  const target = f.target!;
  const met = target.op === '>=' ? f.value >= target.value : f.value <= target.value;
  const wanted = `${target.op === '>=' ? '≥' : '≤'} ${formatNumber(target.value)}`;
  if (met) return `${wanted}: met`;
  const factor = target.op === '>=' ? target.value / f.value : f.value / target.value;
  return `${wanted}: short by ${round(factor, 2)}x`;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** 1234567 → "1,234,567"; 12.345 → "12.35"; small values keep 3 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return String(round(value, 2));
  return String(Number(value.toPrecision(3)));
}

// ---------------------------------------------------------------------------------
// Progress (stderr), throttled so it costs nothing in a hot loop.

const PROGRESS_INTERVAL_MS = 1000;

export class Progress {
  private last = performance.now();

  constructor(private readonly label: string) {}

  /** Prints `text()` at most once a second; `text` is only evaluated when printed. */
  tick(text: () => string): void {
    const now = performance.now();
    if (now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    progress(`${this.label}: ${text()}`);
  }
}

export function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

// ---------------------------------------------------------------------------------
// Time and CPU.

/** Wall time and CPU time (user + system) since `startCpuMeter()`. */
export interface CpuReading {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** CPU time as a percentage of one core over the wall time. */
  readonly percentOfOneCore: number;
}

export function startCpuMeter(): () => CpuReading {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  return () => {
    const wallMs = performance.now() - wallStart;
    const used = process.cpuUsage(cpuStart);
    const cpuMs = (used.user + used.system) / 1000;
    return { wallMs, cpuMs, percentOfOneCore: wallMs > 0 ? (100 * cpuMs) / wallMs : 0 };
  };
}

export interface RateResult {
  /** Units of work done during the measured phase (warm-up excluded). */
  readonly units: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly cpu: CpuReading;
}

/**
 * Runs `step` (which does some work and returns how many units it did) repeatedly:
 * first for `warmupMs` (JIT, caches; not counted), then for `durationMs`, measured.
 * A step should take well under a millisecond to a few milliseconds.
 */
export function measureRate(options: {
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly step: () => number;
  readonly progress?: Progress;
  readonly unit?: string;
}): RateResult {
  const { warmupMs, durationMs, step } = options;
  const warmupEnd = performance.now() + warmupMs;
  while (performance.now() < warmupEnd) step();
  const stop = startCpuMeter();
  const start = performance.now();
  const end = start + durationMs;
  let units = 0;
  let now = start;
  while (now < end) {
    units += step();
    now = performance.now();
    options.progress?.tick(() => `${formatNumber(units)} ${options.unit ?? 'units'} in ${round((now - start) / 1000, 1)} s`);
  }
  const seconds = (now - start) / 1000;
  return { units, seconds, perSecond: units / seconds, cpu: stop() };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------
// Heap.

type GcFunction = () => void;
let gcFunction: GcFunction | null | undefined;

/**
 * The V8 garbage collector, for heap measurements. Preferred: run with the flag
 * (`NODE_OPTIONS=--expose-gc npm run bench -- memory`). Otherwise the flag is set at
 * run time and `gc` fetched from a fresh context, which V8 also allows; null if both fail.
 */
export function garbageCollector(): GcFunction | null {
  if (gcFunction !== undefined) return gcFunction;
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') return (gcFunction = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const fetched: unknown = runInNewContext('gc');
    gcFunction = typeof fetched === 'function' ? (fetched as GcFunction) : null;
  } catch {
    gcFunction = null;
  }
  return gcFunction;
}

/** Runs full collections if the collector is reachable (see garbageCollector); a no-op otherwise. */
export function collectGarbage(): void {
  const gc = garbageCollector();
  if (gc) for (let i = 0; i < 3; i++) gc();
}

/** Heap bytes in use after full collections (several, so weak and finalized objects go too). */
export function measureHeapBytes(): { bytes: number; collected: boolean } {
  collectGarbage();
  return { bytes: process.memoryUsage().heapUsed, collected: garbageCollector() !== null };
}
