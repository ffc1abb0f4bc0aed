/**
 * RaftHosts in one process talking over GrpcTransport on real 127.0.0.1 ports, with real
 * level log stores: the same host tests use with the in-memory hub, on the real wire.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/host-errors.ts';
import type { RaftHostOptions } from '../../src/host/host-options.ts';
import { RaftHost } from '../../src/host/raft-host.ts';
import { NotLeaderError } from '../../src/raft/errors.ts';
import type { GroupId, NodeId } from '../../src/raft/types.ts';
import { LogStore } from '../../src/storage/log-store.ts';
import { GrpcTransport } from '../../src/transport/grpc-transport.ts';
import { KvMachine, encodePut } from '../host/kv-machine.ts';

const GROUP: GroupId = 1;
const NODES: readonly NodeId[] = [1, 2, 3];

interface Node {
  readonly id: NodeId;
  readonly transport: GrpcTransport;
  readonly host: RaftHost;
  readonly machine: KvMachine;
}

class GrpcCluster {
  readonly nodes = new Map<NodeId, Node>();
  private readonly transports = new Map<NodeId, GrpcTransport>();

  constructor(
    private readonly root: string,
    private readonly hostOptions: Partial<RaftHostOptions>,
  ) {}

  /** Binds a transport for each node first (ports are picked by the OS), then tells each the others' addresses. */
  async bindTransports(ids: readonly NodeId[]): Promise<void> {
    for (const id of ids) {
      const transport = await GrpcTransport.start({ nodeId: id, listenAddress: '127.0.0.1:0', keepaliveIntervalMs: 50, livenessTimeoutMs: 1500, initialBackoffMs: 20, maxBackoffMs: 200 });
      this.transports.set(id, transport);
    }
    for (const [id, transport] of this.transports) {
      for (const [other, peer] of this.transports) if (other !== id) transport.addPeer(other, peer.address);
    }
  }

  async startHost(id: NodeId, voters: readonly NodeId[]): Promise<Node> {
    const transport = this.transports.get(id)!;
    const logStore = await LogStore.open(join(this.root, `host-${id}`, 'log'));
    const machines = new Map<GroupId, KvMachine>();
    const host = new RaftHost({
      tickMs: 10,
      electionTicks: 10,
      requestTimeoutMs: 3000,
      ...this.hostOptions,
      nodeId: id,
      snapshotDir: join(this.root, `host-${id}`, 'snapshots'),
      logStore,
      transport,
      stateMachineFactory: (group) => {
        const machine = new KvMachine();
        machines.set(group, machine);
        return machine;
      },
    });
    await host.start();
    const machine = new KvMachine();
    await host.createGroup(GROUP, { voters }, machine);
    const node = { id, transport, host, machine };
    this.nodes.set(id, node);
    return node;
  }

  leader(among: readonly NodeId[] = [...this.nodes.keys()]): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const id of among) {
      const status = this.nodes.get(id)!.host.status(GROUP);
      if (status.role === 'leader' && (best === null || status.term > best.term)) best = { id, term: status.term };
    }
    return best?.id ?? null;
  }

  /** Writes through whoever leads among `among`, retrying redirections and timeouts. */
  async put(key: string, value: string, among: readonly NodeId[] = [...this.nodes.keys()]): Promise<number> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const leader = this.leader(among);
      if (leader !== null) {
        try {
          return (await this.nodes.get(leader)!.host.propose(GROUP, encodePut(key, value))).index;
        } catch (error) {
          if (!(error instanceof NotLeaderError || error instanceof HostError)) throw error;
        }
      }
      if (Date.now() > deadline) throw new Error(`put ${key} not acknowledged in time`);
      await sleep(10);
    }
  }

  async waitForApplied(index: number, ids: readonly NodeId[]): Promise<void> {
    await waitFor(() => ids.every((id) => this.nodes.get(id)!.machine.appliedIndex() >= index), 15_000, `applied ${index} on ${ids.join(',')}`);
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) await node.host.stop();
    for (const transport of this.transports.values()) await transport.close();
    await rm(this.root, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function newCluster(hostOptions: Partial<RaftHostOptions> = {}): Promise<GrpcCluster> {
  return new GrpcCluster(await mkdtemp(join(tmpdir(), 'metaraft-grpc-host-')), hostOptions);
}

describe('RaftHost over GrpcTransport (real ports)', () => {
  let cluster: GrpcCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('elects, replicates and reads back; with the leader cut off, the other two elect again and keep committing', async () => {
    cluster = await newCluster();
    await cluster.bindTransports(NODES);
    for (const id of NODES) await cluster.startHost(id, NODES);
    let last = 0;
    for (let k = 0; k < 20; k++) last = await cluster.put(`k${k}`, `v${k}`);
    await cluster.waitForApplied(last, NODES);
    for (const id of NODES) {
      const machine = cluster.nodes.get(id)!.machine;
      for (let k = 0; k < 20; k++) expect(machine.get(`k${k}`)).toBe(`v${k}`);
    }
    const leader = cluster.leader()!;
    await cluster.nodes.get(leader)!.host.read(GROUP);

    // The leader's process loses its transport: the two others must carry on alone.
    await cluster.nodes.get(leader)!.transport.close();
    const rest = NODES.filter((id) => id !== leader);
    for (let k = 20; k < 30; k++) last = await cluster.put(`k${k}`, `v${k}`, rest);
    await cluster.waitForApplied(last, rest);
    const newLeader = cluster.leader(rest)!;
    expect(rest).toContain(newLeader);
    await cluster.nodes.get(newLeader)!.host.read(GROUP);
    for (const id of rest) {
      const machine = cluster.nodes.get(id)!.machine;
      for (let k = 0; k < 30; k++) expect(machine.get(`k${k}`)).toBe(`v${k}`);
    }
    // The cut-off node saw none of the new writes.
    expect(cluster.nodes.get(leader)!.machine.get('k25')).toBeUndefined();
  });

  it('a replica that joins after the log was compacted catches up through InstallSnapshot', async () => {
    cluster = await newCluster({ snapshotLogBytes: 2000 });
    await cluster.bindTransports(NODES);
    await cluster.startHost(1, NODES);
    await cluster.startHost(2, NODES);
    let last = 0;
    for (let k = 0; k < 150; k++) last = await cluster.put(`key-${k}`, `value-${k}`.padEnd(40, '.'), [1, 2]);
    await cluster.waitForApplied(last, [1, 2]);
    await waitFor(() => [1, 2].every((id) => cluster!.nodes.get(id)!.host.stats.snapshotsTaken > 0), 10_000, 'snapshots on both replicas');
    const third = await cluster.startHost(3, NODES);
    await cluster.waitForApplied(last, [3]);
    expect(third.host.stats.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    for (let k = 0; k < 150; k++) expect(third.machine.get(`key-${k}`)).toBe(`value-${k}`.padEnd(40, '.'));
    const senders = [1, 2].map((id) => cluster!.nodes.get(id)!.transport.metrics.snapshotsSent);
    expect(senders[0]! + senders[1]!).toBeGreaterThanOrEqual(1);
    expect(third.transport.metrics.snapshotsReceived).toBeGreaterThanOrEqual(1);
  });
});
