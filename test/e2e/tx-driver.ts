/**
 * The load of the cross-copyset SIGKILL test: independent clients, each in a loop until
 * stop(), doing operations whose keys live in several copysets, and a model of what each
 * operation's outcome implies for the namespace:
 *
 * - rename workers move their own files back and forth between two directories held by
 *   different copysets (an OK rename moves the file; a definite refusal leaves it; an
 *   unknown outcome retires the file, which must then be in exactly one of the two);
 *   "impatient" ones do the same with a short operation deadline, so that operations
 *   caught by a kill end with an unknown outcome;
 * - a link worker links static files into another copyset's directory and unlinks the
 *   new name again, in turn (same rules, per name);
 * - a create worker creates files whose inode goes to another copyset than the parent's
 *   entries (its client marks the parent's copyset's partitions full);
 * - a lookup worker looks up names that must exist throughout (the static files and the
 *   acknowledged creates): NOT_FOUND or another inode is a violation at once.
 *
 * Each worker has its own MetaServerClient, FsClient and seeded random source.
 */
import { FsClient, MetaClientError, type MetaServerClient, type PartitionRoute } from '../../src/client/index.ts';
import { clusterClient } from '../../src/demo/cluster-setup.ts';
import { FS_ID, sleep } from './e2e-harness.ts';
import { attempt, placesOf, seededRandom, type Namespace, type Outcome } from './tx-harness.ts';

/** A worker's pause after an operation that did not succeed (the client already retried until its deadline). */
const PAUSE_AFTER_FAILURE_MS = 50;
/** A lookup worker's pause between lookups: reads are cheap, this keeps it from crowding the writers. */
const LOOKUP_PAUSE_MS = 20;
const FILE_ATTRIBUTES = { mode: 0o644, uid: 0, gid: 0 } as const;
/** Seed stride between workers (a prime): each worker draws from its own stream of the one seed. */
const WORKER_SEED_STRIDE = 7919;

/** A file a rename worker moves between `dirs[0]` and `dirs[1]`, keeping its name. */
export interface MovingFile {
  readonly name: string;
  readonly inodeId: number;
  readonly dirs: readonly [number, number];
  /** Where it is: an index into dirs, or 'unknown' after an operation of unknown outcome. */
  at: 0 | 1 | 'unknown';
}

/** A static file that the link worker links into `linkDir` as `linkName` and unlinks again. */
export interface LinkTarget {
  readonly inodeId: number;
  readonly dir: number;
  readonly name: string;
  readonly linkDir: number;
  readonly linkName: string;
  linked: boolean | 'unknown';
}

/** A file the create worker made (or tried to). */
export interface CreatedFile {
  readonly dir: number;
  readonly name: string;
  readonly outcome: Outcome;
  readonly inodeId?: number;
}

export type OperationKind = 'rename' | 'link' | 'unlink' | 'create' | 'lookup';

export interface TxLoadPlan {
  /** One array of files per rename worker (the worker owns them). */
  readonly renameWorkers: readonly MovingFile[][];
  /**
   * Rename workers whose client gives up after `impatientTimeoutMs`, shorter than an
   * election: their operations during a kill end with an unknown outcome.
   */
  readonly impatientRenameWorkers: readonly MovingFile[][];
  readonly impatientTimeoutMs: number;
  readonly linkTargets: readonly LinkTarget[];
  /** Directory the create worker creates in, and the partitions it must not place inodes in. */
  readonly createDir: number;
  readonly createAvoidsPartitions: readonly number[];
  readonly clientTimeoutMs: number;
}

export class TxLoad {
  readonly counts = new Map<string, number>();
  /** Problems seen while running (a lookup of a name that must exist failing...). */
  readonly violations: string[] = [];
  /** Messages of the errors the operations met (for the log). */
  readonly errors: string[] = [];
  readonly created: CreatedFile[] = [];
  /** The operations of the rename and link workers that did not succeed, with when (ms after start) and why. */
  readonly refusals: string[] = [];
  private startedMs = 0;
  /** Per kind: operations timed, their total and longest duration (ms), for the log. */
  readonly latency = new Map<OperationKind, { count: number; totalMs: number; maxMs: number }>();
  private running = false;
  private readonly workers: Promise<void>[] = [];
  private readonly clients: MetaServerClient[] = [];

  constructor(
    private readonly routes: readonly PartitionRoute[],
    readonly plan: TxLoadPlan,
    private readonly seed: number,
  ) {}

  /** OK outcomes of one kind of operation so far. */
  ok(kind: OperationKind): number {
    return this.counts.get(`${kind} ok`) ?? 0;
  }

