/**
 * Several RaftHosts in one process over an InMemoryHub, each with a real level log
 * store and snapshot folder in a temporary directory. Used by every host test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotLeaderError } from '../../src/raft/errors.ts';
import type { GroupId, NodeId } from '../../src/raft/types.ts';
import { HostError } from '../../src/host/host-errors.ts';
import type { RaftHostOptions } from '../../src/host/host-options.ts';
import { InMemoryHub } from '../../src/host/in-memory-transport.ts';
import { RaftHost } from '../../src/host/raft-host.ts';
import { FaultyLogBackend } from '../../src/storage/faulty-level.ts';
import { LogStore, openLevelBackend } from '../../src/storage/log-store.ts';
import { KvMachine, encodePut } from './kv-machine.ts';

export type HostOverrides = Partial<Omit<RaftHostOptions, 'nodeId' | 'snapshotDir' | 'logStore' | 'transport' | 'stateMachineFactory'>>;

/** Fast timers for tests: 10 ms ticks, 100 ms election timeout. */
export const TEST_HOST_OPTIONS: HostOverrides = { tickMs: 10, electionTicks: 10, requestTimeoutMs: 3000 };

export class TestCluster {
  readonly hub = new InMemoryHub();
  readonly hosts = new Map<NodeId, RaftHost>();
  readonly backends = new Map<NodeId, FaultyLogBackend>();
  /** 'group-loaded' events of each host's last start: progress of the parallel load. */
  readonly loadEvents = new Map<NodeId, Array<{ group: GroupId; loaded: number; total: number }>>();
  private readonly machines = new Map<string, KvMachine>();
  private root = '';

  constructor(
    readonly nodeIds: readonly NodeId[],
    readonly overrides: HostOverrides = {},
  ) {}

  static async start(nodeIds: readonly NodeId[], overrides: HostOverrides = {}): Promise<TestCluster> {
    const cluster = new TestCluster(nodeIds, overrides);
    cluster.root = await mkdtemp(join(tmpdir(), 'metaraft-host-'));
    for (const id of nodeIds) await cluster.startHost(id);
    return cluster;
  }

  host(id: NodeId): RaftHost {
    const host = this.hosts.get(id);
    if (host === undefined) throw new Error(`host ${id} is not running`);
    return host;
  }

  machine(node: NodeId, group: GroupId): KvMachine {
    const machine = this.machines.get(`${node}/${group}`);
    if (machine === undefined) throw new Error(`no machine for group ${group} on ${node}`);
    return machine;
  }

  snapshotDirOf(id: NodeId): string {
    return join(this.root, `host-${id}`, 'snapshots');
  }

  /** Opens (or reopens) host `id` from its folder. */
  async startHost(id: NodeId, overrides: HostOverrides = {}): Promise<RaftHost> {
    const dir = join(this.root, `host-${id}`);
    const backend = new FaultyLogBackend(await openLevelBackend(join(dir, 'log')));
    const logStore = await LogStore.openBackend(backend, join(dir, 'log'));
    const host = new RaftHost({
      ...TEST_HOST_OPTIONS,
      ...this.overrides,
      ...overrides,
      nodeId: id,
      snapshotDir: this.snapshotDirOf(id),
      logStore,
      transport: this.hub.connect(id),
      stateMachineFactory: (group) => this.newMachine(id, group),
    });
    this.hosts.set(id, host);
    this.backends.set(id, backend);
    const loads: Array<{ group: GroupId; loaded: number; total: number }> = [];
    this.loadEvents.set(id, loads);
    host.events.on('group-loaded', (event) => loads.push(event));
    await host.start();
    return host;
  }

  /** Power loss on host `id`: unsynced log writes vanish, then the host is torn down. */
  async crashHost(id: NodeId): Promise<void> {
    await this.backends.get(id)!.crash();
    await this.stopHost(id);
  }

  async stopHost(id: NodeId): Promise<void> {
    const host = this.hosts.get(id);
    this.hosts.delete(id);
    await host?.stop();
  }

  async createGroup(group: GroupId, voters: readonly NodeId[] = this.nodeIds): Promise<void> {
    await Promise.all(voters.map((id) => this.host(id).createGroup(group, { voters }, this.newMachine(id, group))));
  }

  /** The leader of `group` among running hosts, if exactly one believes it leads in the highest term. */
  leaderOf(group: GroupId): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const [id, host] of this.hosts) {
      if (!host.hasGroup(group)) continue;
      const status = host.status(group);
      if (status.role === 'leader' && (best === null || status.term > best.term)) best = { id, term: status.term };
    }
    return best?.id ?? null;
  }

  async waitForLeader(group: GroupId, timeoutMs = 10_000): Promise<NodeId> {
    let leader: NodeId | null = null;
    await waitFor(() => (leader = this.leaderOf(group)) !== null, timeoutMs, `a leader of group ${group}`);
    return leader!;
  }

  /** Writes through whoever leads, retrying redirections and timeouts until acknowledged. */
  async put(group: GroupId, key: string, value: string, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leaderOf(group);
      if (leader !== null) {
        try {
          const { index } = await this.host(leader).propose(group, encodePut(key, value));
          return index;
        } catch (error) {
          if (!(error instanceof NotLeaderError || error instanceof HostError)) throw error;
        }
      }
      if (Date.now() > deadline) throw new Error(`put ${key} in group ${group} not acknowledged within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Waits until every running replica of `group` has applied at least `index`. */
  async waitForApplied(group: GroupId, index: number, nodes: readonly NodeId[] = [...this.hosts.keys()], timeoutMs = 15_000): Promise<void> {
    await waitFor(() => nodes.every((id) => this.machine(id, group).appliedIndex() >= index), timeoutMs, `group ${group} applied ${index} on ${nodes.join(',')}`);
  }

  async close(): Promise<void> {
    for (const id of [...this.hosts.keys()]) await this.stopHost(id);
    await rm(this.root, { recursive: true, force: true });
  }

  private newMachine(node: NodeId, group: GroupId): KvMachine {
    const machine = new KvMachine();
    this.machines.set(`${node}/${group}`, machine);
    return machine;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. A bounded wait, not a timing assertion. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}
