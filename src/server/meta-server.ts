/**
 * The MetaServer a user embeds: one process's copysets behind CurveFS's gRPC services.
 *
 *   const server = new MetaServer({ listen: '127.0.0.1:6701', dataDir: './data' });
 *   await server.start();   // opens the log store, loads copysets in parallel, serves
 *   server.status();        // copysets, leaders, indexes, snapshot age — never waits
 *   await server.stop();    // graceful
 *
 * One port serves MetaServerService, CopysetService, CliService2 and the Raft transport.
 * The Raft node id of this server is derived from its advertised address (peer-id.ts).
 * Data folder: `log/` (the LevelDB log store) and `snapshots/` (one folder per copyset).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { MetaStatusCode } from '../executor/status.ts';
import { HostError } from '../host/host-errors.ts';
import { RaftHost } from '../host/raft-host.ts';
import { serverServiceDefinition } from '../proto/index.ts';
import type { GroupId, NodeId } from '../raft/types.ts';
import { cliServiceHandlers } from '../service/cli-service.ts';
import { copysetServiceHandlers } from '../service/copyset-service.ts';
import { metaServiceHandlers } from '../service/meta-service.ts';
import { metaraftServiceHandlers } from '../service/metaraft-service.ts';
import { txServiceHandlers } from '../service/tx-service.ts';
import { GrpcTxRemote } from '../tx/grpc-tx-remote.ts';
import { TxBackground } from '../tx/tx-background.ts';
import { TxManager } from '../tx/tx-manager.ts';
import { systemClock } from '../executor/executor.ts';
import type { CreateCopysetOutcome, ServiceBackend } from '../service/service-backend.ts';
import { LogStore } from '../storage/log-store.ts';
import { GrpcTransport } from '../transport/grpc-transport.ts';
import { BackgroundWork } from './background-work.ts';
import { CopysetNode } from './copyset-node.ts';
import { SelfAddressingTransport, transportServer } from './grpc-hosting.ts';
import { ConfigError, type MetaServerConfig, type ResolvedMetaServerConfig, resolveMetaServerConfig } from './meta-server-config.ts';
import { MetaServerEvents } from './meta-server-events.ts';
import { addressOfNodeId, copysetOfGroupId, groupIdOf, nodeIdOfAddress } from './peer-id.ts';

/**
 * Room in the host's own in-flight limit above the service's: background work and
 * membership calls also propose, and must not be refused before the service limit.
 */
const HOST_IN_FLIGHT_HEADROOM = 256;

export interface CopysetSummary {
  readonly poolId: number;
  readonly copysetId: number;
  /** On disk, not loaded yet. */
  readonly loading: boolean;
  readonly role: 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'loading';
  /** Peer address of the leader this replica knows of, or null. */
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Committed configuration changes. */
  readonly epoch: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly snapshotIndex: number;
  readonly snapshotAgeMs: number;
  readonly partitions: number;
  /** Intents of cross-copyset operations prepared here and not resolved yet (docs/transactions.md). */
  readonly txIntents: number;
  /** Records of cross-copyset operations decided here and kept for retries. */
  readonly txRecords: number;
}

export interface MetaServerStatus {
  readonly id: string;
  readonly nodeId: NodeId;
  /** `ip:port:0`, this server's peer address. */
  readonly address: string;
  readonly state: ServerState;
  readonly requestsInFlight: number;
  readonly copysets: readonly CopysetSummary[];
}

type ServerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class MetaServer implements ServiceBackend {
  readonly events = new MetaServerEvents();
  readonly config: ResolvedMetaServerConfig;
  private state: ServerState = 'new';
  private boundPort = 0;
  private selfId: NodeId = 0;
  private raftHost: RaftHost | null = null;
  private readonly nodes = new Map<GroupId, CopysetNode>();
  private inFlight = 0;
  private background: BackgroundWork | null = null;
  private leadershipTimer: NodeJS.Timeout | null = null;
  private txLayer: { manager: TxManager; background: TxBackground; remote: GrpcTxRemote } | null = null;

  /** Validates the configuration (throws ConfigError); nothing is opened before start(). */
  constructor(config: MetaServerConfig) {
    this.config = resolveMetaServerConfig(config);
  }

  /** This server's Raft node id (known once start() has chosen the port). */
  get nodeId(): NodeId {
    if (this.selfId === 0) throw new HostError('HOST_STOPPED', 'the node id is known once start() has bound the port');
    return this.selfId;
  }

  /** The port served on. */
  get port(): number {
    return this.boundPort;
  }

  /** `ip:port:0`: this server's peer address, as copyset peer lists name it. */
  get peerAddress(): string {
    return addressOfNodeId(this.nodeId);
  }

  /** `ip:port`: where clients and peers connect. */
  get grpcAddress(): string {
    return `${this.config.advertiseHost}:${this.config.advertisePort || this.boundPort}`;
  }

  get host(): RaftHost {
    if (this.raftHost === null) throw new HostError('HOST_STOPPED', 'the server is not started');
    return this.raftHost;
  }

  get catchUpTimeoutMs(): number {
    return this.config.catchUpTimeoutMs;
  }

  /** The transaction layer (operations across copysets), once started. */
  get tx(): TxManager | undefined {
    return this.txLayer?.manager;
  }

  /** The transaction layer's background scan (tests run it on demand). */
  get txBackground(): TxBackground | undefined {
    return this.txLayer?.background;
  }

  /**
   * Checks the data folder and port (ConfigError DATA_DIR_UNWRITABLE / PORT_IN_USE), opens
   * the log store, loads every copyset on disk in parallel ('copyset-loaded' events), then
   * creates the configured bootstrap copysets and serves. A failed start releases everything.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new HostError('HOST_STOPPED', `a MetaServer starts once (state: ${this.state})`);
    this.state = 'starting';
    const c = this.config;
    let store: LogStore | null = null;
    let transport: GrpcTransport | null = null;
    try {
      await checkWritableFolder(c.dataDir);
      this.boundPort = await probePort(c.listenHost, c.listenPort);
      this.selfId = nodeIdOfAddress(`${c.advertiseHost}:${c.advertisePort || this.boundPort}:0`);
      store = await LogStore.open(join(c.dataDir, 'log'));
      this.txLayer = this.newTxLayer();
      transport = new GrpcTransport({ nodeId: this.selfId, listenAddress: `${c.listenHost}:${this.boundPort}` });
      this.addServices(transport);
      const host = new RaftHost({
        nodeId: this.selfId,
        snapshotDir: join(c.dataDir, 'snapshots'),
        logStore: store,
        transport: new SelfAddressingTransport(transport, this.selfId),
        stateMachineFactory: (group) => this.newCopysetNode(group).machine,
        tickMs: c.tickMs,
        electionTicks: c.electionTicks,
        readMode: c.readMode,
        fsync: c.fsync,
        maxInFlightRequests: c.maxInFlightRequests + HOST_IN_FLIGHT_HEADROOM,
        requestTimeoutMs: c.requestTimeoutMs,
        snapshotIntervalMs: c.snapshotIntervalMs,
        snapshotLogBytes: c.snapshotLogBytes,
      });
      this.raftHost = host;
      this.forwardHostEvents(host);
      try {
        await transport.start();
      } catch (error) {
        throw new ConfigError('PORT_IN_USE', `cannot serve on ${c.listenHost}:${this.boundPort}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
      }
      await host.start();
      await this.createBootstrapCopysets();
    } catch (error) {
      this.state = 'stopped';
      if (this.raftHost !== null) await this.raftHost.stop().catch(() => undefined);
      else {
        await transport?.close().catch(() => undefined);
        await store?.close().catch(() => undefined);
      }
      this.raftHost = null;
      throw error;
    }
    this.background = new BackgroundWork({
      trashScanPeriodMs: c.trashScanPeriodMs,
      trashKeepSeconds: c.trashKeepSeconds,
      partitionCleanPeriodMs: c.partitionCleanPeriodMs,
      copysets: () => this.loadedCopysets(),
    });
    this.background.start();
    this.txLayer?.background.start();
    // Leader changes are reported by events; this catches a step-down to "no leader", which is not.
    this.leadershipTimer = setInterval(() => {
      for (const node of this.loadedCopysets()) node.checkLeadership();
    }, c.tickMs * c.electionTicks);
    this.leadershipTimer.unref();
    this.state = 'running';
    this.events.emit('started', { address: this.peerAddress, nodeId: this.selfId, copysets: this.host.groupIds().length });
  }

  /** Stops serving: background work ends, waiting writes are answered REDIRECTED, the host, transport and log store close. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping' || this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    this.background?.stop();
    this.txLayer?.background.stop();
    this.txLayer?.manager.close();
    if (this.leadershipTimer !== null) clearInterval(this.leadershipTimer);
    for (const node of this.nodes.values()) node.abandonWaitingWrites(MetaStatusCode.REDIRECTED);
    await this.raftHost?.stop();
    this.txLayer?.remote.close();
    this.state = 'stopped';
    this.events.emit('stopped', { address: this.peerAddress });
  }

  /** Copysets, leaders, indexes and snapshot ages; reads in-memory state only (never waits). */
  status(): MetaServerStatus {
    const copysets: CopysetSummary[] = [];
    for (const [group, node] of [...this.nodes].sort(([a], [b]) => a - b)) {
      copysets.push(this.summarize(group, node));
    }
    return { id: this.config.id, nodeId: this.selfId, address: this.selfId === 0 ? '' : this.peerAddress, state: this.state, requestsInFlight: this.inFlight, copysets };
  }

  /** The copyset (poolId, copysetId) if loaded here (tests, embedding code). */
  copysetOf(poolId: number, copysetId: number): CopysetNode | undefined {
    const group = groupIdOf(poolId, copysetId);
    return group === null ? undefined : this.copyset(group);
  }

  /** Runs one trash round and one partition-cleaning round now (tests, operators). */
  async runBackgroundWorkNow(): Promise<{ trashDeleted: number; recordsReclaimed: number }> {
    const background = this.background;
    if (background === null) return { trashDeleted: 0, recordsReclaimed: 0 };
    return { trashDeleted: await background.reclaimTrash(), recordsReclaimed: await background.cleanPartitions() };
  }

  // ------------------------------------------------------------ ServiceBackend

  tryAdmit(): boolean {
    if (this.inFlight >= this.config.maxInFlightRequests) return false;
    this.inFlight++;
    return true;
  }

  release(): void {
    this.inFlight--;
  }

  copyset(groupId: GroupId): CopysetNode | undefined {
    const host = this.raftHost;
    if (host === null || !host.hasGroup(groupId)) return undefined;
    return this.nodes.get(groupId);
  }

  isLoading(groupId: GroupId): boolean {
    return this.nodes.has(groupId) && !(this.raftHost?.hasGroup(groupId) ?? false);
  }

  async createCopyset(groupId: GroupId, members: readonly NodeId[]): Promise<CreateCopysetOutcome> {
    const host = this.host;
    if (host.hasGroup(groupId) || this.isLoading(groupId)) return this.sameMembers(groupId, members) ? 'identical' : 'conflict';
    const node = this.newCopysetNode(groupId);
    try {
      await host.createGroup(groupId, { voters: members }, node.machine);
    } catch (error) {
      if (error instanceof HostError && error.code === 'GROUP_EXISTS') return this.sameMembers(groupId, members) ? 'identical' : 'conflict';
      this.nodes.delete(groupId);
      throw error;
    }
    return 'created';
  }

  // ------------------------------------------------------------ internals

  private newTxLayer(): { manager: TxManager; background: TxBackground; remote: GrpcTxRemote } {
    const c = this.config;
    const remote = new GrpcTxRemote();
    const manager = new TxManager({
      copyset: (poolId, copysetId) => this.copysetOf(poolId, copysetId),
      remote,
      clock: systemClock,
      timings: {
        prepareTimeoutMs: c.txPrepareTimeoutMs,
        retryBudgetMs: c.txRetryBudgetMs,
        intentQueryAfterMs: c.txIntentQueryAfterMs,
        outcomeRetentionMs: c.txOutcomeRetentionMs,
      },
    });
    const background = new TxBackground({
      manager,
      copysets: () => [...this.loadedCopysets()].map((node) => ({ ...copysetOfGroupId(node.groupId), node })),
    });
    return { manager, background, remote };
  }

  private sameMembers(groupId: GroupId, members: readonly NodeId[]): boolean {
    let config;
    try {
      config = this.host.status(groupId).config;
    } catch {
      return false; // loading: its membership is not known yet
    }
    const current = [...config.voters, ...config.learners].sort((a, b) => a - b);
    const asked = [...members].sort((a, b) => a - b);
    return current.length === asked.length && current.every((id, i) => id === asked[i]);
  }

  private newCopysetNode(groupId: GroupId): CopysetNode {
    const existing = this.nodes.get(groupId);
    if (existing !== undefined && !(this.raftHost?.hasGroup(groupId) ?? false)) this.nodes.delete(groupId);
    const node = new CopysetNode(groupId, () => this.host, {
      leaderReadyTimeoutMs: this.config.requestTimeoutMs,
      onBlocked: (blockedNode, holder) => this.txLayer?.background.noteBlocked(blockedNode, holder),
    });
    this.nodes.set(groupId, node);
    return node;
  }

  private *loadedCopysets(): Generator<CopysetNode> {
    for (const [group, node] of this.nodes) if (this.raftHost?.hasGroup(group)) yield node;
  }

  private addServices(transport: GrpcTransport): void {
    const server = transportServer(transport);
    server.addService(serverServiceDefinition('curvefs.metaserver.MetaServerService'), metaServiceHandlers(this));
    server.addService(serverServiceDefinition('curvefs.metaserver.copyset.CopysetService'), copysetServiceHandlers(this));
    server.addService(serverServiceDefinition('curvefs.metaserver.copyset.CliService2'), cliServiceHandlers(this));
    server.addService(serverServiceDefinition('metaraft.meta.MetaraftService'), metaraftServiceHandlers(this));
    server.addService(serverServiceDefinition('metaraft.tx.TxService'), txServiceHandlers(this));
  }

  private forwardHostEvents(host: RaftHost): void {
    host.events.on('group-loaded', ({ group, loaded, total }) => this.events.emit('copyset-loaded', { ...copysetOfGroupId(group), loaded, total }));
    host.events.on('leader-change', ({ group, leader, term }) => {
      this.nodes.get(group)?.checkLeadership();
      this.events.emit('leader-changed', { ...copysetOfGroupId(group), leader: addressOfNodeId(leader), term });
    });
    host.events.on('snapshot-taken', ({ group, index, term }) => this.events.emit('snapshot', { ...copysetOfGroupId(group), index, term, kind: 'taken' }));
    host.events.on('snapshot-installed', ({ group, index, term }) => this.events.emit('snapshot', { ...copysetOfGroupId(group), index, term, kind: 'installed' }));
    host.events.on('failure', ({ group, error }) => {
      const where = group === null ? { poolId: null, copysetId: null } : copysetOfGroupId(group);
      this.events.emit('failure', { ...where, error });
    });
  }

  /** Bootstrap copysets: created with the configured peers (and this server) when not on disk. */
  private async createBootstrapCopysets(): Promise<void> {
    const members = [...new Set([...this.config.peers.map(nodeIdOfAddress), this.selfId])];
    for (const { poolId, copysetId } of this.config.copysets) {
      const group = groupIdOf(poolId, copysetId)!;
      if (this.host.hasGroup(group)) continue;
      await this.createCopyset(group, members);
    }
  }

  private summarize(group: GroupId, node: CopysetNode): CopysetSummary {
    const { poolId, copysetId } = copysetOfGroupId(group);
    let status;
    try {
      status = this.raftHost!.status(group);
    } catch {
      status = null;
    }
    if (status === null) {
      return {
        poolId,
        copysetId,
        loading: true,
        role: 'loading',
        leader: null,
        term: 0,
        commitIndex: 0,
        appliedIndex: 0,
        firstIndex: 0,
        lastIndex: 0,
        epoch: 0,
        voters: [],
        learners: [],
        snapshotIndex: 0,
        snapshotAgeMs: 0,
        partitions: 0,
        txIntents: 0,
        txRecords: 0,
      };
    }
    return {
      poolId,
      copysetId,
      loading: false,
      role: status.role,
      leader: status.leader === 0 ? null : addressOfNodeId(status.leader),
      term: status.term,
      commitIndex: status.commit,
      appliedIndex: status.stateMachineApplied,
      firstIndex: status.firstIndex,
      lastIndex: status.lastIndex,
      epoch: status.config.epoch,
      voters: status.config.voters.map(addressOfNodeId),
      learners: status.config.learners.map(addressOfNodeId),
      snapshotIndex: status.snapshotIndex,
      snapshotAgeMs: status.snapshotAgeMs,
      partitions: node.store.partitionIds().length,
      txIntents: node.store.tx.intentCount,
      txRecords: node.store.tx.recordCount,
    };
  }
}

/** Creates the folder if missing and proves it writable (ConfigError DATA_DIR_UNWRITABLE). */
async function checkWritableFolder(dir: string): Promise<void> {
  const probe = join(dir, '.write-probe');
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, 'metaraft');
    await rm(probe, { force: true });
  } catch (error) {
    throw new ConfigError('DATA_DIR_UNWRITABLE', `data folder ${dir} is not writable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/**
 * Checks that host:port can be bound (ConfigError PORT_IN_USE), and for port 0 picks a
 * free port: the node id is derived from the port, so it must be known before the
 * transport is built. (A port taken between this probe and the bind fails the bind.)
 */
function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRNOTAVAIL') reject(new ConfigError('BAD_ADDRESS', `cannot listen on ${host}:${port}: not an address of this machine`, { cause: error }));
      else reject(new ConfigError('PORT_IN_USE', `cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'in use' : (error.code ?? error.message)}`, { cause: error }));
    });
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}
