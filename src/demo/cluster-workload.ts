/**
 * The demo's workload: several clients, each in its own directory, run the same phases
 * concurrently, one phase at a time (so that a phase's wall time measures its kind):
 *
 *   mkdir    /client-K (its inode placed in partition K mod P, so directories spread
 *            over the copysets), then /client-K/files inside it
 *   create   F files in /client-K/files
 *   stat     a lookup of each (GetDentry + GetInode)
 *   readdir  the whole directory, `readdirRounds` times, checking it lists F entries
 *   rename   every other file, within its directory (one partition, one copyset)
 *   unlink   every renamed file
 *
 * A directory's entries and the inodes created under it live in the directory's
 * partition, so each client's work after mkdir stays inside one copyset.
 */
import { FsClient, type MetaServerClient, type PartitionRoute } from '../client/index.ts';
import { modeOf, routedTo } from '../client/fs-calls.ts';
import { FsFileType, type PartitionInfo } from '../proto/index.ts';
import { OpStats, type OpKind } from './cluster-stats.ts';
import type { ProgressBar } from './cluster-progress.ts';
import { clusterClient } from './cluster-setup.ts';

export const ROOT_INODE = 1;

export interface WorkloadShape {
  readonly clients: number;
  readonly filesPerClient: number;
  readonly readdirRounds: number;
}

export class DemoAbortedError extends Error {
  readonly code = 'DEMO_ABORTED';
  constructor(reason: string) {
    super(`demo stopped: ${reason}`);
    this.name = 'DemoAbortedError';
  }
}

/** A check of the workload's own results failed (a lost or extra entry). */
export class WorkloadCheckError extends Error {
  readonly code = 'WORKLOAD_CHECK_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'WorkloadCheckError';
  }
}

/** Operations the workload will run in all (the progress bar's total). */
export function plannedOps(shape: WorkloadShape): number {
  const renamed = renamedCount(shape.filesPerClient);
  return shape.clients * (2 + 2 * shape.filesPerClient + shape.readdirRounds + 2 * renamed);
}

function renamedCount(files: number): number {
  return Math.ceil(files / 2);
}

const ATTRIBUTES = { mode: 0o755, uid: 0, gid: 0 } as const;

interface ClientState {
  readonly index: number;
  readonly client: MetaServerClient;
  readonly fs: FsClient;
  dirInode: number;
  /** Names now in the client's directory. */
  readonly names: Set<string>;
}

export interface WorkloadResult {
  readonly stats: OpStats;
  /** Entries left in the clients' directories, as the final readdir listed them. */
  readonly entriesLeft: number;
  /** Directories made, by copyset ("pool/copyset"). */
  readonly directoriesByCopyset: Record<string, number>;
}

export class ClusterWorkload {
  private readonly stats = new OpStats();
  private readonly states: ClientState[] = [];

  constructor(
    private readonly routes: readonly PartitionRoute[],
    private readonly fsId: number,
    private readonly shape: WorkloadShape,
    private readonly progress: ProgressBar,
    private readonly signal: AbortSignal,
  ) {}

