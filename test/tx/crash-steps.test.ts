/**
 * Crash at every step (docs/transactions.md §18, item 2, on real servers in one process):
 * the coordinator of a cross-copyset operation is frozen at a named step (TxManager's
 * onStep hook), a victim crashes — the home leader (frozen and stopped: a process dead at
 * that step), the leader of a secondary copyset, the anchor's leader (directory moves), a
 * follower, or the client (it abandons the call) — then restarts, and the cluster is run
 * to quiescence. Message faults between metaservers (a lost Prepare, PREPARED, abort or
 * commit Resolve, delayed duplicate Prepares) run the same checks without a crash.
 * Checked per case:
 *
 * - all-or-nothing against the client's answer: OK → the new names, nlink and parent
 *   lists are visible at once and stay; a definite refusal → the old state, intact; no
 *   answer → the old or the new state, never a mix;
 * - no intent and no coordinator task left, and fsck clean (records are allowed: they
 *   wait for their retention or the client's acknowledgement).
 *
 * Roles are placed by leadership transfers: the home copyset's leader, the secondary's
 * leader and a follower that leads no copyset are three different servers (which server
 * plays which comes from the case's seed, printed in every message: BASE_SEED + the
 * case's position; CRASH_SEED=<n> sets BASE_SEED, so running one case alone with -t
 * replays it). CRASH_SUMMARY=1 prints every case's answer and final state.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT_INODE_ID, type FsClient } from '../../src/client/index.ts';
import { FsTxCalls } from '../../src/client/fs-tx.ts';
import type { TxIdWire } from '../../src/proto/index.ts';
import type { TxStep } from '../../src/tx/tx-manager.ts';
import {
  RemoteTap,
  StepTrap,
  answerOf,
  describeTxState,
  intentsLeft,
  placeLeaders,
  probeIntents,
  quiesce,
  seededRandom,
  txRemoteOf,
  wakeLeaders,
  type Answer,
  type Fate,
  type TappedCall,
} from './crash-harness.ts';
import { ReplayedTxId, prepareOp, type OpKind, type Picture, type PreparedOp } from './crash-ops.ts';
import { formatViolations, fsck } from './fsck.ts';
import { sleep } from '../service/harness.ts';
import { TxCluster } from './tx-cluster.ts';

/** `anchor`: the leader of the copyset holding the fs-wide directory-move lock (directory moves only). */
type Victim = 'home' | 'secondary' | 'follower' | 'client' | 'anchor';

/**
 * Small timeouts so a lost coordinator's intents are asked about soon and a prepare to a
 * dead leader is given up soon (§11); the retry budget outlasts a restart.
 */
const TUNING = { txPrepareTimeoutMs: 1_500, txIntentQueryAfterMs: 300, txRetryBudgetMs: 8_000 };
/** How long a crashed server stays down before it restarts (an election happens meanwhile). */
const DOWN_MS = 400;
/** Quiescence after the heal: resolver ask + an election + a restarted replica catching up. */
const QUIESCE_MS = 30_000;
const CASE_TIMEOUT_MS = 90_000;
/** The bug reproduction's wait for intents to go: many times intentQueryAfterMs plus an election. */
const REGRESSION_WAIT_MS = 6_000;
/** Tries at setting the bug reproduction's scene (one server leading every copyset of the tx). */
const SCENE_TRIES = 3;
const BASE_SEED = Number(process.env.CRASH_SEED ?? 20_261_125);
/**
 * Before the checks' reads and while waiting for quiescence, make every copyset's leader
 * ready, as a write would. Off: a new leader that served only reads runs its resolver
 * anyway (the regression test at the end).
 */
const WAKE_NEW_LEADERS = false;

interface Scenario {
  readonly op: OpKind;
  readonly step: TxStep;
  readonly victim: Victim;
}

const VICTIMS: readonly Victim[] = ['home', 'secondary', 'follower', 'client'];
const FILE_STEPS: readonly TxStep[] = ['planned', 'prepared', 'decided', 'replied', 'resolved'];

