/**
 * The etcd side of `cluster --vs-etcd`: installs Debian's etcd-server when missing,
 * runs 3 members on 127.0.0.1 (own ports, temporary data folders) and talks to them
 * through etcd's gRPC KV API (Range, Put) with @grpc/grpc-js and the hand-written
 * bench/etcd-kv.proto. Members are stopped by `stop()`, which the suite calls in a
 * finally block.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { progress, sleep } from './harness.ts';

const run = promisify(execFile);
const PROTO = fileURLToPath(new URL('./etcd-kv.proto', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** Long enough for `apt-get update` and an install on a slow mirror. */
const INSTALL_TIMEOUT_MS = 300_000;

async function which(binary: string): Promise<string | null> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${binary}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/** The etcd binary, installing Debian's etcd-server if it is not there; null (with the reason) if that fails. */
export async function ensureEtcd(): Promise<{ path: string | null; note: string }> {
  const found = await which('etcd');
  if (found !== null) return { path: found, note: `etcd found at ${found}` };
  progress('etcd is not installed: apt-get install -y etcd-server');
  try {
    try {
      await run('apt-get', ['install', '-y', 'etcd-server'], { timeout: INSTALL_TIMEOUT_MS, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch {
      await run('apt-get', ['update'], { timeout: INSTALL_TIMEOUT_MS });
      await run('apt-get', ['install', '-y', 'etcd-server'], { timeout: INSTALL_TIMEOUT_MS, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
  } catch (error) {
    return { path: null, note: `installing etcd-server failed: ${(error as Error).message.split('\n')[0]}` };
  }
  const installed = await which('etcd');
  return installed === null ? { path: null, note: 'etcd-server installed but no etcd binary on PATH' } : { path: installed, note: `etcd-server installed (${installed})` };
}

export async function etcdVersion(path: string): Promise<string> {
  try {
    const { stdout } = await run(path, ['--version']);
    return /etcd Version: (\S+)/.exec(stdout)?.[1] ?? stdout.split('\n')[0]!;
  } catch {
    return 'unknown';
  }
}

interface KvClient extends grpc.Client {
  Range(request: object, callback: (error: grpc.ServiceError | null, response: { kvs: Array<{ value: Uint8Array }> }) => void): void;
  Put(request: object, callback: (error: grpc.ServiceError | null, response: object) => void): void;
}

function kvClientConstructor(): new (address: string, credentials: grpc.ChannelCredentials) => KvClient {
  const root = protobuf.loadSync(PROTO);
  const method = (name: string, requestType: string, responseType: string): grpc.MethodDefinition<object, object> => {
    const request = root.lookupType(`etcdserverpb.${requestType}`);
    const response = root.lookupType(`etcdserverpb.${responseType}`);
    return {
      path: `/etcdserverpb.KV/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: object) => Buffer.from(request.encode(request.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => request.decode(bytes),
      responseSerialize: (value: object) => Buffer.from(response.encode(response.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => response.toObject(response.decode(bytes), { defaults: true }),
    };
  };
  return grpc.makeGenericClientConstructor({ Range: method('Range', 'RangeRequest', 'RangeResponse'), Put: method('Put', 'PutRequest', 'PutResponse') }, 'KV') as unknown as new (address: string, credentials: grpc.ChannelCredentials) => KvClient;
}

/** A KV client over the members, round-robin per call (as etcd's own client balances). */
export class EtcdKv {
  private readonly clients: KvClient[];
  private next = 0;

  constructor(addresses: readonly string[]) {
    const Client = kvClientConstructor();
    this.clients = addresses.map((address) => new Client(address, grpc.credentials.createInsecure()));
  }

  private client(): KvClient {
    const client = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return client;
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.client().Put({ key, value }, (error) => (error ? reject(error) : resolve())));
  }

  /** A linearizable get (serializable = false, etcd's default). */
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => this.client().Range({ key }, (error, response) => (error ? reject(error) : resolve(response.kvs[0]?.value))));
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}

/** Three etcd members on 127.0.0.1. */
export class EtcdCluster {
  private readonly children: ChildProcess[] = [];
  readonly clientAddresses: string[];

  constructor(
    private readonly binary: string,
    private readonly root: string,
    private readonly clientPorts: readonly number[],
    private readonly peerPorts: readonly number[],
  ) {
    this.clientAddresses = clientPorts.map((port) => `127.0.0.1:${port}`);
  }

  async start(): Promise<void> {
    const initial = this.peerPorts.map((port, i) => `e${i + 1}=http://127.0.0.1:${port}`).join(',');
    for (let i = 0; i < this.clientPorts.length; i++) {
      const dataDir = join(this.root, `etcd-${i + 1}`);
      await mkdir(dataDir, { recursive: true });
      const client = `http://127.0.0.1:${this.clientPorts[i]}`;
      const peer = `http://127.0.0.1:${this.peerPorts[i]}`;
      const child = spawn(this.binary, [
        '--name', `e${i + 1}`, '--data-dir', dataDir,
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'metaraft-bench',
        '--log-level', 'error',
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 4000) stderr += chunk.toString();
      });
      child.on('exit', (code) => {
        if (code !== 0 && code !== null && !this.stopping) progress(`etcd member e${i + 1} exited with ${code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
      });
      this.children.push(child);
    }
    const kv = new EtcdKv(this.clientAddresses);
    try {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        try {
          // One put and a linearizable get on every member: the cluster has a leader and serves.
          await kv.put(Buffer.from('ready'), Buffer.from('1'));
          for (let m = 0; m < this.clientAddresses.length; m++) await kv.get(Buffer.from('ready'));
          return;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`etcd did not serve within ${READY_TIMEOUT_MS} ms: ${(error as Error).message}`);
          await sleep(200);
        }
      }
    } finally {
      kv.close();
    }
  }

  private stopping = false;

  /** SIGTERM to every member, SIGKILL after a grace period; resolves once all exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.children.map((child) => stopChild(child)));
  }
}

/** Stops one child process (SIGTERM, then SIGKILL after a grace period). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
