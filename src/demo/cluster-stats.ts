/**
 * Latency and throughput of the demo's operations, per kind: each operation's latency
 * in milliseconds, and the wall time of the phase that ran them all (clients run a
 * phase concurrently, so ops/s is count over the phase's wall time).
 */

export const OP_KINDS = ['mkdir', 'create', 'stat', 'readdir', 'rename', 'unlink'] as const;
export type OpKind = (typeof OP_KINDS)[number];

export interface OpSummary {
  readonly count: number;
  readonly errors: number;
  readonly wallMs: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted` by the nearest-rank method; 0 when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export class OpStats {
  private readonly latencies = new Map<OpKind, number[]>();
  private readonly errors = new Map<OpKind, number>();
  private readonly wall = new Map<OpKind, number>();

  record(kind: OpKind, latencyMs: number): void {
    const list = this.latencies.get(kind) ?? [];
    list.push(latencyMs);
    this.latencies.set(kind, list);
  }

  recordError(kind: OpKind): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  /** Adds the wall time of a phase of `kind` operations. */
  addWallTime(kind: OpKind, ms: number): void {
    this.wall.set(kind, (this.wall.get(kind) ?? 0) + ms);
  }

  summary(kind: OpKind): OpSummary {
    const sorted = [...(this.latencies.get(kind) ?? [])].sort((a, b) => a - b);
    const wallMs = this.wall.get(kind) ?? 0;
    return {
      count: sorted.length,
      errors: this.errors.get(kind) ?? 0,
      wallMs,
      opsPerSecond: wallMs > 0 ? (sorted.length * 1000) / wallMs : 0,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
    };
  }

  summaries(): Record<OpKind, OpSummary> {
    return Object.fromEntries(OP_KINDS.map((kind) => [kind, this.summary(kind)])) as Record<OpKind, OpSummary>;
  }
}

/** The per-kind table the demo prints. */
export function formatOpTable(summaries: Record<OpKind, OpSummary>): string {
  const header = `${'op'.padEnd(8)} ${'count'.padStart(6)} ${'errors'.padStart(6)} ${'ops/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`;
  const rows = OP_KINDS.map((kind) => {
    const s = summaries[kind];
    return `${kind.padEnd(8)} ${String(s.count).padStart(6)} ${String(s.errors).padStart(6)} ${s.opsPerSecond.toFixed(0).padStart(8)} ${s.p50Ms.toFixed(2).padStart(8)} ${s.p99Ms.toFixed(2).padStart(8)}`;
  });
  return [header, ...rows].join('\n');
}