  start(): void {
    this.running = true;
    this.startedMs = performance.now();
    let stream = 0;
    const next = (timeoutMs = this.plan.clientTimeoutMs): { fs: FsClient; random: () => number } => {
      const client = clusterClient(this.routes, { operationTimeoutMs: timeoutMs });
      this.clients.push(client);
      return { fs: new FsClient({ client, fsId: FS_ID }), random: seededRandom(this.seed + WORKER_SEED_STRIDE * ++stream) };
    };
    for (const files of this.plan.renameWorkers) {
      const { fs, random } = next();
      this.workers.push(this.renameLoop(fs, random, files));
    }
    for (const files of this.plan.impatientRenameWorkers) {
      const { fs, random } = next(this.plan.impatientTimeoutMs);
      this.workers.push(this.renameLoop(fs, random, files));
    }
    const linker = next();
    this.workers.push(this.linkLoop(linker.fs));
    const creator = next();
    for (const partitionId of this.plan.createAvoidsPartitions) creator.fs.calls.partitions.markFull(partitionId);
    this.workers.push(this.createLoop(creator.fs));
    const reader = next();
    this.workers.push(this.lookupLoop(reader.fs, reader.random));
  }

  /** Lets every operation in flight finish, then closes the clients. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    for (const client of this.clients) client.close();
  }

  private count(kind: OperationKind, outcome: Outcome, startedMs?: number): void {
    const key = `${kind} ${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (startedMs === undefined) return;
    const ms = performance.now() - startedMs;
    const seen = this.latency.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
    this.latency.set(kind, { count: seen.count + 1, totalMs: seen.totalMs + ms, maxMs: Math.max(seen.maxMs, ms) });
  }

  /** Mean and longest duration per kind, rounded (ms). */
  latencySummary(): Record<string, { mean: number; max: number }> {
    return Object.fromEntries([...this.latency].map(([kind, l]) => [kind, { mean: Math.round(l.totalMs / l.count), max: Math.round(l.maxMs) }]));
  }

  private async renameLoop(fs: FsClient, random: () => number, files: MovingFile[]): Promise<void> {
    while (this.running) {
      const known = files.filter((f) => f.at !== 'unknown');
      if (known.length === 0) return;
      const file = known[Math.floor(random() * known.length)]!;
      const from = file.at as 0 | 1;
      const startedMs = performance.now();
      const errorsBefore = this.errors.length;
      const { outcome } = await attempt(() => fs.rename(file.dirs[from], file.name, file.dirs[1 - from]!, file.name), this.errors);
      this.count('rename', outcome, startedMs);
      if (outcome !== 'ok') this.refusals.push(`${Math.round(performance.now() - this.startedMs)} ms: rename ${file.dirs[from]}/${file.name} → ${file.dirs[1 - from]}: ${outcome}: ${this.errors[errorsBefore]}`);
      if (outcome === 'ok') file.at = from === 0 ? 1 : 0;
      else if (outcome === 'unknown') file.at = 'unknown';
      if (outcome !== 'ok') await sleep(PAUSE_AFTER_FAILURE_MS);
    }
  }

  private async linkLoop(fs: FsClient): Promise<void> {
    for (let turn = 0; this.running; turn++) {
      const live = this.plan.linkTargets.filter((t) => t.linked !== 'unknown');
      if (live.length === 0) return;
      const target = live[turn % live.length]!;
      const kind = target.linked ? 'unlink' : 'link';
      const startedMs = performance.now();
      const { outcome } = await attempt(
        async () => void (await (target.linked ? fs.unlink(target.linkDir, target.linkName) : fs.link(target.inodeId, target.linkDir, target.linkName))),
        this.errors,
      );
      this.count(kind, outcome, startedMs);
      if (outcome !== 'ok') this.refusals.push(`${Math.round(performance.now() - this.startedMs)} ms: ${kind} ${target.linkDir}/${target.linkName} (inode ${target.inodeId}): ${outcome}: ${this.errors[this.errors.length - 1]}`);
      if (outcome === 'ok') target.linked = !target.linked;
      else if (outcome === 'unknown') target.linked = 'unknown';
      if (outcome !== 'ok') await sleep(PAUSE_AFTER_FAILURE_MS);
    }
  }

  private async createLoop(fs: FsClient): Promise<void> {
    for (let n = 0; this.running; n++) {
      const name = `c-${n}`;
      const startedMs = performance.now();
      const { outcome, value } = await attempt(() => fs.create(this.plan.createDir, name, FILE_ATTRIBUTES), this.errors);
      this.count('create', outcome, startedMs);
      this.created.push({ dir: this.plan.createDir, name, outcome, ...(value === undefined ? {} : { inodeId: value.inodeId }) });
      if (outcome !== 'ok') await sleep(PAUSE_AFTER_FAILURE_MS);
    }
  }

