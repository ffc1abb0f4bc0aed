/**
 * `cluster`: 3 metaserver processes on loopback (`metaraft serve`, fsync on, lease
 * reads: the server's defaults), one copyset of 3 replicas, driven through the client
 * library (MetaServerClient + FsClient) from this process: creates/s (FsClient.create:
 * CreateInode + CreateDentry) and getattr/s (GetInode) with p50/p99, N in flight
 * (default 64) in closed loops.
 *
 * With `--vs-etcd`: 3 etcd members (Debian's etcd-server, installed if missing) on
 * 127.0.0.1, driven by the same loops through etcd's gRPC KV API: a create = two Puts
 * (the inode's key and value, then the dentry's, with the very bytes the metastore
 * stores), a getattr = one linearizable Range of an inode key. Ratios metaraft / etcd.
 * Every process started is stopped at the end, also on errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { serverNodeArgs } from '../src/demo/cluster-processes.ts';
import { FsClient } from '../src/client/fs-client.ts';
import { MetaServerClient } from '../src/client/meta-server-client.ts';
import { dentryKey, inodeKey } from '../src/metastore/keys.ts';
import { FsFileType, PartitionStatus } from '../src/metastore/types.ts';
import { encodeDentryValue, encodeInode } from '../src/metastore/value-codec.ts';
import { formatNumber, progress, round } from './harness.ts';
import type { Suite, SuiteContext } from './harness.ts';
import { EtcdCluster, EtcdKv, ensureEtcd, etcdVersion, stopChild } from './lib-etcd.ts';
import { closedLoop, cpuShares, processCpuSeconds, type LoadResult } from './lib-load.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SERVERS = 3;
const FS_ID = 1;
const PARTITION = { fsId: FS_ID, poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 2 ** 40, status: PartitionStatus.READWRITE, fileType2inodeNum: new Map<number, number>() };
const SERVE_TIMEOUT_MS = 60_000;
const WRITE_TARGET = 1.0;
const READ_TARGET = 1.5;
const FILE_ATTRIBUTES = { mode: 0o644, uid: 1000, gid: 1000 };

async function serverCpu(children: readonly ChildProcess[]): Promise<number[]> {
  return Promise.all(children.map((child) => processCpuSeconds(child.pid)));
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Spawns `metaraft serve` and resolves once it says it serves. */
function startServer(children: ChildProcess[], id: string, listen: string, dataDir: string, peers: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...serverNodeArgs(), '--import', 'tsx', CLI, 'serve', '--id', id, '--listen', listen, '--data', dataDir, '--peers', peers, '--copysets', '1', '--pool', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${id} did not serve within ${SERVE_TIMEOUT_MS} ms: ${output.trim()}`)), SERVE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      if (output.length < 8000) output += chunk.toString();
      if (output.includes('serving on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${id} exited (${signal ?? code}): ${output.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

interface MetaraftFigures {
  readonly creates: LoadResult;
  readonly getattrs: LoadResult;
}

async function runMetaraft(root: string, inFlight: number, durationMs: number, warmupMs: number, report: SuiteContext['report']): Promise<MetaraftFigures> {
  const ports = await freePorts(SERVERS);
  const peers = ports.map((port) => `127.0.0.1:${port}:0`);
  const children: ChildProcess[] = [];
  let client: MetaServerClient | null = null;
  try {
    progress(`starting ${SERVERS} metaserver processes on ports ${ports.join(', ')}`);
    await Promise.all(ports.map((port, i) => startServer(children, `node-${i + 1}`, `127.0.0.1:${port}`, join(root, `node-${i + 1}`), peers.join(','))));
    client = new MetaServerClient({ partitions: [{ partition: PARTITION, peers }] });
    const fs = new FsClient({ client, fsId: FS_ID });
    await client.createPartition({ partition: PARTITION });
    await fs.initRoot({ mode: 0o755, uid: 0, gid: 0 });
    const directories: number[] = [];
    for (let d = 0; d < inFlight; d++) directories.push((await fs.mkdir(1, `dir-${String(d).padStart(12, '0')}`, { mode: 0o755, uid: 0, gid: 0 })).inodeId);
    const created: number[] = [];
    progress('metaraft: creates');
    let cpuBefore = await serverCpu(children);
    let cpuStarted = performance.now();
    const creates = await closedLoop('metaraft creates', inFlight, durationMs, warmupMs, async (w, i) => {
      const inode = await fs.create(directories[w]!, `f${w.toString(36).padStart(4, '0')}-${i.toString(36).padStart(10, '0')}`, FILE_ATTRIBUTES);
      created.push(inode.inodeId);
    });
    const createCpu = cpuShares(cpuBefore, await serverCpu(children), (performance.now() - cpuStarted) / 1000);
    cpuBefore = await serverCpu(children);
    cpuStarted = performance.now();
    const afterCreates = { ...client.caller.stats };
    report.measured(`metaraft client during setup and creates: ${formatNumber(afterCreates.attempts)} RPC attempts, ${formatNumber(afterCreates.backoffs)} backoffs (${formatNumber(afterCreates.backoffMsTotal)} ms), ${formatNumber(afterCreates.leaderProbes)} leader probes`);
    progress('metaraft: getattr');
    let pick = 12345;
    const getattrs = await closedLoop('metaraft getattr', inFlight, durationMs, warmupMs, async () => {
      pick = (pick * 1103515245 + 12345) >>> 0;
      await fs.getattr(created[pick % created.length]!);
    });
    const getattrCpu = cpuShares(cpuBefore, await serverCpu(children), (performance.now() - cpuStarted) / 1000);
    report.measured(`metaraft server processes' CPU (% of a core, warm-up included): creates ${createCpu}; getattr ${getattrCpu}`);
    const stats = client.caller.stats;
    report.measured(`metaraft client during getattr: ${formatNumber(stats.attempts - afterCreates.attempts)} RPC attempts, ${formatNumber(stats.backoffs - afterCreates.backoffs)} backoffs`);
    report.measured(`metaraft: ${SERVERS} processes \`metaraft serve\` (fsync on, lease reads, 100 ms ticks: the defaults), one copyset of ${SERVERS} replicas, ${formatNumber(created.length)} files created; client in the bench process (CPU ${Math.round(creates.cpuPercent)}% of a core during creates, ${Math.round(getattrs.cpuPercent)}% during getattr)`);
    return { creates, getattrs };
  } finally {
    (client as MetaServerClient | null)?.close?.();
    await Promise.all(children.map((child) => stopChild(child)));
  }
}

