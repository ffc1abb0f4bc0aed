/**
 * `replicated`: file creates per second on one copyset of 3 replicas in ONE process: each
 * replica a RaftHost with a real level log store (temporary folders) and the copyset's
 * state machine and executor (CopysetNode), connected by an InMemoryHub (no gRPC).
 *
 * A create is what a client does for a new file: CreateInode, then CreateDentry with the
 * new id: two executor writes, two log entries, the second proposed once the first is
 * applied on the leader. N workers (default 256) each create files in their own
 * directory in a closed loop, so N creates are in flight. Latency is per create (both
 * writes). Measured with fsync on (each group-commit batch synced), then again with
 * fsync off. Baseline in the same run: the same executor calls applied straight to a
 * MetaStore (execute → applyEntry → onApplied), no Raft, no log, no replication.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MetaExecutor } from '../src/executor/executor.ts';
import { MetaStore } from '../src/metastore/metastore.ts';
import { collectGarbage, formatNumber, measureRate, progress, Progress, round, startCpuMeter } from './harness.ts';
import type { Suite, SuiteContext } from './harness.ts';
import { createName, DirectApplier, percentile, prepareNamespace, replicatedWrites, startCluster, stopReplicas } from './lib-copyset-cluster.ts';

const TARGET_CREATES_PER_SECOND = 50_000;
const WARMUP_MS = 1000;
/** Latency samples kept (a ring; enough for stable p99s). */
const MAX_SAMPLES = 1 << 20;
const BASELINE_CREATES_PER_STEP = 64;

interface ReplicatedResult {
  readonly creates: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuPercent: number;
  readonly syncs: number;
  readonly batches: number;
}

async function runReplicated(fsync: boolean, inFlight: number, durationMs: number): Promise<ReplicatedResult> {
  const root = await mkdtemp(join(tmpdir(), 'metaraft-replicated-'));
  let replicas: Awaited<ReturnType<typeof startCluster>>['replicas'] = [];
  try {
    ({ replicas } = await startCluster(root, fsync));
    const leader = replicas[0]!;
    progress(`fsync ${fsync ? 'on' : 'off'}: preparing ${inFlight} directories`);
    const directories = await prepareNamespace(leader.node, inFlight);
    const writes = replicatedWrites(leader.node);
    const samples = new Float64Array(MAX_SAMPLES);
    let measuring = false;
    let stopping = false;
    let creates = 0;
    const bar = new Progress(`fsync ${fsync ? 'on' : 'off'}`);
    const worker = async (w: number): Promise<void> => {
      const parent = directories[w]!;
      for (let i = 0; !stopping; i++) {
        const started = performance.now();
        const inodeId = await writes.createInode(parent);
        await writes.createDentry(parent, inodeId, createName(w, i));
        if (measuring && !stopping) {
          samples[creates % MAX_SAMPLES] = performance.now() - started;
          creates++;
          bar.tick(() => `${formatNumber(creates)} creates`);
        }
      }
    };
    const workers = Array.from({ length: inFlight }, (_, w) => worker(w));
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const before = { ...leader.host.stats };
    collectGarbage();
    const cpu = startCpuMeter();
    const start = performance.now();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    stopping = true;
    const seconds = (performance.now() - start) / 1000;
    const used = cpu();
    const counted = creates;
    await Promise.all(workers);
    const kept = Math.min(counted, MAX_SAMPLES);
    // Every replica must hold what the leader applied (the run is a correctness check too).
    const last = leader.host.status(1).lastIndex;
    await waitApplied(replicas, last);
    const hash = leader.node.store.stateHash();
    for (const r of replicas) if (r.node.store.stateHash() !== hash) throw new Error(`replica ${r.id} differs from the leader after the run`);
    return {
      creates: counted,
      seconds,
      p50Ms: percentile(samples, kept, 50),
      p99Ms: percentile(samples, kept, 99),
      cpuPercent: used.percentOfOneCore,
      syncs: leader.host.stats.syncs - before.syncs,
      batches: leader.host.stats.batches - before.batches,
    };
  } finally {
    await stopReplicas(replicas);
    await rm(root, { recursive: true, force: true });
  }
}

