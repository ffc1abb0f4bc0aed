/**
 * `metaraft cluster`: a local cluster for trying metaraft out. Spawns N child processes
 * of `metaraft serve` on 127.0.0.1:PORT..PORT+N-1, each with its own data folder and the
 * others as peers, prints their addresses, and stops them all cleanly on Ctrl-C or
 * SIGTERM. It creates no copyset unless asked (--copysets).
 *
 *   metaraft cluster --nodes 3 --port 6701 --data ./cluster [--copysets 1,2] [--pool 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { UsageError } from './cli-errors.ts';
import { parseFlags, parseIdList, parsePositiveInteger } from './parse-flags.ts';

/** A local cluster is for trying things out: a handful of processes. */
export const MAX_CLUSTER_NODES = 9;
/** How long children get to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 10_000;

export async function clusterCommand(args: readonly string[]): Promise<number> {
  const { values } = parseFlags(args, {
    nodes: { type: 'string' },
    port: { type: 'string' },
    data: { type: 'string' },
    copysets: { type: 'string' },
    pool: { type: 'string' },
  });
  const nodes = parsePositiveInteger(values.nodes ?? '3', '--nodes')!;
  if (nodes > MAX_CLUSTER_NODES) throw new UsageError(`--nodes must be at most ${MAX_CLUSTER_NODES}, got ${nodes}`);
  const port = parsePositiveInteger(values.port, '--port');
  if (port === undefined) throw new UsageError('--port is required');
  if (port + nodes - 1 > 65535) throw new UsageError(`ports ${port}..${port + nodes - 1} exceed 65535`);
  if (values.data === undefined) throw new UsageError('--data is required');
  if (values.copysets !== undefined) parseIdList(values.copysets, '--copysets');
  parsePositiveInteger(values.pool, '--pool');

  const addresses = Array.from({ length: nodes }, (_, i) => `127.0.0.1:${port + i}`);
  const peers = addresses.map((address) => `${address}:0`).join(',');
  const children: ChildProcess[] = [];
  let stopping = false;
  const exited = addresses.map(() => false);
  const allExited = new Promise<number>((resolve) => {
    addresses.forEach((address, i) => {
      const serveArgs = ['serve', '--id', `node-${i + 1}`, '--listen', address, '--data', join(values.data!, `node-${i + 1}`), '--peers', peers];
      if (values.copysets !== undefined) serveArgs.push('--copysets', values.copysets);
      if (values.pool !== undefined) serveArgs.push('--pool', values.pool);
      // Same runtime and loader as this process (tsx when run from source).
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...serveArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
      children.push(child);
      child.on('exit', (code, signal) => {
        exited[i] = true;
        if (!stopping) {
          process.stderr.write(`metaraft cluster: node-${i + 1} (${address}) exited (${signal ?? code}); stopping the others\n`);
          void stopAll(1);
        }
        if (exited.every(Boolean)) resolve(stopping && exitStatus === 0 ? 0 : 1);
      });
    });
  });
  let exitStatus = 0;
  const stopAll = async (status: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    exitStatus = status;
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    force.unref();
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  process.stdout.write(`metaraft cluster: ${nodes} nodes\n${addresses.map((a, i) => `  node-${i + 1}  ${a}:0`).join('\n')}\n`);
  return allExited;
}