async function runEtcd(root: string, inFlight: number, durationMs: number, warmupMs: number, report: SuiteContext['report']): Promise<MetaraftFigures | null> {
  const etcd = await ensureEtcd();
  if (etcd.path === null) {
    report.measured(`--vs-etcd skipped: ${etcd.note}`);
    return null;
  }
  const version = await etcdVersion(etcd.path);
  const ports = await freePorts(2 * SERVERS);
  const cluster = new EtcdCluster(etcd.path, root, ports.slice(0, SERVERS), ports.slice(SERVERS));
  let kv: EtcdKv | null = null;
  try {
    progress(`starting ${SERVERS} etcd members (${version})`);
    await cluster.start();
    kv = new EtcdKv(cluster.clientAddresses);
    const db = kv;
    // The bytes metaraft's metastore stores for a file: inode key and value, dentry key and value.
    const inodeBytes = (id: number): { key: Uint8Array; value: Uint8Array } => ({
      key: inodeKey(1, FS_ID, id),
      value: encodeInode({ inodeId: id, fsId: FS_ID, length: 0, ctime: 1_700_000_000, ctime_ns: 0, mtime: 1_700_000_000, mtime_ns: 0, atime: 1_700_000_000, atime_ns: 0, uid: 1000, gid: 1000, mode: 0o100644, nlink: 1, type: FsFileType.TYPE_FILE, xattr: {}, parent: [100 + (id % inFlight)] }),
    });
    const sample = inodeBytes(1_000_000);
    const sampleDentry = { key: dentryKey(1, FS_ID, 100, 'f0000-0000000000'), value: encodeDentryValue({ inodeId: 1_000_000, type: FsFileType.TYPE_FILE }) };
    let nextId = 1_000_000;
    const created: number[] = [];
    progress('etcd: creates (2 puts)');
    const creates = await closedLoop('etcd creates', inFlight, durationMs, warmupMs, async (w, i) => {
      const id = nextId++;
      const inode = inodeBytes(id);
      await db.put(inode.key, inode.value);
      await db.put(dentryKey(1, FS_ID, 100 + w, `f${w.toString(36).padStart(4, '0')}-${i.toString(36).padStart(10, '0')}`), encodeDentryValue({ inodeId: id, type: FsFileType.TYPE_FILE }));
      created.push(id);
    });
    progress('etcd: gets');
    let pick = 12345;
    const getattrs = await closedLoop('etcd gets', inFlight, durationMs, warmupMs, async () => {
      pick = (pick * 1103515245 + 12345) >>> 0;
      const value = await db.get(inodeKey(1, FS_ID, created[pick % created.length]!));
      if (value === undefined) throw new Error('etcd lost a key that was put');
    });
    report.measured(`etcd ${version}: ${SERVERS} members on 127.0.0.1 (default settings: fsync on), gRPC KV API, calls round-robin over the members; a create = Put of the inode (${sample.key.length}-byte key, ${sample.value.length}-byte value) then Put of the dentry (${sampleDentry.key.length}-byte key, ${sampleDentry.value.length}-byte value), a getattr = a linearizable Range of an inode key; ${etcd.note}`);
    return { creates, getattrs };
  } finally {
    kv?.close();
    await cluster.stop();
  }
}