  /** Looks up names that exist throughout: the link targets' own names and the acknowledged creates. */
  private async lookupLoop(fs: FsClient, random: () => number): Promise<void> {
    while (this.running) {
      const acknowledged = this.created.filter((c) => c.outcome === 'ok');
      const fixed = [...this.plan.linkTargets.map((t) => ({ dir: t.dir, name: t.name, inodeId: t.inodeId })), ...acknowledged.map((c) => ({ dir: c.dir, name: c.name, inodeId: c.inodeId! }))];
      const pick = fixed[Math.floor(random() * fixed.length)];
      if (pick === undefined) return;
      try {
        const inode = await fs.lookup(pick.dir, pick.name);
        this.count('lookup', 'ok');
        if (inode.inodeId !== pick.inodeId) this.violations.push(`lookup ${pick.dir}/${pick.name}: inode ${inode.inodeId}, expected ${pick.inodeId}`);
      } catch (error) {
        this.count('lookup', 'failed');
        this.errors.push((error as Error).message);
        if (error instanceof MetaClientError && error.code === 'NOT_FOUND') this.violations.push(`lookup ${pick.dir}/${pick.name} (inode ${pick.inodeId}, must exist): NOT_FOUND`);
      }
      await sleep(LOOKUP_PAUSE_MS);
    }
  }

  /** The files of every rename worker. */
  movingFiles(): MovingFile[] {
    return [...this.plan.renameWorkers.flat(), ...this.plan.impatientRenameWorkers.flat()];
  }

  /** Every directory and name the load touched (for the read passes after it). */
  touched(): { dirs: number[]; names: { parent: number; name: string }[]; inodes: number[] } {
    const dirs = new Set<number>([this.plan.createDir]);
    const names: { parent: number; name: string }[] = [];
    const inodes = new Set<number>();
    for (const file of this.movingFiles()) {
      for (const dir of file.dirs) {
        dirs.add(dir);
        names.push({ parent: dir, name: file.name });
      }
      inodes.add(file.inodeId);
    }
    for (const target of this.plan.linkTargets) {
      dirs.add(target.dir).add(target.linkDir);
      names.push({ parent: target.dir, name: target.name }, { parent: target.linkDir, name: target.linkName });
      inodes.add(target.inodeId);
    }
    for (const created of this.created) {
      names.push({ parent: created.dir, name: created.name });
      if (created.inodeId !== undefined) inodes.add(created.inodeId);
    }
    for (const dir of dirs) inodes.add(dir);
    return { dirs: [...dirs], names, inodes: [...inodes] };
  }

  /**
   * What the outcomes imply, checked against the namespace fsck saw. Returns the
   * mismatches (empty: every OK'd operation is reflected, no refused one is).
   */
  mismatches(namespace: Namespace): string[] {
    const wrong: string[] = [];
    const namesOf = new Map<number, string[]>();
    for (const [dir, entries] of namespace.entries) {
      for (const [name, inodeId] of entries) namesOf.set(inodeId, [...(namesOf.get(inodeId) ?? []), `${dir}/${name}`]);
    }
    for (const file of this.movingFiles()) {
      const places = placesOf(namespace, file.dirs, file.name);
      const everywhere = namesOf.get(file.inodeId) ?? [];
      const expected = file.at === 'unknown' ? 'in exactly one of its two directories' : `in ${file.dirs[file.at]}`;
      const right = places.length === 1 && places[0]!.inodeId === file.inodeId && (file.at === 'unknown' || places[0]!.dir === file.dirs[file.at]);
      if (!right || everywhere.length !== 1) wrong.push(`file ${file.name} (inode ${file.inodeId}) should be ${expected}; named at [${everywhere}]`);
    }
    for (const target of this.plan.linkTargets) {
      const own = namespace.entries.get(target.dir)?.get(target.name);
      if (own !== target.inodeId) wrong.push(`${target.dir}/${target.name} should name ${target.inodeId}, names ${own}`);
      const link = namespace.entries.get(target.linkDir)?.get(target.linkName);
      if (target.linked === true && link !== target.inodeId) wrong.push(`link ${target.linkDir}/${target.linkName} acknowledged, names ${link}`);
      if (target.linked === false && link !== undefined) wrong.push(`link ${target.linkDir}/${target.linkName} should be absent (last outcome), names ${link}`);
      if (target.linked === 'unknown' && link !== undefined && link !== target.inodeId) wrong.push(`link ${target.linkDir}/${target.linkName} names ${link}, not ${target.inodeId}`);
      const names = namesOf.get(target.inodeId) ?? [];
      if (target.linked !== 'unknown' && names.length !== (target.linked ? 2 : 1)) wrong.push(`link target inode ${target.inodeId} should have ${target.linked ? 2 : 1} names, has [${names}]`);
    }
    for (const created of this.created) {
      const found = namespace.entries.get(created.dir)?.get(created.name);
      if (created.outcome === 'ok' && found !== created.inodeId) wrong.push(`create ${created.dir}/${created.name} acknowledged (inode ${created.inodeId}), names ${found}`);
      if (created.outcome === 'ok' && (namesOf.get(created.inodeId!) ?? []).length !== 1) wrong.push(`created inode ${created.inodeId} named at [${namesOf.get(created.inodeId!)}], expected once`);
      if (created.outcome === 'failed' && found !== undefined) wrong.push(`create ${created.dir}/${created.name} refused, yet names ${found}`);
    }
    return wrong;
  }
}
