/**
 * Real MetaServers in one test process, each on its own 127.0.0.1 port with its own data
 * folder, and plain grpc-js clients made from the service definitions (no retrying
 * client library: the tests see every status exactly as the server answers it).
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientServiceDefinition, type MethodName, type RequestOf, type ResponseOf, type ServiceName } from '../../src/proto/index.ts';
import type { Encodable } from '../../src/proto/index.ts';
import { MetaServer } from '../../src/server/meta-server.ts';
import type { MetaServerConfig } from '../../src/server/meta-server-config.ts';

/** Fast timers: 10 ms ticks, 100 ms election timeout; no fsync (tmpfs-like speed). */
export const TEST_SERVER_OPTIONS: Partial<MetaServerConfig> = { tickMs: 10, electionTicks: 10, fsync: false, requestTimeoutMs: 3000, trashKeepSeconds: 0 };

export const META = 'curvefs.metaserver.MetaServerService';
export const COPYSET = 'curvefs.metaserver.copyset.CopysetService';
export const CLI = 'curvefs.metaserver.copyset.CliService2';

export class GrpcCaller {
  private readonly clients = new Map<string, grpc.Client>();
  constructor(readonly target: string) {}

  call<S extends ServiceName, M extends MethodName<S>>(service: S, method: M, request: Encodable<RequestOf<S, M>>, timeoutMs = 10_000): Promise<ResponseOf<S, M>> {
    let client = this.clients.get(service);
    if (client === undefined) {
      const Constructor = grpc.makeGenericClientConstructor(clientServiceDefinition(service) as unknown as grpc.ServiceDefinition, service);
      client = new Constructor(this.target, grpc.credentials.createInsecure());
      this.clients.set(service, client);
    }
    const bound = client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: unknown) => void) => void>;
    return new Promise((resolve, reject) => {
      bound[method]!.call(client, request, { deadline: Date.now() + timeoutMs }, (error, value) => (error ? reject(error) : resolve(value as ResponseOf<S, M>)));
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

export class ServerSet {
  readonly servers: MetaServer[] = [];
  readonly callers: GrpcCaller[] = [];
  private root = '';

  static async start(count: number, overrides: Partial<MetaServerConfig> = {}): Promise<ServerSet> {
    const set = new ServerSet();
    set.root = await mkdtemp(join(tmpdir(), 'metaraft-service-'));
    for (let i = 0; i < count; i++) await set.startServer(i, overrides);
    return set;
  }

  dataDir(i: number): string {
    return join(this.root, `server-${i}`);
  }

  async startServer(i: number, overrides: Partial<MetaServerConfig> = {}, port = 0): Promise<MetaServer> {
    const server = new MetaServer({ ...TEST_SERVER_OPTIONS, ...overrides, listen: `127.0.0.1:${port}`, dataDir: this.dataDir(i) });
    await server.start();
    this.servers[i] = server;
    this.callers[i]?.close();
    this.callers[i] = new GrpcCaller(server.grpcAddress);
    return server;
  }

  async stopServer(i: number): Promise<void> {
    this.callers[i]?.close();
    await this.servers[i]?.stop();
  }

  peers(): { address: string }[] {
    return this.servers.map((server) => ({ address: server.peerAddress }));
  }

  /** Creates copyset (poolId, copysetId) on every server with all of them as peers. */
  async createCopyset(poolId: number, copysetId: number): Promise<void> {
    const peers = this.peers();
    for (const caller of this.callers) {
      const response = await caller.call(COPYSET, 'CreateCopysetNode', { copysets: [{ poolId, copysetId, peers }] });
      if (response.status !== 0) throw new Error(`CreateCopysetNode answered ${response.status}`);
    }
  }

  /** Index of the server leading the copyset, waiting for one. */
  async leaderOf(poolId: number, copysetId: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.servers.findIndex((server) => server.copysetOf(poolId, copysetId)?.isLeader() === true);
      if (index >= 0) return index;
      if (Date.now() > deadline) throw new Error(`no leader of copyset ${poolId}/${copysetId} within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  async close(): Promise<void> {
    for (const caller of this.callers) caller.close();
    for (const server of this.servers) await server?.stop();
    await rm(this.root, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `condition` holds (a bounded wait, not a timing assertion). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
