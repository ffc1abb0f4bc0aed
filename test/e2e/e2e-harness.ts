/**
 * End-to-end helpers: a create load from several independent clients, Raft status of a
 * copyset on one server, bounded waits. The servers are real processes
 * (src/demo/cluster-processes.ts); only the client library runs in the test process.
 */
import { FsClient, type MetaServerClient, type PartitionRoute } from '../../src/client/index.ts';
import { clusterClient } from '../../src/demo/cluster-setup.ts';
import type { CopysetStatus } from '../../src/proto/index.ts';

export const POOL = 1;
export const FS_ID = 1;
export const ROOT = 1;

/**
 * Server timers for the e2e runs: CurveFS's 1 s election timeout (100 ms ticks). Several
 * processes share two cores with the test runner; a shorter timeout makes spurious
 * elections likely, and the PreVote test needs a leader that keeps its term.
 */
export const E2E_TUNING = { tickMs: 100, electionTicks: 10, fsync: false, requestTimeoutMs: 5_000 } as const;
export const ELECTION_TIMEOUT_MS = E2E_TUNING.tickMs * E2E_TUNING.electionTicks;

/** Clients ride out an election and a restart: a long operation deadline. */
export const CLIENT_RETRY = { operationTimeoutMs: 20_000 } as const;

/** A status query answers from memory: a server silent this long is down (or stopped). */
const STATUS_DEADLINE_MS = 1_000;
/** Lookups in flight at once when checking acknowledged creates. */
const LOOKUP_CONCURRENCY = 8;
/** A worker's pause after a failed create (the cluster is electing; the client already retried). */
const FAILED_CREATE_PAUSE_MS = 50;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `condition` holds: a bounded wait, not a timing assertion. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** The Raft status of the copyset on one server (`ip:port:0`), or undefined if it does not answer soon. */
export async function statusOn(client: MetaServerClient, peer: string, copysetId: number, hash = false): Promise<CopysetStatus | undefined> {
  try {
    const response = await client.getCopysetStatus({ poolId: POOL, copysetId, ...(hash ? { queryHash: true } : {}) }, peer, { deadlineMs: Date.now() + STATUS_DEADLINE_MS });
    return response.copysetStatus;
  } catch {
    return undefined;
  }
}

/** The server that reports itself leader of the copyset (state 1), asking each of `peers`. */
export async function reportedLeader(client: MetaServerClient, peers: readonly string[], copysetId: number): Promise<{ peer: string; status: CopysetStatus } | undefined> {
  for (const peer of peers) {
    const status = await statusOn(client, peer, copysetId);
    if (status?.state === 1) return { peer, status };
  }
  return undefined;
}

export async function waitForReportedLeader(client: MetaServerClient, peers: readonly string[], copysetId: number, what: string): Promise<{ peer: string; status: CopysetStatus }> {
  let found: { peer: string; status: CopysetStatus } | undefined;
  await waitFor(async () => (found = await reportedLeader(client, peers, copysetId)) !== undefined, what);
  return found!;
}

/**
 * Waits until `follower` has applied as far as `leader` (no writes running), then
 * returns both statuses with the state hash: equal hashes mean equal replicas.
 */
export async function waitForCatchUp(client: MetaServerClient, leader: string, follower: string, copysetId: number, timeoutMs = 30_000): Promise<{ leader: CopysetStatus; follower: CopysetStatus }> {
  let pair: { leader: CopysetStatus; follower: CopysetStatus } | undefined;
  await waitFor(
    async () => {
      const [l, f] = [await statusOn(client, leader, copysetId, true), await statusOn(client, follower, copysetId, true)];
      if (l === undefined || f === undefined || f.knownAppliedIndex < l.knownAppliedIndex) return false;
      pair = { leader: l, follower: f };
      return true;
    },
    `${follower} to apply as far as the leader ${leader}`,
    timeoutMs,
    100,
  );
  return pair!;
}

/**
 * Files created under one directory by `clients` independent clients, each in a loop,
 * until stop(). `acknowledged` holds every create that returned (name → inode id).
 */
export class CreateLoad {
  readonly acknowledged = new Map<string, number>();
  readonly failures: Error[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly clients: MetaServerClient[] = [];

  constructor(
    private readonly routes: readonly PartitionRoute[],
    private readonly parent: number,
    private readonly prefix: string,
  ) {}

  start(clients: number): void {
    this.running = true;
    for (let k = 0; k < clients; k++) {
      const client = clusterClient(this.routes, CLIENT_RETRY);
      this.clients.push(client);
      this.workers.push(this.work(new FsClient({ client, fsId: FS_ID }), k));
    }
  }

  private async work(fs: FsClient, worker: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const name = `${this.prefix}-w${worker}-${n}`;
      try {
        const inode = await fs.create(this.parent, name, { mode: 0o644, uid: 0, gid: 0 });
        this.acknowledged.set(name, inode.inodeId);
      } catch (error) {
        if (!this.running) return;
        this.failures.push(error as Error);
        await sleep(FAILED_CREATE_PAUSE_MS);
      }
    }
  }

  get count(): number {
    return this.acknowledged.size;
  }

  /** Waits until `count` creates are acknowledged in all (a bounded wait). */
  waitForCount(count: number, what: string, timeoutMs = 30_000): Promise<void> {
    return waitFor(() => this.acknowledged.size >= count, `${count} acknowledged creates (${what}); have ${this.acknowledged.size}, failures: ${this.failures.map((e) => e.message).slice(-3).join(' | ')}`, timeoutMs);
  }

  /** Lets every create in flight finish, then closes the clients. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    for (const client of this.clients) client.close();
  }
}

/**
 * Checks that every acknowledged create is there, through a fresh client: a lookup of
 * each name (GetDentry + GetInode) names the acknowledged inode, and a readdir lists
 * them all. Returns the names missing or changed (empty when all is well).
 */
export async function missingCreates(routes: readonly PartitionRoute[], parent: number, acknowledged: ReadonlyMap<string, number>): Promise<string[]> {
  const client = clusterClient(routes, CLIENT_RETRY);
  const fs = new FsClient({ client, fsId: FS_ID });
  const wrong: string[] = [];
  try {
    const listed = new Map<string, number>();
    for await (const dentry of fs.readdir(parent)) listed.set(dentry.name, dentry.inodeId);
    const names = [...acknowledged.keys()];
    for (let i = 0; i < names.length; i += LOOKUP_CONCURRENCY) {
      await Promise.all(
        names.slice(i, i + LOOKUP_CONCURRENCY).map(async (name) => {
          const expected = acknowledged.get(name)!;
          const found = await fs.lookup(parent, name).then(
            (inode) => inode.inodeId,
            () => undefined,
          );
          if (found !== expected || listed.get(name) !== expected) wrong.push(`${name}: acknowledged inode ${expected}, lookup ${found}, readdir ${listed.get(name)}`);
        }),
      );
    }
  } finally {
    client.close();
  }
  return wrong;
}

/** Creates `count` files in sequence (the writes must succeed). */
export async function createFiles(routes: readonly PartitionRoute[], parent: number, prefix: string, count: number): Promise<Map<string, number>> {
  const client = clusterClient(routes, CLIENT_RETRY);
  const fs = new FsClient({ client, fsId: FS_ID });
  const created = new Map<string, number>();
  try {
    for (let n = 0; n < count; n++) {
      const inode = await fs.create(parent, `${prefix}-${n}`, { mode: 0o644, uid: 0, gid: 0 });
      created.set(`${prefix}-${n}`, inode.inodeId);
    }
  } finally {
    client.close();
  }
  return created;
}