/** Every step × victim for the file rename over 3 copysets; a spread of cells for the other kinds. */
const SCENARIOS: readonly Scenario[] = [
  ...FILE_STEPS.flatMap((step) => VICTIMS.map((victim) => ({ op: 'rename' as const, step, victim }))),
  { op: 'rename-over', step: 'planned', victim: 'home' },
  { op: 'rename-over', step: 'prepared', victim: 'home' },
  { op: 'rename-over', step: 'decided', victim: 'home' },
  { op: 'rename-over', step: 'decided', victim: 'secondary' },
  { op: 'rename-over', step: 'replied', victim: 'follower' },
  { op: 'rename-over', step: 'resolved', victim: 'client' },
  { op: 'dir-move', step: 'planned', victim: 'secondary' },
  { op: 'dir-move', step: 'anchor-prepared', victim: 'home' },
  { op: 'dir-move', step: 'anchor-prepared', victim: 'anchor' },
  { op: 'dir-move', step: 'anchor-prepared', victim: 'client' },
  { op: 'dir-move', step: 'walk-done', victim: 'home' },
  { op: 'dir-move', step: 'walk-done', victim: 'secondary' },
  { op: 'dir-move', step: 'walk-done', victim: 'anchor' },
  { op: 'dir-move', step: 'prepared', victim: 'home' },
  { op: 'dir-move', step: 'prepared', victim: 'anchor' },
  { op: 'dir-move', step: 'prepared', victim: 'follower' },
  { op: 'dir-move', step: 'decided', victim: 'home' },
  { op: 'dir-move', step: 'decided', victim: 'anchor' },
  { op: 'dir-move', step: 'decided', victim: 'client' },
  { op: 'dir-move', step: 'replied', victim: 'home' },
  { op: 'dir-move', step: 'resolved', victim: 'secondary' },
  { op: 'create', step: 'planned', victim: 'secondary' },
  { op: 'create', step: 'prepared', victim: 'home' },
  { op: 'create', step: 'decided', victim: 'secondary' },
  { op: 'create', step: 'decided', victim: 'client' },
  { op: 'create', step: 'replied', victim: 'home' },
  { op: 'link', step: 'planned', victim: 'home' },
  { op: 'link', step: 'prepared', victim: 'secondary' },
  { op: 'link', step: 'decided', victim: 'home' },
  { op: 'link', step: 'resolved', victim: 'follower' },
  { op: 'unlink', step: 'prepared', victim: 'home' },
  { op: 'unlink', step: 'decided', victim: 'home' },
  { op: 'unlink', step: 'decided', victim: 'client' },
  { op: 'unlink', step: 'replied', victim: 'secondary' },
  { op: 'rmdir', step: 'planned', victim: 'follower' },
  { op: 'rmdir', step: 'prepared', victim: 'secondary' },
  { op: 'rmdir', step: 'decided', victim: 'home' },
  { op: 'rmdir', step: 'replied', victim: 'home' },
  { op: 'rmdir-nonempty', step: 'planned', victim: 'home' },
  { op: 'rmdir-nonempty', step: 'planned', victim: 'secondary' },
];

/** Outcomes seen, for the summary printed at the end. */
const outcomes: string[] = [];