async function run({ sizes, report }: SuiteContext): Promise<void> {
  const inFlight = sizes.inflight!;
  const durationMs = sizes.duration!;
  // Servers run their TypeScript through tsx: V8 needs several seconds of load to
  // optimize the hot paths, and a short warm-up measures the JIT, not metaraft.
  const warmupMs = sizes.warmup!;
  const vsEtcd = sizes['vs-etcd']! > 0;
  report.measured(`${inFlight} operations in flight (closed loops, one directory per loop), ${warmupMs} ms warm-up, ${durationMs} ms measured per figure; all processes on this machine over loopback`);
  const root = await mkdtemp(join(tmpdir(), 'metaraft-cluster-'));
  try {
    const metaraft = await runMetaraft(join(root, 'metaraft'), inFlight, durationMs, warmupMs, report);
    const etcd = vsEtcd ? await runEtcd(join(root, 'etcd'), inFlight, durationMs, warmupMs, report) : null;
    const versus = (name: string, value: number | undefined) => (value === undefined ? {} : { baseline: { name, value } });
    report.figure({ name: 'creates', value: metaraft.creates.perSecond, unit: 'creates/s', ...versus('etcd: 2 puts', etcd?.creates.perSecond) });
    report.figure({ name: 'create latency p50', value: metaraft.creates.p50Ms, unit: 'ms', ...versus('etcd', etcd?.creates.p50Ms) });
    report.figure({ name: 'create latency p99', value: metaraft.creates.p99Ms, unit: 'ms', ...versus('etcd', etcd?.creates.p99Ms) });
    report.figure({ name: 'getattr', value: metaraft.getattrs.perSecond, unit: 'getattr/s', ...versus('etcd: linearizable get', etcd?.getattrs.perSecond) });
    report.figure({ name: 'getattr latency p50', value: metaraft.getattrs.p50Ms, unit: 'ms', ...versus('etcd', etcd?.getattrs.p50Ms) });
    report.figure({ name: 'getattr latency p99', value: metaraft.getattrs.p99Ms, unit: 'ms', ...versus('etcd', etcd?.getattrs.p99Ms) });
    if (etcd !== null) {
      report.figure({ name: 'creates vs etcd', value: metaraft.creates.perSecond / etcd.creates.perSecond, unit: 'x', target: { op: '>=', value: WRITE_TARGET } });
      report.figure({ name: 'getattr vs etcd', value: metaraft.getattrs.perSecond / etcd.getattrs.perSecond, unit: 'x', target: { op: '>=', value: READ_TARGET } });
    }
    report.measured(`metaraft: ${formatNumber(metaraft.creates.ops)} creates, ${formatNumber(metaraft.getattrs.ops)} getattr measured${etcd === null ? '' : `; etcd: ${formatNumber(etcd.creates.ops)} creates, ${formatNumber(etcd.getattrs.ops)} gets (p50 ${round(etcd.creates.p50Ms, 1)} / ${round(etcd.getattrs.p50Ms, 1)} ms)`}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const suite: Suite = {
  name: 'cluster',
  description: '3 metaserver processes on loopback through the client library: creates/s and getattr/s with p50/p99; --vs-etcd: the same against 3 etcd members',
  flags: {
    inflight: { description: 'operations in flight (closed-loop workers)', default: 64, quick: 64 },
    duration: { description: 'measured milliseconds per figure', default: 5000, quick: 1500 },
    warmup: { description: 'milliseconds of load before each measured figure (JIT warm-up)', default: 10000, quick: 1000 },
    'vs-etcd': { description: 'also run 3 etcd members and report ratios (--vs-etcd, or --vs-etcd=1)', default: 0, quick: 0 },
  },
  run,
};
export default suite;
