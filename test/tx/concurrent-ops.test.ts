/**
 * Concurrent namespace operations across copysets (docs/transactions.md §18, items 3
 * and 4), on one in-process cluster of 3 MetaServers and 3 copysets:
 *
 * 1. a fast-check property: 3 FsClients run short random sequences of
 *    rename/link/create/mkdir/unlink/rmdir/lookup/readdir/stat over three directories
 *    held by different copysets, with leadership transfers and server restarts in
 *    between; the history must be linearizable against the POSIX model
 *    (concurrent-model.ts) and fsck clean once the intents are resolved;
 * 2. targeted races (concurrent-races.ts), each over seeded iterations, then fsck;
 * 3. hand-written histories the model must reject (its teeth);
 * 4. regression tests of the server bugs found here (each fixed; the comment above each
 *    test says what was wrong).
 *
 * Replay: fast-check prints the seed and path of a failing run; set TX_FC_SEED and
 * TX_FC_PATH to replay it, TX_FC_RUNS for more runs. The races print their seed;
 * TX_RACE_SEED replays one, TX_RACE_ITERS sets the iterations, TX_RACE_TRANSFER the
 * chance of a leadership transfer beside an iteration (default 0.2). A replay runs the
 * same operations, not the same timing: it may take a few tries.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE_ID, type FsClient } from '../../src/client/index.ts';
import { checkOperations } from '../../src/testing/linearizability.ts';
import { Random } from '../../src/testing/random.ts';
import { fsck } from './fsck.ts';
import { sleep } from '../service/harness.ts';
import { TxCluster } from './tx-cluster.ts';
import { NEW_INODE_COPYSET, HistoryRecorder, crossingClient, describeFault, injectFault, namesUnderRemovedDirectories, perform, quiesce, type Fault } from './concurrent-harness.ts';
import { describeNsOperation, initialState, namespaceModel, type NodeKind, type NsInput, type NsOutput } from './concurrent-model.ts';
import {
  RaceFailure,
  crossingDirectoryMoves,
  linkVersusUnlinkOfLastName,
  raceFolder,
  readerDuringRename,
  renameOverDirectoryVersusCreate,
  renameThroughLeaderCrash,
  rmdirVersusCreate,
  twoRenamesToOneName,
  twoUnlinksWithReaders,
  type Race,
} from './concurrent-races.ts';

/** Property runs: each builds fresh directories on the shared cluster (a few seconds apiece). */
const FC_RUNS = Number(process.env.TX_FC_RUNS ?? 12);
const CLIENTS = 3;
/** Operations per client: histories of ≤ 3 × 12 + the final reads keep the whole-namespace search small. */
const MAX_OPS_PER_CLIENT = 12;
const MAX_FAULTS_PER_RUN = 2;
/**
 * One client's operation deadline: short enough that an election after a fault makes
 * it give up (an unknown outcome, which the check must allow either way), long enough
 * for most operations to finish.
 */
const IMPATIENT_TIMEOUT_MS = 300;
/** The checker gives up after this long; a history this short is checked in well under a second. */
const CHECK_TIMEOUT_MS = 60_000;
const NAMES = ['x', 'y', 'S'] as const;
/** The working directories: A (copyset 2) holds S (copyset 3); B (copyset 3). Files start at A/x, B/y, S/x. */
const DIRS = 3;
/** Generous: a run takes about a second, one with a restart a few. */
const PROPERTY_TIMEOUT_MS = Math.max(240_000, FC_RUNS * 5_000);
/** Seeded iterations per race (each a few round trips of setup and two or three concurrent operations). */
const RACE_ITERATIONS = Number(process.env.TX_RACE_ITERS ?? 24);
/** Iteration i of a race runs with seed RACE_SEED + i. */
const RACE_SEED = Number(process.env.TX_RACE_SEED ?? 20_251_125);
const RACE_TIMEOUT_MS = Math.max(120_000, RACE_ITERATIONS * 3_000);
/** Iterations of the two-unlinks race in its known-bug test: the bug shows in about one iteration in four. */
const TWO_UNLINKS_ITERATIONS = 40;
/** How long the anchor-destination bug test waits for its move (a working move takes milliseconds). */
const ANCHOR_MOVE_WAIT_MS = 3_000;
/** The crash race restarts a server per iteration (an election each): a third of the iterations. */
const CRASH_RACE_SHARE = 1 / 3;