describe('cross-copyset operations survive a crash at every step', () => {
  let cluster: TxCluster;
  let verifier: FsClient;

  beforeAll(async () => {
    cluster = await TxCluster.start({ servers: 3, copysets: 4, partitions: 8, tuning: TUNING });
    verifier = cluster.client();
  }, 60_000);

  afterAll(async () => {
    if (process.env.CRASH_SUMMARY !== undefined && outcomes.length > 0) console.log(`crash-steps outcomes:\n${outcomes.join('\n')}`);
    await cluster?.close();
  });

  // A failed case may leave a server down: every case starts with all of them running.
  beforeEach(async () => {
    for (let i = 0; i < cluster.servers.length; i++) if (!cluster.running().includes(i)) await cluster.restartServer(i);
  }, 30_000);

  SCENARIOS.forEach((scenario, index) => {
    const name = `${scenario.op} step=${scenario.step} victim=${scenario.victim}`;
    it(
      name,
      async () => {
        // By position, so that running one case alone (-t) replays the seed it had in the full run.
        const seed = BASE_SEED + index;
        await runCase(cluster, verifier, scenario, seed);
      },
      CASE_TIMEOUT_MS,
    );
  });

  FAULTS.forEach((scenario, index) => {
    it(
      `${scenario.op}: ${scenario.name}`,
      async () => {
        await runFaultCase(cluster, verifier, scenario, BASE_SEED + 100 + index);
      },
      CASE_TIMEOUT_MS,
    );
  });

  it(
    'a secondary leader lost before the prepare (the prepare times out): the tx retries to success or fails cleanly',
    async () => {
      const seed = BASE_SEED + SCENARIOS.length;
      const label = `op=rename step=planned victim=secondary (down past txPrepareTimeoutMs) seed=${seed}`;
      const roles = await placeRoles(cluster, await prepareOpFor(cluster, 'rename', seed), seed);
      const op = roles.op;
      const trap = new StepTrap(cluster, 'planned');
      const client = cluster.client();
      const call = answerOf(op.run(client));
      await trap.wait();
      trap.disarm();
      const victim = cluster.leaderNow(cluster.poolId, op.secondary) === undefined ? roles.secondary : cluster.servers.indexOf(cluster.leaderNow(cluster.poolId, op.secondary)!);
      await cluster.stopServer(victim);
      trap.release();
      // Down longer than the prepare timeout: the first attempt's prepare is given up.
      await sleep(TUNING.txPrepareTimeoutMs + 300);
      await cluster.restartServer(victim);
      const hit = trap.hit!;
      const answer = await resendWhileUnanswered(op, client, await call, hit.txId);
      await checkOutcome(cluster, verifier, op, answer, label);
    },
    CASE_TIMEOUT_MS,
  );

  /**
   * Regression: a server that stops with a TxService call in flight (graceful stop past
   * its grace period: grpc forceShutdown) cancels the call; the client saw gRPC CANCELLED
   * as a final RPC_FAILED and gave up instead of resending the same txId to the new leader
   * (§12) — here after the commit point, for an operation that did commit. CANCELLED from
   * a peer is now retried like UNAVAILABLE.
   */
  it(
    'the client resends a tx call its home leader cancelled by stopping, and gets the committed outcome',
    async () => {
      const seed = BASE_SEED + 501;
      const op = await prepareOpFor(cluster, 'rename', seed);
      await placeRoles(cluster, op, seed);
      const trap = new StepTrap(cluster, 'decided');
      const call = answerOf(op.run(cluster.client()));
      const hit = await trap.wait();
      trap.disarm();
      await cluster.stopServer(hit.server);
      await sleep(DOWN_MS);
      await cluster.restartServer(hit.server);
      const answer = await call;
      try {
        expect(answer, `op=rename step=decided victim=home seed=${seed}: the client's own retry answers OK`).toEqual({ kind: 'ok' });
      } finally {
        await quiesce(cluster, QUIESCE_MS, true);
      }
    },
    CASE_TIMEOUT_MS,
  );

});

