/**
 * Tools of the crash-at-every-step tests (docs/transactions.md §18, item 2) over a
 * TxCluster: a trap that freezes the coordinator at one named step of one tx, leadership
 * placement so that the home, secondary and follower roles fall on chosen servers, the
 * wait for quiescence, and outcome classification of a client call.
 */
import { ClientCallError, FsError, MetaClientError } from '../../src/client/index.ts';
import type { TxId } from '../../src/metastore/tx-records.ts';
import type { TxPrepareRequest, TxResolveRequest, TxResolveResponse } from '../../src/proto/metaraft-tx-types.ts';
import type { MetaServer } from '../../src/server/meta-server.ts';
import type { TxStep } from '../../src/tx/tx-manager.ts';
import { TxRemoteError, type CopysetAddress, type TxPrepareAnswer, type TxRemote } from '../../src/tx/tx-remote.ts';
import { sleep, waitFor } from '../service/harness.ts';
import type { TxCluster } from './tx-cluster.ts';
import { mulberry32 } from '../../src/testing/random.ts';

/** How long a trap waits for its step to be reached by the tx under test. */
export const TRAP_WAIT_MS = 20_000;
/** How long a leadership transfer may take (an election on a busy two-core machine). */
const TRANSFER_WAIT_MS = 10_000;
/** Transfers are re-asked this often while the copyset has not moved (a transfer may be dropped). */
const TRANSFER_RETRY_MS = 300;

/** Where the trap fired: the server whose coordinator reached the step, and the tx. */
export interface TrapHit {
  readonly server: number;
  readonly txId: TxId;
}

/**
 * Freezes the first coordinator that reaches `step` (on any server armed) until
 * {@link StepTrap.release}: the attempt awaits the hook, so a gate that is never opened
 * is a coordinator that died at that step. Fires once; later steps pass through.
 */