/** One generated operation, resolved against the run's directories and known ids when it is issued. */
interface OpSpec {
  readonly op: 'create' | 'mkdir' | 'link' | 'unlink' | 'rmdir' | 'rename' | 'lookup' | 'readdir' | 'stat';
  readonly dir: number;
  readonly name: (typeof NAMES)[number];
  readonly dir2: number;
  readonly name2: (typeof NAMES)[number];
  /** Picks one of the inode ids known when the operation is issued. */
  readonly pick: number;
}

const opSpec: fc.Arbitrary<OpSpec> = fc.record({
  op: fc.oneof(
    { arbitrary: fc.constant('rename' as const), weight: 4 },
    { arbitrary: fc.constant('create' as const), weight: 3 },
    { arbitrary: fc.constant('mkdir' as const), weight: 1 },
    { arbitrary: fc.constant('link' as const), weight: 2 },
    { arbitrary: fc.constant('unlink' as const), weight: 2 },
    { arbitrary: fc.constant('rmdir' as const), weight: 1 },
    { arbitrary: fc.constant('lookup' as const), weight: 2 },
    { arbitrary: fc.constant('readdir' as const), weight: 1 },
    { arbitrary: fc.constant('stat' as const), weight: 2 },
  ),
  dir: fc.nat(DIRS - 1),
  name: fc.constantFrom(...NAMES),
  dir2: fc.nat(DIRS - 1),
  name2: fc.constantFrom(...NAMES),
  pick: fc.nat(1_000),
});

const fault: fc.Arbitrary<Fault> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('transfer' as const), copysetId: fc.integer({ min: 1, max: 3 }), to: fc.nat(2) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('restart' as const), server: fc.nat(2) }), weight: 1 },
);

const scenario = fc.record({
  clients: fc.array(fc.array(opSpec, { minLength: 3, maxLength: MAX_OPS_PER_CLIENT }), { minLength: CLIENTS, maxLength: CLIENTS }),
  faults: fc.array(fc.record({ fault, afterMs: fc.integer({ min: 0, max: 40 }) }), { maxLength: MAX_FAULTS_PER_RUN }),
});

let cluster: TxCluster;
let clients: FsClient[];
let plain: FsClient;
/** The races' clients: all patient (a race's checks read through them). */
let raceClients: FsClient[];
let runs = 0;