describe('regressions that need a fresh cluster (no traffic left from other cases)', () => {
  let cluster: TxCluster;

  beforeAll(async () => {
    cluster = await TxCluster.start({ servers: 3, copysets: 4, partitions: 8, tuning: TUNING });
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  /**
   * Regression: a leader elected after a crash that had served only reads never resolved
   * the intents of the dead coordinator: TxBackground.scan skipped a copyset whose
   * `node.term` was 0 (CopysetNode sets its leader term when it becomes a ready leader,
   * which reads do not do). The scan now makes such a leader ready first.
   * Effects seen in the matrix (op=dir-move step=prepared victim=home, CRASH_SEED=992):
   * the client's resend plans with reads that block on the old attempt's intents (the
   * moved inode's links lock), every attempt times out, the client gets TX_TIMEOUT, and
   * reads of the locked keys answer OVERLOAD until some write reaches those copysets.
   * Here: the home server also leads the destination and moved copysets, it dies at
   * 'prepared', nobody resends, and the intents should go within intentQueryAfterMs plus
   * an election.
   * Its own cluster: on a cluster with history, the recovery scans of other records send
   * Resolve entries to the new leaders, which makes them ready and hides the bug.
   */
  it(
    "a new leader that served only reads resolves a dead coordinator's intents",
    async () => {
      for (let scene = 0; scene < SCENE_TRIES; scene++) {
        const seed = BASE_SEED + 500 + scene;
        const op = await prepareOpFor(cluster, 'rename', seed);
        const home = 0;
        await placeLeaders(cluster, new Map(op.involved.map((c) => [c, home] as const)), 1);
        const trap = new StepTrap(cluster, 'prepared');
        const client = cluster.client();
        void answerOf(op.run(client));
        const hit = await trap.wait();
        trap.disarm();
        client.calls.client.close(); // the client is gone too: nothing resends the tx
        // The scene: one server leads every copyset of the tx when its coordinator dies (a busy machine may move a leader first).
        if (!op.involved.every((c) => cluster.leaderNow(cluster.poolId, c) === cluster.servers[hit.server])) {
          trap.release();
          await quiesce(cluster, QUIESCE_MS, true);
          continue;
        }
        await cluster.stopServer(hit.server);
        await sleep(DOWN_MS);
        await cluster.restartServer(hit.server);
        try {
          await quiesce(cluster, REGRESSION_WAIT_MS, false);
        } catch (error) {
          throw new Error(`seed=${seed}: ${String(error)}\n${await probeIntents(cluster)}`);
        } finally {
          // Leave the cluster clean for whatever runs next.
          await quiesce(cluster, QUIESCE_MS, true);
        }
        return;
      }
      throw new Error(`the scene could not be set in ${SCENE_TRIES} tries (leaders kept moving)`);
    },
    CASE_TIMEOUT_MS,
  );
});

/** A message fault between metaservers (no crash): which calls are lost, and what is done afterwards. */
interface FaultScenario {
  readonly name: string;
  readonly op: OpKind;
  /** Per case: the fate of each Prepare or Resolve, knowing the op's copysets. */
  readonly fate: (op: PreparedOp) => (call: TappedCall) => Fate;
  /** After quiescence, every Prepare of the tx is delivered again (a duplicate delayed past the resolution). */
  readonly duplicatePrepares?: boolean;
}

/** The first call matching `match` gets `fate`; every other is delivered. */
function once(match: (call: TappedCall) => boolean, fate: Fate): (call: TappedCall) => Fate {
  let used = false;
  return (call) => {
    if (used || !match(call)) return 'deliver';
    used = true;
    return fate;
  };
}

const toCopyset = (copysetId: number) => (call: TappedCall) => call.target.copysetId === copysetId;
const isPrepare = (call: TappedCall): boolean => call.method === 'prepare';
const isCommit = (call: TappedCall): boolean => call.method === 'resolve' && call.request.commit;
const isAbort = (call: TappedCall): boolean => call.method === 'resolve' && !call.request.commit;

const FAULTS: readonly FaultScenario[] = [
  { name: 'the Prepare to the destination copyset is lost', op: 'rename', fate: (op) => once((c) => isPrepare(c) && toCopyset(op.secondary)(c), 'lose-request') },
  { name: 'the PREPARED answer of the destination copyset is lost', op: 'rename', fate: (op) => once((c) => isPrepare(c) && toCopyset(op.secondary)(c), 'lose-reply') },
  {
    name: 'a PREPARED answer and the abort that follows are both lost (the old attempt leaves an intent)',
    op: 'rename-over',
    fate: (op) => {
      const prepare = once((c) => isPrepare(c) && toCopyset(op.secondary)(c), 'lose-reply');
      const abort = once((c) => isAbort(c) && toCopyset(op.secondary)(c), 'lose-request');
      return (call) => (isPrepare(call) ? prepare(call) : abort(call));
    },
  },
  { name: 'the commit Resolve to the destination copyset is lost', op: 'rename', fate: (op) => once((c) => isCommit(c) && toCopyset(op.secondary)(c), 'lose-request') },
  { name: "the commit Resolve's answer is lost (it is applied, then sent again)", op: 'link', fate: (op) => once((c) => isCommit(c) && toCopyset(op.secondary)(c), 'lose-reply') },
  { name: 'the anchor Prepare of a directory move is lost', op: 'dir-move', fate: () => once((c) => isPrepare(c) && toCopyset(1)(c), 'lose-request') },
  { name: 'delayed duplicate Prepares after the rename resolved', op: 'rename', fate: () => () => 'deliver', duplicatePrepares: true },
  { name: 'delayed duplicate Prepares after the directory move resolved (the anchor lock too)', op: 'dir-move', fate: () => () => 'deliver', duplicatePrepares: true },
];

async function runFaultCase(cluster: TxCluster, verifier: FsClient, scenario: FaultScenario, seed: number): Promise<void> {
  const op = await prepareOpFor(cluster, scenario.op, seed);
  const roles = await placeRoles(cluster, op, seed);
  const label = `op=${scenario.op} fault="${scenario.name}" seed=${seed} (servers: home ${roles.home}, secondary ${roles.secondary}, follower ${roles.follower})`;
  expect(await op.observe(verifier), `${label}: the state before the call`).toEqual(op.before);
  const tap = new RemoteTap(cluster, scenario.fate(op));
  let answer: Answer;
  try {
    answer = await answerOf(op.run(cluster.client()));
  } finally {
    tap.restore();
  }
  const faults = tap.calls.filter((c) => c.fate !== 'deliver');
  if (scenario.duplicatePrepares !== true) expect(faults.length, `${label}: the fault happened`).toBeGreaterThan(0);
  await checkOutcome(cluster, verifier, op, answer, label);
  if (scenario.duplicatePrepares !== true) return;
  // Late copies of every Prepare the tx sent: each is refused or makes an orphan intent (its stamp is not the record's), which the resolver drops.
  const prepares = tap.calls.map((c) => c.call).filter((c) => c.method === 'prepare');
  expect(prepares.length, `${label}: prepares recorded`).toBeGreaterThan(0);
  const sender = txRemoteOf(cluster.servers[cluster.running()[0]!]!);
  const answers: string[] = [];
  for (const call of prepares) {
    if (call.method !== 'prepare') continue;
    const response = await sender.prepare(call.target, call.request, Date.now() + 5_000).catch((error: unknown) => ({ statusCode: String(error) }));
    answers.push(`copyset ${call.target.copysetId}: ${String(response.statusCode)}`);
  }
  await checkOutcome(cluster, verifier, op, answer, `${label} duplicates=[${answers.join('; ')}]`);
}

async function prepareOpFor(cluster: TxCluster, kind: OpKind, seed: number): Promise<PreparedOp> {
  return prepareOp(cluster, kind, `c${seed}`);
}

interface Roles {
  readonly op: PreparedOp;
  readonly home: number;
  readonly secondary: number;
  readonly follower: number;
}

/**
 * Home leader, secondary leader and a follower on three different servers (a permutation
 * drawn from the seed); the other copysets are led by the home or the secondary server,
 * so the follower leads nothing.
 */
async function placeRoles(cluster: TxCluster, op: PreparedOp, seed: number, anchorApart = false): Promise<Roles> {
  const random = seededRandom(seed);
  const servers = [0, 1, 2];
  for (let k = servers.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [servers[k], servers[j]] = [servers[j]!, servers[k]!];
  }
  const [home, secondary, follower] = servers as [number, number, number];
  const rest = random() < 0.5 ? home : secondary;
  const leaders = new Map([[op.home, home], [op.secondary, secondary]]);
  // The anchor's leader as a victim of its own: on the third server (which then leads the anchor only).
  if (anchorApart) leaders.set(cluster.copysetOfInode(ROOT_INODE_ID), follower);
  await placeLeaders(cluster, leaders, rest);
  return { op, home, secondary, follower };
}

async function runCase(cluster: TxCluster, verifier: FsClient, scenario: Scenario, seed: number): Promise<void> {
  const op = await prepareOpFor(cluster, scenario.op, seed);
  const roles = await placeRoles(cluster, op, seed, scenario.victim === 'anchor');
  const label = `op=${scenario.op} step=${scenario.step} victim=${scenario.victim} seed=${seed} (servers: home ${roles.home}, secondary ${roles.secondary}, ${scenario.victim === 'anchor' ? 'anchor' : 'follower'} ${roles.follower})`;
  expect(await op.observe(verifier), `${label}: the state before the call`).toEqual(op.before);

  const trap = new StepTrap(cluster, scenario.step);
  const client = cluster.client();
  const call = answerOf(op.run(client));
  const hit = await trap.wait().catch((error: unknown) => {
    trap.release();
    throw new Error(`${label}: ${String(error)}`);
  });
  trap.disarm();

  let answer: Answer;
  if (scenario.victim === 'client') {
    // The client dies: its connections close, nothing more is sent; the coordinator goes on alone.
    client.calls.client.close();
    trap.release();
    void call;
    answer = { kind: 'none', why: 'abandoned by the client' };
  } else {
    const victim = victimServer(cluster, scenario.victim, hit.server, op, roles);
    await cluster.stopServer(victim);
    // The home leader stays frozen: it died at this step. Any other victim: the coordinator goes on without it.
    if (scenario.victim !== 'home') trap.release();
    await sleep(DOWN_MS);
    await cluster.restartServer(victim);
    answer = await resendWhileUnanswered(op, client, await call, hit.txId);
  }
  await checkOutcome(cluster, verifier, op, answer, label);
}

/** Resends of one txId while the answer is lost (bounded: each resend rides out an election). */
const MAX_RESENDS = 3;

/**
 * A lost answer is resent with the same txId (§12), as the client library does on a
 * transport error. A server stopped in this process cancels its calls in flight, which
 * the client library reports as a final RPC_FAILED instead of retrying (a killed process
 * resets the connection: UNAVAILABLE, retried); the resend stands in for that retry.
 */
async function resendWhileUnanswered(op: PreparedOp, client: FsClient, first: Answer, txId: TxIdWire): Promise<Answer> {
  let answer = first;
  for (let n = 0; n < MAX_RESENDS && answer.kind === 'none'; n++) {
    answer = await answerOf(op.resend(new FsTxCalls(client.calls, new ReplayedTxId(txId)), client.calls.client.deadline()));
  }
  return answer;
}

/** The server to crash: the coordinator's, the secondary copyset's leader now, or one leading no copyset of the tx. */
function victimServer(cluster: TxCluster, victim: Exclude<Victim, 'client'>, coordinator: number, op: PreparedOp, roles: Roles): number {
  if (victim === 'home') return coordinator;
  if (victim === 'secondary' || victim === 'anchor') {
    const copysetId = victim === 'secondary' ? op.secondary : cluster.copysetOfInode(ROOT_INODE_ID);
    const leader = cluster.leaderNow(cluster.poolId, copysetId);
    return leader === undefined ? (victim === 'secondary' ? roles.secondary : roles.follower) : cluster.servers.indexOf(leader);
  }
  const leaders = new Set(op.involved.map((copysetId) => cluster.leaderNow(cluster.poolId, copysetId)));
  const free = cluster.running().find((i) => !leaders.has(cluster.servers[i]));
  return free ?? roles.follower;
}

/** All-or-nothing against the answer, now and after quiescence; nothing left behind; fsck clean. */
async function checkOutcome(cluster: TxCluster, verifier: FsClient, op: PreparedOp, answer: Answer, label: string): Promise<void> {
  const where = `${label} answer=${JSON.stringify(answer)}`;
  if (op.refused === true && answer.kind !== 'none') expect(answer.kind, `${where}: the operation cannot succeed`).toBe('refused');
  const expectFits = (picture: Picture, moment: string): void => {
    if (answer.kind === 'ok') expect(picture, `${where}: ${moment}: OK, so the new state is fully visible`).toEqual(op.after);
    else if (answer.kind === 'refused') expect(picture, `${where}: ${moment}: refused, so the old state is intact`).toEqual(op.before);
    else expect([op.before, op.after], `${where}: ${moment}: no answer, so the old or the new state, never a mix`).toContainEqual(picture);
  };
  const observe = (moment: string): Promise<Picture> =>
    op.observe(verifier).catch(async (error: unknown) => {
      throw new Error(`${where}: ${moment}: a read failed: ${String(error)}\n${describeTxState(cluster)}\n${await probeIntents(cluster)}`);
    });
  if (WAKE_NEW_LEADERS) await wakeLeaders(cluster);
  // Visible at once: reads after the answer meet the intents and ask their coordinator (§9).
  if (answer.kind !== 'none') expectFits(await observe('right after the answer'), 'right after the answer');
  await quiesce(cluster, QUIESCE_MS, WAKE_NEW_LEADERS).catch(async (error: unknown) => {
    throw new Error(`${where}: ${String(error)}\n${describeTxState(cluster)}\n${await probeIntents(cluster)}`);
  });
  expect(intentsLeft(cluster), `${where}: intents left`).toBe(0);
  const violations = await fsck(cluster, cluster.fsId, { allowRecords: true, quiesceMs: 0 });
  expect(violations, `${where}: fsck\n${formatViolations(violations)}`).toEqual([]);
  const settled = await observe('after quiescence');
  expectFits(settled, 'after quiescence');
  const state = JSON.stringify(settled) === JSON.stringify(op.after) ? 'new' : 'old';
  outcomes.push(`${label}: answer ${JSON.stringify(answer)}, state ${state}`);
}