export class StepTrap {
  private hitNow: TrapHit | undefined;
  private openGate!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));
  private onHit!: (hit: TrapHit) => void;
  /** Resolves with the first hit. */
  readonly reached: Promise<TrapHit> = new Promise((resolve) => (this.onHit = resolve));

  constructor(
    private readonly cluster: TxCluster,
    readonly step: TxStep,
  ) {
    for (const i of cluster.running()) this.armServer(i);
  }

  get hit(): TrapHit | undefined {
    return this.hitNow;
  }

  /** Waits for the step to be reached (throws after `timeoutMs`: the tx never got there). */
  async wait(timeoutMs = TRAP_WAIT_MS): Promise<TrapHit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`step ${this.step} not reached within ${timeoutMs} ms`)), timeoutMs)));
    try {
      return await Promise.race([this.reached, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets the frozen coordinator go on (a crash victim other than itself was chosen). */
  release(): void {
    this.openGate();
  }

  /** Removes the hook from every running server (the frozen coordinator, if any, stays frozen until release). */
  disarm(): void {
    for (const i of this.cluster.running()) {
      const manager = this.cluster.servers[i]!.tx;
      if (manager !== undefined) manager.onStep = undefined;
    }
  }

  private armServer(i: number): void {
    const manager = this.cluster.servers[i]!.tx;
    if (manager === undefined) throw new Error(`server ${i} has no transaction layer`);
    manager.onStep = (step, txId) => {
      if (step !== this.step || this.hitNow !== undefined) return;
      this.hitNow = { server: i, txId };
      this.onHit(this.hitNow);
      return this.gate;
    };
  }
}

/** Makes server `target` the leader of the copyset (transfers, re-asked until it holds). */
export async function moveLeader(cluster: TxCluster, copysetId: number, target: number): Promise<void> {
  const wanted = cluster.servers[target]!;
  const deadline = Date.now() + TRANSFER_WAIT_MS;
  for (;;) {
    const leader = await cluster.leaderOf(cluster.poolId, copysetId);
    const node = leader.copysetOf(cluster.poolId, copysetId)!;
    if (leader === wanted && (await node.confirmedLeaderTerm().then((c) => !('statusCode' in c)))) return;
    if (Date.now() > deadline) throw new Error(`copyset ${copysetId}: leadership did not move to server ${target} within ${TRANSFER_WAIT_MS} ms`);
    if (leader !== wanted) {
      try {
        leader.host.transferLeadership(node.groupId, wanted.nodeId);
      } catch {
        // not the leader any more, or a transfer in progress: look again
      }
    }
    await sleep(TRANSFER_RETRY_MS);
  }
}

/** Gives every copyset a leader: `leaders` maps copyset → server; the others go to `rest`. */
export async function placeLeaders(cluster: TxCluster, leaders: ReadonlyMap<number, number>, rest: number): Promise<void> {
  for (const copysetId of cluster.copysetIds) await moveLeader(cluster, copysetId, leaders.get(copysetId) ?? rest);
}

/**
 * Makes every copyset's current leader a ready leader (CopysetNode.confirmedLeaderTerm),
 * as any write reaching it would (optional: the background scan makes a new leader with
 * intents ready by itself; see the regression test in crash-steps.test.ts).
 */
export async function wakeLeaders(cluster: TxCluster): Promise<void> {
  await Promise.all(cluster.copysetIds.map((copysetId) => cluster.leaderNow(cluster.poolId, copysetId)?.copysetOf(cluster.poolId, copysetId)?.confirmedLeaderTerm()));
}

/** Intents held by any running replica of any copyset. */
export function intentsLeft(cluster: TxCluster): number {
  let count = 0;
  for (const copysetId of cluster.copysetIds) {
    for (const { store } of cluster.replicaStores(cluster.poolId, copysetId)) count += store.tx.intentCount;
  }
  return count;
}

/** Live coordinator tasks on the running servers. */
export function tasksLeft(cluster: TxCluster): number {
  return cluster.running().reduce((sum, i) => sum + (cluster.servers[i]!.tx?.taskCount ?? 0), 0);
}

/**
 * Waits until no replica holds an intent and no running server a task, running the
 * resolver and recovery scans on every running server as it polls (they also run on
 * their own timers).
 */
export async function quiesce(cluster: TxCluster, timeoutMs: number, wake = false): Promise<void> {
  await waitFor(
    async () => {
      if (wake) await wakeLeaders(cluster);
      await Promise.all(cluster.running().map((i) => cluster.servers[i]!.txBackground?.scan()));
      return intentsLeft(cluster) === 0 && tasksLeft(cluster) === 0;
    },
    `no intents and no tasks (intents ${intentsLeft(cluster)}, tasks ${tasksLeft(cluster)})`,
    timeoutMs,
  );
}

/** Intents, records and tasks of every running replica, one line each (failure messages). */
export function describeTxState(cluster: TxCluster): string {
  const lines: string[] = [];
  for (const copysetId of cluster.copysetIds) {
    for (const { server, store } of cluster.replicaStores(cluster.poolId, copysetId)) {
      const leads = cluster.servers[server]!.copysetOf(cluster.poolId, copysetId)?.isLeader() === true ? ' (leader)' : '';
      for (const { partitionId, intent, locks } of store.tx.intents()) {
        lines.push(`copyset ${copysetId} server ${server}${leads}: intent tx ${intent.txId.clientId}/${intent.txId.seq} partition ${partitionId} attempt ${intent.attempt.join('.')} stamp ${intent.stamp} coordinator copyset ${intent.coordinator.copysetId} locks ${locks.join(' ')}`);
      }
      for (const { record } of store.tx.records()) {
        lines.push(`copyset ${copysetId} server ${server}${leads}: record tx ${record.txId.clientId}/${record.txId.seq} attempt ${record.attempt.join('.')} participants ${record.participants.map((p) => `${p.copysetId}@${p.stamp}`).join(',')}`);
      }
    }
  }
  for (const i of cluster.running()) lines.push(`server ${i}: ${cluster.servers[i]!.tx?.taskCount ?? 0} task(s)`);
  return lines.join('\n');
}

/**
 * For every intent on a copyset leader: what its coordinator answers to Status now, and
 * the term the leader is ready in (0: its background scan skips it), for failure
 * messages: why an intent stays.
 */
export async function probeIntents(cluster: TxCluster): Promise<string> {
  const lines: string[] = [];
  for (const copysetId of cluster.copysetIds) {
    const leader = cluster.leaderNow(cluster.poolId, copysetId);
    if (leader === undefined) continue;
    const node = leader.copysetOf(cluster.poolId, copysetId)!;
    const store = node.store;
    for (const { intent } of store.tx.intents()) {
      const c = intent.coordinator;
      const state = await txRemoteOf(leader)
        .status(
          { poolId: c.poolId, copysetId: c.copysetId, peers: c.peers },
          { poolId: c.poolId, copysetId: c.copysetId, partitionId: c.partitionId, txId: intent.txId, stamp: intent.stamp, attemptTerm: intent.attempt[0], attemptN: intent.attempt[1], askerPoolId: cluster.poolId, askerCopysetId: copysetId },
          Date.now() + 2_000,
        )
        .then((r) => `status ${r.statusCode} state ${String(r.state)}`, (error: unknown) => `status failed: ${String(error)}`);
      lines.push(`copyset ${copysetId} intent tx ${intent.txId.clientId}/${intent.txId.seq} stamp ${intent.stamp}: coordinator copyset ${c.copysetId} answers ${state}; leader ready in term ${node.term}`);
    }
  }
  return lines.join('\n');
}

/** What the client learned from a call (docs/transactions.md §18: all-or-nothing against it). */
export type Answer = { readonly kind: 'ok' } | { readonly kind: 'refused'; readonly code: string } | { readonly kind: 'none'; readonly why: string };

/**
 * OK; a definite refusal (the metaserver answered a status, MetaClientError, or the
 * client turned one into an FsError, e.g. NOT_EMPTY); or no
 * answer (deadline, closed client, transport failure: the outcome is unknown).
 */
export async function answerOf(call: Promise<unknown>): Promise<Answer> {
  try {
    await call;
    return { kind: 'ok' };
  } catch (error) {
    if (error instanceof MetaClientError || error instanceof FsError) return { kind: 'refused', code: error.code };
    if (error instanceof ClientCallError) return { kind: 'none', why: `${error.code}: ${error.message}` };
    return { kind: 'none', why: String(error) };
  }
}

/** A small seeded generator: the seed printed with a case replays its choices. */
export const seededRandom = mulberry32;

// ---------------------------------------------------------------------------------------
// Message faults between metaservers

/** A Prepare or Resolve one metaserver sends another, as the tap sees it. */
export type TappedCall =
  | { readonly method: 'prepare'; readonly from: number; readonly target: CopysetAddress; readonly request: TxPrepareRequest }
  | { readonly method: 'resolve'; readonly from: number; readonly target: CopysetAddress; readonly request: TxResolveRequest };

/** What happens to a tapped call: delivered, lost on the way (never arrives), or its answer lost. */
export type Fate = 'deliver' | 'lose-request' | 'lose-reply';

/**
 * The TxRemote a MetaServer's transaction layer calls other copysets through. MetaServer
 * does not expose it: the tests reach into its private transaction layer (the one place
 * these tests depend on MetaServer's inside).
 */
export function txRemoteOf(server: MetaServer): TxRemote {
  const layer = (server as unknown as { txLayer: { remote: TxRemote } | null }).txLayer;
  if (layer === null) throw new Error('the server has no transaction layer (not started)');
  return layer.remote;
}

/**
 * Intercepts the Prepare and Resolve calls of every running server's remote: `fate`
 * decides per call. A lost message makes the caller wait until its deadline and fail as
 * a remote that reached no leader does (TxRemoteError): a lost request never arrives, a
 * lost reply arrives and is applied but its answer is dropped. Every call is recorded.
 */
export class RemoteTap {
  readonly calls: { readonly call: TappedCall; readonly fate: Fate }[] = [];
  private readonly tapped: TxRemote[] = [];

  constructor(
    cluster: TxCluster,
    private readonly fate: (call: TappedCall) => Fate,
  ) {
    for (const i of cluster.running()) this.tap(txRemoteOf(cluster.servers[i]!), i);
  }

  /** Puts the remotes back (calls in flight finish as decided). */
  restore(): void {
    for (const remote of this.tapped) {
      delete (remote as Partial<Record<'prepare' | 'resolve', unknown>>).prepare;
      delete (remote as Partial<Record<'prepare' | 'resolve', unknown>>).resolve;
    }
    this.tapped.length = 0;
  }

  private tap(remote: TxRemote, from: number): void {
    const prepare = remote.prepare.bind(remote);
    const resolve = remote.resolve.bind(remote);
    // Own properties shadow the class's methods; restore() deletes them.
    Object.assign(remote, {
      prepare: (target: CopysetAddress, request: TxPrepareRequest, deadlineMs: number): Promise<TxPrepareAnswer> =>
        this.deliver({ method: 'prepare', from, target, request }, deadlineMs, () => prepare(target, request, deadlineMs)),
      resolve: (target: CopysetAddress, request: TxResolveRequest, deadlineMs: number): Promise<TxResolveResponse> =>
        this.deliver({ method: 'resolve', from, target, request }, deadlineMs, () => resolve(target, request, deadlineMs)),
    });
    this.tapped.push(remote);
  }

  private async deliver<R>(call: TappedCall, deadlineMs: number, send: () => Promise<R>): Promise<R> {
    const fate = this.fate(call);
    this.calls.push({ call, fate });
    if (fate === 'deliver') return send();
    if (fate === 'lose-reply') await send().catch(() => undefined);
    await sleep(Math.max(0, deadlineMs - Date.now()));
    throw new TxRemoteError('DEADLINE_EXCEEDED', `${call.method} to copyset ${call.target.copysetId}: ${fate} (test fault)`);
  }
}