beforeAll(async () => {
  cluster = await TxCluster.start({ servers: 3, copysets: 3, partitions: 6 });
  // The last client gives up early: its operations may end with an unknown outcome.
  clients = Array.from({ length: CLIENTS }, (_, c) => crossingClient(cluster, c === CLIENTS - 1 ? { operationTimeoutMs: IMPATIENT_TIMEOUT_MS } : {}));
  plain = cluster.client();
  raceClients = Array.from({ length: 3 }, () => crossingClient(cluster));
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

/** The working directories of one run, and the model's starting state. */
async function makeRunDirs(): Promise<{ dirs: number[]; initial: ReturnType<typeof initialState> }> {
  const run = await cluster.mkdirIn(ROOT_INODE_ID, `run-${++runs}`, NEW_INODE_COPYSET);
  const a = await cluster.mkdirIn(run.inodeId, 'A', 2);
  const b = await cluster.mkdirIn(run.inodeId, 'B', 3);
  const s = await cluster.mkdirIn(a.inodeId, 'S', 3);
  const x = await cluster.createIn(a.inodeId, 'x', NEW_INODE_COPYSET);
  const y = await cluster.createIn(b.inodeId, 'y', NEW_INODE_COPYSET);
  // S starts non-empty: rmdir of S and renames over it meet ENOTEMPTY until its file goes.
  const sx = await cluster.createIn(s.inodeId, 'x', NEW_INODE_COPYSET);
  const initial = initialState([
    { id: a.inodeId, kind: 'dir' },
    { id: b.inodeId, kind: 'dir' },
    { id: s.inodeId, kind: 'dir', parent: { id: a.inodeId, name: 'S' } },
    { id: x.inodeId, kind: 'file', parent: { id: a.inodeId, name: 'x' } },
    { id: y.inodeId, kind: 'file', parent: { id: b.inodeId, name: 'y' } },
    { id: sx.inodeId, kind: 'file', parent: { id: s.inodeId, name: 'x' } },
  ]);
  return { dirs: [a.inodeId, b.inodeId, s.inodeId], initial };
}

/** Turns a generated spec into an operation on this run's directories; ids come from what was seen so far. */
function resolveSpec(spec: OpSpec, dirs: readonly number[], known: readonly number[], tag: number): NsInput {
  const dir = dirs[spec.dir]!;
  const dir2 = dirs[spec.dir2]!;
  const id = known[spec.pick % known.length]!;
  switch (spec.op) {
    case 'create':
    case 'mkdir':
      return { op: 'create', tag, dir, name: spec.name, kind: (spec.op === 'mkdir' ? 'dir' : 'file') satisfies NodeKind };
    case 'link':
      return { op: 'link', id, dir: dir2, name: spec.name2 };
    case 'unlink':
    case 'rmdir':
    case 'lookup':
      return { op: spec.op, dir, name: spec.name };
    case 'rename':
      return { op: 'rename', srcDir: dir, srcName: spec.name, dstDir: dir2, dstName: spec.name2 };
    case 'readdir':
      return { op: 'readdir', dir };
    case 'stat':
      return { op: 'stat', id };
  }
}

function idsSeen(output: { status: string; id?: number; entries?: readonly (readonly [string, number])[] }): number[] {
  if (output.status !== 'ok') return [];
  return [...(output.id === undefined ? [] : [output.id]), ...(output.entries ?? []).map(([, id]) => id)];
}

describe('the namespace model rejects what a wrong server would answer', () => {
  // Directories 10 (holding 12) and 11; file 20 at 10/x.
  const initial = initialState([
    { id: 10, kind: 'dir' },
    { id: 11, kind: 'dir' },
    { id: 12, kind: 'dir', parent: { id: 10, name: 'S' } },
    { id: 20, kind: 'file', parent: { id: 10, name: 'x' } },
  ]);
  const UNKNOWN = Number.POSITIVE_INFINITY;
  type Step = [client: number, input: NsInput, output: NsOutput, call: number, ret: number];
  const check = (...steps: Step[]) =>
    checkOperations(
      namespaceModel(initial),
      steps.map(([clientId, input, output, call, ret]) => ({ clientId, input, output, call, return: ret })),
    ).result;
  const ok = (extra: Partial<{ id: number; kind: NodeKind; nlink: number; entries: [string, number][] }> = {}): NsOutput => ({ status: 'ok', ...extra });
  const mvXtoY: NsInput = { op: 'rename', srcDir: 10, srcName: 'x', dstDir: 11, dstName: 'y' };
  const lookupOld: NsInput = { op: 'lookup', dir: 10, name: 'x' };
  const lookupNew: NsInput = { op: 'lookup', dir: 11, name: 'y' };

  it('a rename: the old name never after the new one, never after the reply', () => {
    expect(check([0, mvXtoY, ok(), 1, 10], [1, lookupOld, ok({ id: 20, kind: 'file' }), 2, 3], [1, lookupNew, ok({ id: 20, kind: 'file' }), 4, 5])).toBe('ok');
    expect(check([0, mvXtoY, ok(), 1, 10], [1, lookupNew, ok({ id: 20, kind: 'file' }), 2, 3], [1, lookupOld, ok({ id: 20, kind: 'file' }), 4, 5])).toBe('illegal');
    expect(check([0, mvXtoY, ok(), 1, 10], [1, lookupOld, { status: 'error', errno: 'ENOENT' }, 2, 3], [1, lookupNew, { status: 'error', errno: 'ENOENT' }, 4, 5])).toBe('illegal');
    expect(check([0, mvXtoY, ok(), 1, 2], [1, lookupOld, ok({ id: 20, kind: 'file' }), 3, 4])).toBe('illegal');
    // Unknown outcome: either way, but not both.
    expect(check([0, mvXtoY, { status: 'unknown' }, 1, UNKNOWN], [1, lookupOld, ok({ id: 20, kind: 'file' }), 3, 4])).toBe('ok');
    expect(check([0, mvXtoY, { status: 'unknown' }, 1, UNKNOWN], [1, lookupNew, ok({ id: 20, kind: 'file' }), 3, 4], [1, lookupOld, ok({ id: 20, kind: 'file' }), 5, 6])).toBe('illegal');
  });

  it('link counts: files by names, directories by subdirectories', () => {
    const link: NsInput = { op: 'link', id: 20, dir: 11, name: 'g' };
    expect(check([0, link, ok(), 1, 2], [0, { op: 'stat', id: 20 }, ok({ nlink: 2, kind: 'file' }), 3, 4])).toBe('ok');
    expect(check([0, link, ok(), 1, 2], [0, { op: 'stat', id: 20 }, ok({ nlink: 1, kind: 'file' }), 3, 4])).toBe('illegal');
    const mkdir: NsInput = { op: 'create', tag: 1, dir: 11, name: 'd', kind: 'dir' };
    expect(check([0, mkdir, ok({ id: 30 }), 1, 2], [0, { op: 'stat', id: 11 }, ok({ nlink: 3, kind: 'dir' }), 3, 4])).toBe('ok');
    expect(check([0, mkdir, ok({ id: 30 }), 1, 2], [0, { op: 'stat', id: 11 }, ok({ nlink: 2, kind: 'dir' }), 3, 4])).toBe('illegal');
    const mvS: NsInput = { op: 'rename', srcDir: 10, srcName: 'S', dstDir: 11, dstName: 'S' };
    expect(check([0, mvS, ok(), 1, 2], [0, { op: 'stat', id: 10 }, ok({ nlink: 2, kind: 'dir' }), 3, 4], [0, { op: 'stat', id: 11 }, ok({ nlink: 3, kind: 'dir' }), 5, 6])).toBe('ok');
    expect(check([0, mvS, ok(), 1, 2], [0, { op: 'stat', id: 10 }, ok({ nlink: 3, kind: 'dir' }), 3, 4])).toBe('illegal');
    // The last name gone: nlink 0 or reclaimed.
    expect(check([0, { op: 'unlink', dir: 10, name: 'x' }, ok(), 1, 2], [0, { op: 'stat', id: 20 }, { status: 'error', errno: 'ENOENT' }, 3, 4])).toBe('ok');
    expect(check([0, { op: 'unlink', dir: 10, name: 'x' }, ok(), 1, 2], [0, { op: 'stat', id: 20 }, ok({ nlink: 1, kind: 'file' }), 3, 4])).toBe('illegal');
  });

  it('refusals need a reason: non-empty directories, cycles, existing names, wrong types', () => {
    const create: NsInput = { op: 'create', tag: 1, dir: 12, name: 'f', kind: 'file' };
    const rmdirS: NsInput = { op: 'rmdir', dir: 10, name: 'S' };
    expect(check([0, create, ok({ id: 30 }), 1, 2], [0, rmdirS, { status: 'error', errno: 'ENOTEMPTY' }, 3, 4])).toBe('ok');
    expect(check([0, create, ok({ id: 30 }), 1, 2], [0, rmdirS, ok(), 3, 4])).toBe('illegal');
    expect(check([0, rmdirS, { status: 'error', errno: 'ENOTEMPTY' }, 1, 2])).toBe('illegal');
    const intoItself: NsInput = { op: 'rename', srcDir: 10, srcName: 'S', dstDir: 12, dstName: 'S' };
    expect(check([0, intoItself, { status: 'error', errno: 'EWRONGTYPE' }, 1, 2])).toBe('ok');
    expect(check([0, intoItself, ok(), 1, 2])).toBe('illegal');
    expect(check([0, { op: 'create', tag: 1, dir: 10, name: 'x', kind: 'file' }, ok({ id: 30 }), 1, 2])).toBe('illegal');
    expect(check([0, { op: 'unlink', dir: 10, name: 'S' }, ok(), 1, 2])).toBe('illegal');
    // A lock timeout is a definite "not applied".
    expect(check([0, mvXtoY, { status: 'error', errno: 'EBUSY' }, 1, 2], [0, lookupOld, ok({ id: 20, kind: 'file' }), 3, 4])).toBe('ok');
    expect(check([0, mvXtoY, { status: 'error', errno: 'EBUSY' }, 1, 2], [0, lookupNew, ok({ id: 20, kind: 'file' }), 3, 4])).toBe('illegal');
  });

  it('new inode ids are fresh; an unknown create is bound to the id first seen', () => {
    expect(check([0, { op: 'create', tag: 1, dir: 11, name: 'f', kind: 'file' }, ok({ id: 20 }), 1, 2])).toBe('illegal');
    const lost: NsInput = { op: 'create', tag: 1, dir: 11, name: 'f', kind: 'file' };
    expect(check([0, lost, { status: 'unknown' }, 1, UNKNOWN], [1, { op: 'readdir', dir: 11 }, ok({ entries: [['f', 31]] }), 3, 4], [1, { op: 'stat', id: 31 }, ok({ nlink: 1, kind: 'file' }), 5, 6])).toBe('ok');
    expect(check([0, lost, { status: 'unknown' }, 1, UNKNOWN], [1, { op: 'readdir', dir: 11 }, ok({ entries: [['f', 31]] }), 3, 4], [1, { op: 'lookup', dir: 11, name: 'f' }, ok({ id: 32, kind: 'file' }), 5, 6])).toBe('illegal');
    expect(check([0, lost, { status: 'unknown' }, 1, UNKNOWN], [1, { op: 'readdir', dir: 11 }, ok({ entries: [['f', 20]] }), 3, 4])).toBe('illegal');
  });
});

describe('concurrent operations across copysets', () => {
  it(
    'are linearizable against the POSIX namespace and leave fsck clean (fast-check)',
    async () => {
      const seed = process.env.TX_FC_SEED === undefined ? undefined : Number(process.env.TX_FC_SEED);
      const path = process.env.TX_FC_PATH;
      await fc.assert(
        fc.asyncProperty(scenario, async ({ clients: specs, faults }) => {
          const { dirs, initial } = await makeRunDirs();
          const history = new HistoryRecorder();
          const known = new Set<number>(dirs);
          Object.keys(initial.nodes).forEach((id) => known.add(Number(id)));
          const actors = specs.map(async (ops, c) => {
            for (const spec of ops) {
              const input = resolveSpec(spec, dirs, [...known], history.nextTag());
              const output = await history.run(c, clients[c]!, input);
              idsSeen(output).forEach((id) => known.add(id));
            }
          });
          const injector = (async () => {
            for (const { fault: f, afterMs } of faults) {
              await sleep(afterMs);
              await injectFault(cluster, f);
            }
          })();
          await Promise.all([...actors, injector]);
          await quiesce(cluster);
          // Final reads pin the end state: every directory's names, every known inode's nlink.
          for (const dir of dirs) await history.run(0, clients[0]!, { op: 'readdir', dir });
          for (const id of [...known].sort((p, q) => p - q)) await history.run(0, clients[0]!, { op: 'stat', id });

          const outcome = checkOperations(namespaceModel(initial), history.operations, { timeoutMs: CHECK_TIMEOUT_MS });
          const story = () =>
            [`faults: ${faults.map(({ fault: f, afterMs }) => `+${afterMs}ms ${describeFault(f)}`).join('; ') || 'none'}`, ...history.operations.map((op) => `  c${op.clientId} [${op.call}, ${op.return}] ${describeNsOperation(op.input, op.output)}`)].join('\n');
          expect(outcome.result, `${outcome.info ?? ''}\nhistory:\n${story()}`).toBe('ok');
          if (process.env.TX_DEBUG !== undefined) console.log(story());
          const violations = await fsck(cluster, cluster.fsId, { allowRecords: true });
          expect(violations, story()).toEqual([]);
          expect(await namesUnderRemovedDirectories(cluster), story()).toEqual([]);
        }),
        { numRuns: FC_RUNS, ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }), endOnFailure: true },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

const RACES: readonly [title: string, race: Race, iterationShare?: number][] = [
  ['two crossing directory moves: never a cycle, at most one succeeds', crossingDirectoryMoves],
  ['rename over an empty directory racing a create inside it: never a non-empty directory replaced', renameOverDirectoryVersusCreate],
  ['rmdir racing a create inside the directory: never a non-empty directory removed', rmdirVersusCreate],
  ['link racing unlink of the last name: nlink > 0 exactly when a name is left', linkVersusUnlinkOfLastName],
  ['two renames to one destination name: exactly one name survives, per POSIX', twoRenamesToOneName],
  ['a reader looping on both names during a rename: never neither, never old after new', readerDuringRename],
  ['a rename through a restart of a leader involved: all or nothing, exactly once', renameThroughLeaderCrash, CRASH_RACE_SHARE],
];

describe('targeted races across copysets', () => {
  for (const [title, race, share] of RACES) {
    it(
      title,
      async () => {
        for (let i = 0; i < Math.max(1, Math.round(RACE_ITERATIONS * (share ?? 1))); i++) {
          const seed = RACE_SEED + i;
          const folder = await raceFolder(cluster, race.name);
          try {
            await race({ cluster, crossing: raceClients, plain, folder }, new Random(seed));
          } catch (error) {
            if (!(error instanceof RaceFailure)) throw error;
            throw new RaceFailure(`${race.name}, seed ${seed} (replay: TX_RACE_SEED=${seed} TX_RACE_ITERS=1): ${error.message}`);
          }
        }
        await quiesce(cluster);
        expect(await fsck(cluster, cluster.fsId, { allowRecords: true })).toEqual([]);
        expect(await namesUnderRemovedDirectories(cluster)).toEqual([]);
      },
      RACE_TIMEOUT_MS,
    );
  }
});

describe('a committed transaction still resolving', () => {
  /*
   * Found by the property (rename of a directory, then a rename of its new name homed in
   * the destination's copyset answered ENOENT while the old name was already gone): the
   * coordinator read its home keys from the leader view without regard to intents, so
   * between a tx's commit point and its resolution there, a second operation there saw
   * neither name. The decision of the first is held here at the 'decided' step (after
   * its commit point, before it sends Resolve) to open that window for certain.
   *
   * The TxService planner waits for such intents; and the single-group Rename
   * (src/executor/rename-call.ts), which FsClient tries first when both parents share a
   * copyset, once looked for the source before it checked locks and answered NOT_FOUND in
   * this window. Both now wait for the intent, then rename b.
   */
  it('is seen by a transaction homed where it has not resolved yet: never neither name', async () => {
    const folder = await raceFolder(cluster, 'resolving');
    const a = await cluster.mkdirIn(folder, 'A', 2);
    const b = await cluster.mkdirIn(folder, 'B', 3);
    const file = await cluster.createIn(a.inodeId, 'a', NEW_INODE_COPYSET);
    const home = (await cluster.leaderOf(cluster.poolId, 2)).tx!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let decided!: () => void;
    const reached = new Promise<void>((resolve) => (decided = resolve));
    let holding = true;
    home.onStep = async (step) => {
      if (step !== 'decided' || !holding) return;
      holding = false;
      decided();
      await held;
    };
    try {
      const [fs0, fs1] = raceClients;
      const first = perform(fs0!, { op: 'rename', srcDir: a.inodeId, srcName: 'a', dstDir: b.inodeId, dstName: 'b' });
      await reached;
      // Committed: the old name is gone at its home.
      expect(await perform(fs1!, { op: 'lookup', dir: a.inodeId, name: 'a' })).toEqual({ status: 'error', errno: 'ENOENT' });
      // Homed in B's copyset, where the first rename's intent is not resolved: must see b.
      expect(await perform(fs1!, { op: 'rename', srcDir: b.inodeId, srcName: 'b', dstDir: b.inodeId, dstName: 'c' })).toEqual({ status: 'ok' });
      release();
      expect(await first).toEqual({ status: 'ok' });
      expect(await perform(fs1!, { op: 'readdir', dir: b.inodeId })).toEqual({ status: 'ok', entries: [['c', file.inodeId]] });
    } finally {
      release();
      home.onStep = undefined;
    }
  }, RACE_TIMEOUT_MS);
});

describe('regressions of server bugs found here', () => {
  /*
   * Replace directory t (inode and entries in copyset 1) by a rename through TxService
   * (t now has nlink 0 and sits in the trash), then create t/f with the default
   * placement: FsClient then sent CreateInode + CreateDentry to t's own partition (one
   * copyset, no TxService; it now sends one TxService.Create). CreateDentry succeeded under the unlinked directory: a live
   * file (nlink 1) whose only name hangs under a removed directory, unreachable from the
   * root — and fsck.ts reports nothing. Same with any placement of the moved directory,
   * and with t in copysets 2 and 3 for a client placing the new inode next to t. A
   * TxService.Create refuses it (ENOENT, its 'parent' condition wants nlink > 0). §10
   * says a CreateDentry under a sealed directory answers NOT_FOUND once the tx commits;
   * the single-group CreateDentry now likewise refuses a parent with nlink 0. Racing
   * the rename, this also lets the rename-over-directory race see both succeed.
   */
  it(
    'a create in a directory already replaced by a cross-copyset rename fails (single-copyset CreateDentry)',
    async () => {
      const folder = await raceFolder(cluster, 'create-in-replaced');
      const src = await cluster.mkdirIn(folder, 'src', 2);
      const dst = await cluster.mkdirIn(folder, 'dst', 3);
      await cluster.mkdirIn(src.inodeId, 'd', 3);
      const t = await cluster.mkdirIn(dst.inodeId, 't', 1);
      expect(await perform(raceClients[0]!, { op: 'rename', srcDir: src.inodeId, srcName: 'd', dstDir: dst.inodeId, dstName: 't' })).toEqual({ status: 'ok' });
      expect(await perform(plain, { op: 'stat', id: t.inodeId })).toEqual({ status: 'ok', nlink: 0, kind: 'dir' });
      expect(await perform(plain, { op: 'create', tag: 0, dir: t.inodeId, name: 'f', kind: 'file' })).toEqual({ status: 'error', errno: 'ENOENT' });
    },
    RACE_TIMEOUT_MS,
  );

  /*
   * Two clients unlink the same name p/x at once (p's entries in copyset 2 or 3, x's
   * inode in copyset 1: both go through TxService.Unlink to p's copyset). The loser is
   * answered NOT_FOUND while the name still exists in every replica, BEFORE the winner's
   * decision commits; its next lookup then finds x again. The coordinator plans against
   * the leader view, which includes entries proposed but not yet committed (here the
   * winner's decision deleting p/x), and returns the planner's refusal at once: a final
   * answer computed from uncommitted state. A trace (applied index of p's copyset, all
   * three replicas): u0, u1 GetDentry → 14 @20; u1 TxService.Unlink → NOT_FOUND while
   * p/x is still present @20; u0 TxService.Unlink → OK, p/x gone @21; u1's lookup started
   * after its NOT_FOUND → x present. A refusal read from the view should wait until the
   * entries it read are applied (or read the applied store). Found by the fast-check
   * property (seed 1487106939, path 41: "unlink(S/x) → ENOENT" then "lookup(S/x) → ok"
   * by the same client). Fixed: an answer computed from the leader view waits until
   * what it read is committed (CopysetNode.settled).
   */
  it(
    'two unlinks of one name with readers: exactly one succeeds, a name seen gone stays gone',
    async () => {
      for (let i = 0; i < TWO_UNLINKS_ITERATIONS; i++) {
        const seed = RACE_SEED + i;
        const folder = await raceFolder(cluster, 'two-unlinks');
        try {
          await twoUnlinksWithReaders({ cluster, crossing: raceClients, plain, folder }, new Random(seed));
        } catch (error) {
          if (!(error instanceof RaceFailure)) throw error;
          throw new RaceFailure(`twoUnlinksWithReaders, seed ${seed}: ${error.message}`);
        }
      }
    },
    RACE_TIMEOUT_MS,
  );

  /*
   * `mv /a/x /y/x` where a's entries live in copyset 2 (the home), y's inode and entries
   * in copyset 1 (the anchor's: it holds the root) and x anywhere. No concurrency needed.
   * The anchor's intent carries the dirmove lock AND the destination part (the condition
   * on y and y's nlink/time delta). The ancestor walk (§8, TxManager.walkAncestors) then
   * reads inode y from the anchor with GetInode; the anchor's read path waits for any
   * intent on y (CopysetNode.read → waitForIntent) — here the tx's own, which waits for
   * the walk: the read answers OVERLOAD after LOCK_WAIT_BUDGET_MS, the attempt aborts with
   * TX_TIMEOUT at its prepare deadline, the next attempt does the same, and the client
   * gets TX_TIMEOUT after the retry budget (10 s). Fixed: the lock's intent holds nothing
   * else while the walk reads; the anchor's other keys are prepared after it.
   */
  it(
    'a directory move into a directory held by the anchor copyset, from another home, succeeds',
    async () => {
      const folder = await raceFolder(cluster, 'anchor-destination');
      const a = await cluster.mkdirIn(folder, 'a', 2);
      const y = await cluster.mkdirIn(folder, 'y', 1);
      const x = await cluster.mkdirIn(a.inodeId, 'x', 3);
      // A bounded wait: the bug shows as TX_TIMEOUT after the 10 s retry budget, a fixed server answers at once.
      const fs = crossingClient(cluster, { operationTimeoutMs: ANCHOR_MOVE_WAIT_MS });
      const moved = await perform(fs, { op: 'rename', srcDir: a.inodeId, srcName: 'x', dstDir: y.inodeId, dstName: 'x' });
      expect(moved).toEqual({ status: 'ok' });
      expect(await perform(raceClients[1]!, { op: 'lookup', dir: y.inodeId, name: 'x' })).toEqual({ status: 'ok', id: x.inodeId, kind: 'dir' });
    },
    RACE_TIMEOUT_MS,
  );
});
