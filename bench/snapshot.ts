/**
 * `snapshot`: dump and load of a copyset of N files through the snapshot file, against
 * writing the same bytes with one fs write stream; and the longest stall of a
 * concurrent apply loop (a setImmediate loop applying one entry per turn) during a dump.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { inodeKey } from '../src/metastore/keys.ts';
import { MetaStore } from '../src/metastore/metastore.ts';
import { encodeRecordBatch } from '../src/metastore/record-codec.ts';
import { dumpSnapshot, loadSnapshot } from '../src/metastore/snapshot-io.ts';
import { encodeInode } from '../src/metastore/value-codec.ts';
import { collectGarbage, progress, startCpuMeter } from './harness.ts';
import type { Suite, SuiteContext } from './harness.ts';
import { mulberry32 } from '../src/testing/random.ts';
import { buildStore, FS_ID, fixtureFiles, PARTITION_ID } from './lookup.ts';

const CONFIG = { voters: [1, 2, 3], learners: [], epoch: 0 };
const STREAM_CHUNK_BYTES = 1 << 20;

async function writeWithOneStream(path: string, bytes: Buffer): Promise<void> {
  const stream = createWriteStream(path);
  for (let at = 0; at < bytes.length; at += STREAM_CHUNK_BYTES) {
    if (!stream.write(bytes.subarray(at, at + STREAM_CHUNK_BYTES))) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  const handle = await open(path, 'r+');
  await handle.sync();
  await handle.close();
}

/** Entries that change random existing inodes (what a busy copyset applies). */
function updateEntries(files: number, count: number): Uint8Array[] {
  const fixture = fixtureFiles(files);
  const random = mulberry32(99);
  const entries: Uint8Array[] = [];
  for (let e = 0; e < count; e++) {
    const records = [];
    for (let r = 0; r < 4; r++) {
      const { inode } = fixture.files(Math.floor(random() * files));
      records.push({ type: 'set' as const, key: inodeKey(PARTITION_ID, FS_ID, inode.inodeId), value: encodeInode({ ...inode, length: e }) });
    }
    entries.push(encodeRecordBatch(records));
  }
  return entries;
}

/**
 * Applies entries one per event-loop turn until `done()`; returns the longest gap between
 * turns in wall time, and the most CPU time the process used within one gap (what the
 * process itself held the loop for; a wall gap much longer than that was the machine).
 */
function applyLoop(store: MetaStore, entries: readonly Uint8Array[], done: () => boolean): Promise<{ longestMs: number; longestCpuMs: number; applied: number }> {
  return new Promise((resolve) => {
    let last = performance.now();
    let lastCpu = process.cpuUsage();
    let longestMs = 0;
    let longestCpuMs = 0;
    let applied = 0;
    const turn = () => {
      const now = performance.now();
      const cpu = process.cpuUsage();
      longestMs = Math.max(longestMs, now - last);
      longestCpuMs = Math.max(longestCpuMs, (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000);
      last = now;
      lastCpu = cpu;
      if (done()) {
        resolve({ longestMs, longestCpuMs, applied });
        return;
      }
      store.applyEntry(store.appliedIndex + 1, entries[applied % entries.length]!);
      applied++;
      setImmediate(turn);
    };
    setImmediate(turn);
  });
}

async function run({ sizes, report }: SuiteContext): Promise<void> {
  const files = sizes.files!;
  const folder = await mkdtemp(join(tmpdir(), 'metaraft-bench-'));
  try {
    report.measured(`${files.toLocaleString('en-US')} files (${(2 * files).toLocaleString('en-US')} pairs), one partition; snapshot file with fsync + rename; temp folder on the default disk`);
    const store = buildStore(files);
    const path = join(folder, 'snapshot');
    progress('dumping');
    collectGarbage();
    let stopCpu = startCpuMeter();
    let started = performance.now();
    const dumped = await dumpSnapshot(store, path, { term: 1, config: CONFIG });
    const dumpSeconds = (performance.now() - started) / 1000;
    const dumpCpu = stopCpu();
    const bytes = await readFile(path);
    started = performance.now();
    await writeWithOneStream(join(folder, 'stream'), bytes);
    const streamSeconds = (performance.now() - started) / 1000;
    await rm(join(folder, 'stream'));
    report.figure({
      name: 'dump',
      value: dumped.pairCount / dumpSeconds,
      unit: 'entries/s',
      baseline: { name: 'same bytes through one fs write stream', value: dumped.pairCount / streamSeconds },
      target: { op: '>=', value: 1_000_000 },
    });
    report.figure({ name: 'dump per CPU second', value: dumped.pairCount / (dumpCpu.cpuMs / 1000), unit: 'entries/CPU-s' });
    report.measured(`snapshot file: ${(bytes.length / 1e6).toFixed(1)} MB, ${dumped.pairCount.toLocaleString('en-US')} pairs; dump used ${Math.round(dumpCpu.percentOfOneCore)}% of a core`);

    progress('loading');
    collectGarbage();
    stopCpu = startCpuMeter();
    started = performance.now();
    const loaded = await loadSnapshot(path);
    const loadSeconds = (performance.now() - started) / 1000;
    const loadCpu = stopCpu();
    if (loaded.store.stateHash() !== store.stateHash()) throw new Error('the loaded state differs from the dumped one');
    report.figure({ name: 'load (verify + rebuild)', value: dumped.pairCount / loadSeconds, unit: 'entries/s', target: { op: '>=', value: 2_000_000 } });
    report.figure({ name: 'load per CPU second', value: dumped.pairCount / (loadCpu.cpuMs / 1000), unit: 'entries/CPU-s' });
    loaded.store.replaceWith(new MetaStore()); // let the copy go before the stall phase

    progress('dumping with a concurrent apply loop');
    const entries = updateEntries(files, 1000);
    collectGarbage();
    const idle = await applyLoop(store, entries, (() => { const end = performance.now() + 500; return () => performance.now() > end; })());
    let finished = false;
    const gcPauses: number[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcPauses.push(entry.duration);
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const dumping = dumpSnapshot(store, join(folder, 'concurrent'), { term: 1, config: CONFIG }).finally(() => (finished = true));
    const during = await applyLoop(store, entries, () => finished);
    await dumping;
    gcObserver.disconnect();
    report.figure({
      name: 'longest apply stall during a dump',
      value: during.longestMs,
      unit: 'ms',
      baseline: { name: 'longest gap without a dump', value: idle.longestMs },
      target: { op: '<=', value: 10 },
    });
    report.figure({
      name: 'longest apply stall during a dump, in process CPU time',
      value: during.longestCpuMs,
      unit: 'CPU-ms',
      baseline: { name: 'same without a dump', value: idle.longestCpuMs },
    });
    report.figure({ name: 'longest GC pause during that dump', value: Math.max(0, ...gcPauses), unit: 'ms' });
    report.measured(
      `${during.applied.toLocaleString('en-US')} entries (4 inode SETs each) applied while the dump ran; ${gcPauses.length} GC pauses, ${Math.round(gcPauses.reduce((a, b) => a + b, 0))} ms in all`,
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const suite: Suite = {
  name: 'snapshot',
  description: 'dump and load of a 1M-file copyset; longest stall of a concurrent apply loop during the dump',
  flags: { files: { description: 'files in the copyset', default: 1_000_000, quick: 100_000 } },
  run,
};
export default suite;