  async run(): Promise<WorkloadResult> {
    const partitions = this.routes.map((route) => route.partition);
    for (let index = 0; index < this.shape.clients; index++) {
      const client = clusterClient(this.routes);
      this.states.push({ index, client, fs: new FsClient({ client, fsId: this.fsId }), dirInode: 0, names: new Set() });
    }
    try {
      const directoriesByCopyset: Record<string, number> = {};
      await this.phase('mkdir', async (state) => {
        const partition = partitions[state.index % partitions.length]!;
        const key = `${partition.poolId}/${partition.copysetId}`;
        directoriesByCopyset[key] = (directoriesByCopyset[key] ?? 0) + 2;
        const top = await this.timed('mkdir', () => this.mkdirIn(state, partition, `client-${state.index}`));
        state.dirInode = (await this.timed('mkdir', () => state.fs.mkdir(top, 'files', ATTRIBUTES))).inodeId;
      });
      const files = Array.from({ length: this.shape.filesPerClient }, (_, i) => `file-${i}`);
      await this.phase('create', async (state) => {
        for (const name of files) {
          await this.timed('create', () => state.fs.create(state.dirInode, name, { ...ATTRIBUTES, mode: 0o644 }));
          state.names.add(name);
        }
      });
      await this.phase('stat', async (state) => {
        for (const name of files) await this.timed('stat', () => state.fs.lookup(state.dirInode, name));
      });
      await this.phase('readdir', async (state) => {
        for (let round = 0; round < this.shape.readdirRounds; round++) {
          const listed = await this.timed('readdir', () => this.listNames(state));
          this.checkListing(state, listed);
        }
      });
      const moved = files.filter((_, i) => i % 2 === 0);
      await this.phase('rename', async (state) => {
        for (const name of moved) {
          await this.timed('rename', () => state.fs.rename(state.dirInode, name, state.dirInode, `renamed-${name}`));
          state.names.delete(name);
          state.names.add(`renamed-${name}`);
        }
      });
      await this.phase('unlink', async (state) => {
        for (const name of moved) {
          await this.timed('unlink', () => state.fs.unlink(state.dirInode, `renamed-${name}`));
          state.names.delete(`renamed-${name}`);
        }
      });
      let entriesLeft = 0;
      for (const state of this.states) {
        const listed = await this.listNames(state);
        this.checkListing(state, listed);
        entriesLeft += listed.length;
      }
      return { stats: this.stats, entriesLeft, directoriesByCopyset };
    } finally {
      for (const state of this.states) state.client.close();
    }
  }

  /** Runs `body` for every client at once; the phase's wall time counts for `kind`. */
  private async phase(kind: OpKind, body: (state: ClientState) => Promise<void>): Promise<void> {
    this.progress.setPhase(kind);
    const started = performance.now();
    await Promise.all(this.states.map(body));
    this.stats.addWallTime(kind, performance.now() - started);
  }

  /** Runs one operation, timing it; an abort wins over an operation still waiting. */
  private async timed<T>(kind: OpKind, operation: () => Promise<T>): Promise<T> {
    this.throwIfAborted();
    const started = performance.now();
    try {
      const result = await untilAborted(operation(), this.signal);
      this.stats.record(kind, performance.now() - started);
      this.progress.tick();
      return result;
    } catch (error) {
      if (!(error instanceof DemoAbortedError)) this.stats.recordError(kind);
      throw error;
    }
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw new DemoAbortedError(String(this.signal.reason ?? 'aborted'));
  }

  /** mkdir with the new directory's inode in a chosen partition (CreateInode there, CreateDentry under root). */
  private async mkdirIn(state: ClientState, partition: PartitionInfo, name: string): Promise<number> {
    const create = { sec: Math.floor(Date.now() / 1000), nsec: 0 };
    const deadlineMs = state.client.deadline();
    const response = await state.client.createInode(
      { ...routedTo(partition), fsId: this.fsId, length: 0, uid: 0, gid: 0, mode: modeOf(FsFileType.TYPE_DIRECTORY, 0o755), type: FsFileType.TYPE_DIRECTORY, parent: ROOT_INODE, create },
      { deadlineMs },
    );
    const inodeId = response.inode!.inodeId;
    await state.fs.calls.createDentry(ROOT_INODE, name, inodeId, FsFileType.TYPE_DIRECTORY, create, { deadlineMs });
    return inodeId;
  }

  private async listNames(state: ClientState): Promise<string[]> {
    const names: string[] = [];
    for await (const dentry of state.fs.readdir(state.dirInode)) names.push(dentry.name);
    return names;
  }

  private checkListing(state: ClientState, listed: readonly string[]): void {
    const expected = [...state.names].sort();
    const got = [...listed].sort();
    if (expected.length !== got.length || expected.some((name, i) => name !== got[i])) {
      throw new WorkloadCheckError(`client ${state.index}: directory lists ${got.length} entries, expected ${expected.length}`);
    }
  }
}

/**
 * Resolves with `promise`, or rejects with DemoAbortedError when `signal` aborts first;
 * then `cleanUp`, if given, receives the late result (to stop what it started).
 */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, cleanUp?: (late: T) => Promise<void>): Promise<T> {
  const aborted = (): DemoAbortedError => {
    void promise.then((late) => cleanUp?.(late), () => undefined);
    return new DemoAbortedError(String(signal.reason ?? 'aborted'));
  };
  if (signal.aborted) throw aborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