async function waitApplied(replicas: Awaited<ReturnType<typeof startCluster>>['replicas'], index: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!replicas.every((r) => r.node.store.appliedIndex >= index)) {
    if (Date.now() > deadline) throw new Error(`replicas did not apply ${index} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function runBaseline(inFlight: number, durationMs: number): { perSecond: number; creates: number } {
  const store = new MetaStore();
  const applier = new DirectApplier(store, new MetaExecutor(store, { clock: () => ({ sec: 1_700_000_000, nsec: 0 }) }));
  const directories = applier.prepare(inFlight);
  const counters = new Array<number>(inFlight).fill(0);
  let w = 0;
  const result = measureRate({
    warmupMs: WARMUP_MS / 2,
    durationMs,
    step: () => {
      // Round-robin over the same directories the replicated run uses.
      for (let k = 0; k < BASELINE_CREATES_PER_STEP; k++) {
        applier.createFile(directories[w]!, createName(w, counters[w]!++));
        w = (w + 1) % inFlight;
      }
      return BASELINE_CREATES_PER_STEP;
    },
  });
  return { perSecond: result.perSecond, creates: result.units };
}

async function run({ sizes, report }: SuiteContext): Promise<void> {
  const inFlight = sizes.inflight!;
  const durationMs = sizes.duration!;
  report.measured(`one copyset, 3 replicas in one process (RaftHost + copyset state machine + executor, InMemoryHub, no gRPC), each with its own level log store in a temp folder; election by defaults (100 ms ticks)`);
  report.measured(`a create = CreateInode + CreateDentry: two executor writes, two log entries, the dentry proposed once the inode is applied on the leader; ${inFlight} creates in flight (one closed-loop worker per directory), ${WARMUP_MS} ms warm-up, ${durationMs} ms measured`);
  report.measured(`baseline: the same executor calls applied straight to a MetaStore (execute, applyEntry, onApplied), no Raft, no log, one thread, ${durationMs} ms`);

  progress('baseline: creates applied without Raft');
  const baseline = runBaseline(inFlight, durationMs);
  const baselineFigure = { name: 'creates applied without Raft', value: baseline.perSecond };

  progress('3 replicas, fsync on');
  const synced = await runReplicated(true, inFlight, durationMs);
  report.figure({ name: 'creates (fsync on)', value: synced.creates / synced.seconds, unit: 'creates/s', baseline: baselineFigure, target: { op: '>=', value: TARGET_CREATES_PER_SECOND } });
  report.figure({ name: 'create latency p50 (fsync on)', value: synced.p50Ms, unit: 'ms' });
  report.figure({ name: 'create latency p99 (fsync on)', value: synced.p99Ms, unit: 'ms' });
  report.measured(`fsync on: ${formatNumber(synced.creates)} creates in ${round(synced.seconds, 2)} s; process CPU ${Math.round(synced.cpuPercent)}% of a core; leader's log batches ${formatNumber(synced.batches)} (${formatNumber(synced.syncs)} synced): ${round((2 * synced.creates) / Math.max(1, synced.batches), 1)} entries per batch`);

  collectGarbage();
  progress('3 replicas, fsync off');
  const unsynced = await runReplicated(false, inFlight, durationMs);
  report.figure({ name: 'creates (fsync off)', value: unsynced.creates / unsynced.seconds, unit: 'creates/s', baseline: baselineFigure, target: { op: '>=', value: TARGET_CREATES_PER_SECOND } });
  report.figure({ name: 'create latency p50 (fsync off)', value: unsynced.p50Ms, unit: 'ms' });
  report.figure({ name: 'create latency p99 (fsync off)', value: unsynced.p99Ms, unit: 'ms' });
  report.measured(`fsync off: ${formatNumber(unsynced.creates)} creates in ${round(unsynced.seconds, 2)} s; process CPU ${Math.round(unsynced.cpuPercent)}% of a core; leader's log batches ${formatNumber(unsynced.batches)}: ${round((2 * unsynced.creates) / Math.max(1, unsynced.batches), 1)} entries per batch`);
  report.figure({ name: 'creates applied without Raft', value: baseline.perSecond, unit: 'creates/s' });
}

const suite: Suite = {
  name: 'replicated',
  description: 'creates/s (CreateInode + CreateDentry) on 3 replicas in one process with level logs, fsync on and off; p50/p99; against the same creates applied without Raft',
  flags: {
    inflight: { description: 'creates in flight (closed-loop workers)', default: 256, quick: 256 },
    duration: { description: 'measured milliseconds per run', default: 5000, quick: 1500 },
  },
  run,
};
export default suite;
