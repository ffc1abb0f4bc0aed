/**
 * The `metaraft` command, run as a child process (node with the tsx loader, as
 * `npx tsx src/cli/main.ts` does): snapshot inspect on a real snapshot file, usage
 * errors (exit 2, one line on stderr), and serve + status + a clean stop on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MetaExecutor } from '../../src/executor/executor.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import { dumpSnapshot } from '../../src/metastore/snapshot-io.ts';
import { nodeIdOfAddress } from '../../src/server/peer-id.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metaraft-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('snapshot inspect prints what a real snapshot file records', async () => {
  const store = new MetaStore();
  const executor = new MetaExecutor(store);
  const result = executor.execute('CreatePartition', { partition: { fsId: 1, poolId: 1, copysetId: 1, partitionId: 4, start: 0, end: 99, status: 1 } });
  if (result.kind !== 'write') throw new Error('CreatePartition proposes');
  executor.onProposed(7);
  store.skipEntry(6);
  store.applyEntry(7, result.batch);
  const voter = nodeIdOfAddress('127.0.0.1:6701:0');
  const path = join(dir, 'snapshot-7');
  await dumpSnapshot(store, path, { term: 3, config: { voters: [voter], learners: [], epoch: 2 } });

  const run = await runCli(['snapshot', 'inspect', path]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^index\s+7$/m);
  expect(run.stdout).toMatch(/^term\s+3$/m);
  expect(run.stdout).toMatch(/^voters\s+127\.0\.0\.1:6701:0/m);
  expect(run.stdout).toMatch(/^epoch\s+2$/m);
  expect(run.stdout).toMatch(/^pairs\s+1$/m);
  expect(run.stdout).toContain('(verified)');

  const corrupt = join(dir, 'corrupt');
  await writeFile(corrupt, 'definitely not a snapshot');
  const bad = await runCli(['snapshot', 'inspect', corrupt]);
  expect(bad.code).toBe(1);
  expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  expect(bad.stderr).toMatch(/SNAPSHOT_/);
}, 30_000);

test('bad flags and configuration exit 2 with one line on stderr', async () => {
  const runs = await Promise.all([
    runCli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--bogus']),
    runCli(['frobnicate']),
    runCli(['serve', '--data', dir]),
    runCli(['serve', '--listen', '127.0.0.1:0', '--data', dir, '--peers', '1.2.3.4:x:0']),
    runCli(['status']),
    runCli(['cluster', '--nodes', 'three', '--port', '7000', '--data', dir]),
  ]);
  for (const run of runs) {
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(/^metaraft: /);
  }
  expect(runs[3]!.stderr).toContain('BAD_PEER');
}, 30_000);

test('serve runs until SIGTERM and status reads its copysets', async () => {
  const data = join(dir, 'serve');
  let address = '';
  let statusRun: Promise<Run> | null = null;
  const served = await runCli(['serve', '--id', 'cli-node', '--listen', '127.0.0.1:0', '--data', data, '--copysets', '1'], (text, child) => {
    const match = /serving on (\S+)/.exec(text);
    if (match === null || statusRun !== null) return;
    address = match[1]!;
    statusRun = (async () => {
      // A single voter elects itself within an election timeout; poll status until it does.
      for (let attempt = 0; attempt < 50; attempt++) {
        const run = await runCli(['status', '--addr', address, '--copysets', '1,2']);
        if (/^1\/1\s+leader/m.test(run.stdout)) {
          child.kill('SIGTERM');
          return run;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      child.kill('SIGTERM');
      throw new Error('the server never led its copyset');
    })();
  });
  expect(served.code).toBe(0);
  expect(served.stdout).toContain('cli-node stopped');
  const status = await statusRun!;
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`^1/1\\s+leader\\s+${address.replace(/\./g, '\\.')}:0`, 'm'));
  expect(status.stdout).toMatch(/^1\/2\s+not here$/m);
}, 45_000);
