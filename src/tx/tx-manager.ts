/**
 * The transaction layer of one metaserver (docs/transactions.md): it serves
 * `metaraft.tx.TxService` for every copyset this process leads.
 *
 * - As coordinator (home leader): a task per tx drives attempts — plan, prepare every
 *   secondary, decide in one entry of the home log (the commit point), reply, then
 *   resolve the secondaries in the background. Tasks live in leader memory only.
 * - As secondary: Prepare and Resolve entries (executor/tx-calls.ts).
 * - Status: how a tx ended, answered by a confirmed, ready home leader from its applied
 *   records and its live tasks (§9 table).
 * - Background (tx-background.ts): the resolver asks about old intents; the home leader
 *   re-sends Resolve for records and forgets finished ones.
 *
 * No decision depends on a clock: timeouts only decide when to ask or give up an attempt.
 */
import { txDecide, txPrepare, txResolve } from '../executor/tx-calls.ts';
import { MetaStatusCode } from '../executor/status.ts';
import { answer } from '../executor/call-context.ts';
import { NEW_INODE, TxFormatError, compareAttempts, decodePart, deltaLock, encodeTx, isDirmoveLockOnly, linksLock, nameLock, sealLock, txIdKey } from '../metastore/tx-records.ts';
import type { Attempt, TxEffect, TxId, TxParticipant, TxPart, TxRecord } from '../metastore/tx-records.ts';
import { FsFileType, ROOT_INODE_ID } from '../metastore/types.ts';
import type { Dentry, Inode, Time } from '../metastore/types.ts';
import type {
  TxCreateRequest,
  TxLinkRequest,
  TxPrepareRequest,
  TxPrepareResponse,
  TxRenameRequest,
  TxReply,
  TxResolveRequest,
  TxResolveResponse,
  TxRoute,
  TxStatusRequest,
  TxStatusResponse,
  TxUnlinkRequest,
} from '../proto/metaraft-tx-types.ts';
import { TxState } from '../proto/metaraft-tx-types.ts';
import { mayHaveBeenProposed } from '../server/copyset-node.ts';
import type { CopysetNode } from '../server/copyset-node.ts';
import type { TxHandlers } from '../service/tx-service.ts';
import { crc32c } from '../storage/checksum.ts';
import { MAX_TX_ANCESTRY, RouteTable, addressOf, groupKeyOf, partOf, planCreate, planLink, planRename, planUnlink } from './tx-planner.ts';
import type { PlanReader, PlanResult } from './tx-planner.ts';
import { AnchorQueue } from './anchor-queue.ts';
import { isWellFormedCreate, isWellFormedLink, isWellFormedRename, isWellFormedUnlink } from './tx-request-checks.ts';
import { LocalFirstRemote } from './local-first-remote.ts';
import type { CopysetAddress, TxPrepareAnswer, TxRemote } from './tx-remote.ts';

export interface TxTimings {
  /** How long a task waits for PREPARED answers before it gives the attempt up. */
  readonly prepareTimeoutMs: number;
  /** How long conflicts are retried (new attempts) before the client gets TX_KEY_LOCKED. */
  readonly retryBudgetMs: number;
  /** A secondary leader asks the coordinator about an intent this old (from when it first saw it). */
  readonly intentQueryAfterMs: number;
  /** ... or this old when a request waits on it. */
  readonly blockedQueryAfterMs: number;
  /** The resolver's and the home leader's scan period. */
  readonly scanMs: number;
  /** Records the client never acknowledged are forgotten this long after the decision. */
  readonly outcomeRetentionMs: number;
}

export const DEFAULT_TX_TIMINGS: TxTimings = {
  prepareTimeoutMs: 5_000,
  retryBudgetMs: 10_000,
  intentQueryAfterMs: 1_000,
  blockedQueryAfterMs: 100,
  scanMs: 200,
  outcomeRetentionMs: 120_000,
};

/** First and largest back-off between attempts of one tx (randomized, doubling). */
const BACKOFF_FIRST_MS = 10;
const BACKOFF_MAX_MS = 500;
/**
 * How long a directory move's lock-only prepare waits for its turn in the anchor's queue.
 * With the head's own wait for the holder (at most LOCK_WAIT_BUDGET_MS, rarely more than
 * one Raft round) it stays within the coordinator's prepare deadline (5 s).
 */
const ANCHOR_QUEUE_WAIT_MS = 1_500;
/** Deadline of one Resolve or Status call. */
const SHORT_CALL_MS = 2_000;
/** How often a task whose decision's outcome is unknown looks for its record. */
const UNKNOWN_OUTCOME_POLL_MS = 50;

export interface TxManagerOptions {
  /** The copyset (poolId, copysetId) if this process hosts it. */
  readonly copyset: (poolId: number, copysetId: number) => CopysetNode | undefined;
  readonly remote: TxRemote;
  /** The leader's clock for the tx time when the request carries none. */
  readonly clock: () => Time;
  readonly random?: () => number;
  readonly timings?: Partial<TxTimings>;
  /** Named protocol steps, for tests that crash a participant at each (§18). */
  readonly onStep?: StepHook;
}

/** Called at each named step of a coordinator's attempt; the attempt waits for it. */
export type StepHook = (step: TxStep, txId: TxId) => void | Promise<void>;

export type TxStep = 'planned' | 'anchor-prepared' | 'walk-done' | 'prepared' | 'decided' | 'replied' | 'resolved';

type Reply = { statusCode: MetaStatusCode; inode?: Inode };

interface Task {
  attempt: Attempt;
  readonly term: number;
  readonly done: Promise<Reply>;
}

/** A client request as the driver needs it, whatever its kind. */
interface TxCall {
  readonly kind: 'rename' | 'link' | 'create' | 'unlink';
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly txId: TxId;
  readonly homePartitionId: number;
  readonly routes: readonly TxRoute[];
  readonly time: Time | undefined;
  readonly ackedBelow: number | undefined;
  readonly digest: string;
  readonly plan: (reader: PlanReader, routes: RouteTable, home: CopysetAddress) => Promise<PlanResult>;
}

/** What the coordinator did, for status, tests and benchmarks. */
export interface TxStats {
  /** Attempts started (a tx takes one or more). */
  attempts: number;
  commits: number;
  /** Attempts given up for a status a new attempt may cure, by status code. */
  retries: Record<number, number>;
  /** Txs answered with a final refusal (POSIX or budget spent). */
  refusals: number;
}

export class TxManager implements TxHandlers {
  readonly timings: TxTimings;
  readonly stats: TxStats = { attempts: 0, commits: 0, retries: {}, refusals: 0 };
  private readonly tasks = new Map<string, Task>();
  private readonly anchorQueue = new AnchorQueue();
  private attemptCounter = 0;
  /**
   * Per client: every seq below `below` was answered (from ackedBelow), and when that was
   * last heard. Pruned by `pruneAcks`: clients come and go, this map must not grow for ever.
   */
  private readonly acks = new Map<number, { below: number; atMs: number }>();
  private readonly random: () => number;
  private closed = false;
  /** Named protocol steps, for tests that crash a participant at each (§18); settable on a running server. */
  onStep: StepHook | undefined;

  /** Every seq of `clientId` below the returned one was answered to the client. */
  ackedBelow(clientId: number): number {
    return this.acks.get(clientId)?.below ?? 0;
  }

  noteAcked(clientId: number, below: number, nowMs: number): void {
    const known = this.acks.get(clientId);
    this.acks.set(clientId, { below: Math.max(below, known?.below ?? 0), atMs: nowMs });
  }

  /**
   * Forgets clients not heard from for the outcome retention: every record an old ack
   * covers was decided before it was heard, so it has expired by now and goes anyway.
   */
  pruneAcks(nowMs: number): void {
    for (const [clientId, ack] of this.acks) if (nowMs - ack.atMs >= this.timings.outcomeRetentionMs) this.acks.delete(clientId);
  }

  /** Clients whose acks are remembered. */
  get ackedClients(): number {
    return this.acks.size;
  }

  /** Calls to other copysets: in process when this server leads the target, else over the network. */
  readonly remote: TxRemote;

  constructor(private readonly options: TxManagerOptions) {
    this.remote = new LocalFirstRemote(options.remote, options.copyset, this);
    this.timings = { ...DEFAULT_TX_TIMINGS, ...options.timings };
    this.random = options.random ?? Math.random;
    this.onStep = options.onStep;
  }

  close(): void {
    this.closed = true;
  }

  /** Live tasks (tests, status). */
  get taskCount(): number {
    return this.tasks.size;
  }

  // ------------------------------------------------------------------ client calls

  rename(request: TxRenameRequest): Promise<TxReply> {
    if (!isWellFormedRename(request)) return malformed();
    return this.run({
      ...common(request, 'rename', request.src.partitionId),
      plan: (reader, routes, home) =>
        planRename(reader, routes, home, {
          fsId: request.fsId,
          src: { partitionId: request.src.partitionId, parentInodeId: request.src.parentInodeId, name: request.src.name },
          dst: { partitionId: request.dst.partitionId, parentInodeId: request.dst.parentInodeId, name: request.dst.name },
        }),
    });
  }

  link(request: TxLinkRequest): Promise<TxReply> {
    if (!isWellFormedLink(request)) return malformed();
    return this.run({
      ...common(request, 'link', request.dst.partitionId),
      plan: (reader, routes, home) => planLink(reader, routes, home, { inodeId: request.inodeId, dst: { ...request.dst } }),
    });
  }

  create(request: TxCreateRequest): Promise<TxReply> {
    if (!isWellFormedCreate(request)) return malformed();
    const spec = {
      type: request.type,
      mode: request.mode,
      uid: request.uid,
      gid: request.gid,
      length: request.length ?? (request.symlink === undefined ? 0 : Buffer.byteLength(request.symlink)),
      parent: request.dst.parentInodeId,
      ...(request.rdev === undefined ? {} : { rdev: request.rdev }),
      ...(request.symlink === undefined ? {} : { symlink: request.symlink }),
    };
    if (request.type === FsFileType.TYPE_SYM_LINK && (request.symlink === undefined || request.symlink === '')) return Promise.resolve({ statusCode: MetaStatusCode.SYM_LINK_EMPTY });
    return this.run({
      ...common(request, 'create', request.dst.partitionId),
      plan: (reader, routes, home) => planCreate(reader, routes, home, { dst: { ...request.dst }, inodePartitionId: request.inodePartitionId, spec }),
    });
  }

  unlink(request: TxUnlinkRequest): Promise<TxReply> {
    if (!isWellFormedUnlink(request)) return malformed();
    return this.run({
      ...common(request, 'unlink', request.name.partitionId),
      plan: (reader, routes, home) => planUnlink(reader, routes, home, { name: { ...request.name }, directory: request.directory }),
    });
  }

  // ------------------------------------------------------------------ internal calls

  async prepare(request: TxPrepareRequest): Promise<TxPrepareResponse> {
    const node = this.options.copyset(request.poolId, request.copysetId);
    if (node === undefined) return { statusCode: MetaStatusCode.COPYSET_NOTEXIST };
    let part: TxPart;
    try {
      part = decodePart(request.part);
    } catch (error) {
      if (error instanceof TxFormatError) return { statusCode: MetaStatusCode.PARAM_ERROR };
      throw error;
    }
    const coordinator = { poolId: request.coordinator.poolId, copysetId: request.coordinator.copysetId, partitionId: request.coordinator.partitionId, peers: [...request.coordinator.peers] };
    const prepareNow = () =>
      node.call((context, slot) => txPrepare(context, { txId: txIdOf(request.txId), attempt: [request.attemptTerm, request.attemptN], stamp: slot.index, coordinator, fsId: request.fsId, part }));
    // §8: directory moves take the anchor's dirmove lock in arrival order (anchor-queue.ts).
    const response = isDirmoveLockOnly(part)
      ? await this.anchorQueue.run(`${node.groupId}|${request.fsId}`, ANCHOR_QUEUE_WAIT_MS, prepareNow, () => ({ statusCode: MetaStatusCode.OVERLOAD }))
      : await prepareNow();
    // The inode goes out in the executor's shape; the service turns it into the wire's.
    return { statusCode: response.statusCode, ...(response.stamp === undefined ? {} : { stamp: response.stamp }), ...(response.inode === undefined ? {} : { inode: response.inode }), appliedIndex: response.appliedIndex ?? 0 } as unknown as TxPrepareResponse;
  }

  async resolve(request: TxResolveRequest): Promise<TxResolveResponse> {
    const node = this.options.copyset(request.poolId, request.copysetId);
    if (node === undefined) return { statusCode: MetaStatusCode.COPYSET_NOTEXIST };
    const attempt: Attempt | undefined = request.attemptTerm === undefined || request.attemptN === undefined ? undefined : [request.attemptTerm, request.attemptN];
    const response = await node.call((context) => txResolve(context, { txId: txIdOf(request.txId), commit: request.commit, stamp: request.stamp ?? undefined, attempt }));
    return { statusCode: response.statusCode, appliedIndex: response.appliedIndex ?? 0 };
  }

  async status(request: TxStatusRequest): Promise<TxStatusResponse> {
    const node = this.options.copyset(request.poolId, request.copysetId);
    if (node === undefined) return { statusCode: MetaStatusCode.COPYSET_NOTEXIST };
    const confirmed = await node.confirmedLeaderTerm();
    if ('statusCode' in confirmed) return { statusCode: confirmed.statusCode };
    const state = this.outcomeOf(node, confirmed.term, txIdOf(request.txId), groupKeyOf(request.askerPoolId, request.askerCopysetId), request.stamp, [request.attemptTerm, request.attemptN]);
    return { statusCode: MetaStatusCode.OK, state };
  }

  /**
   * §9's table, from the applied records (the leader is confirmed and has applied every
   * entry of earlier terms) and the live tasks of this term.
   */
  private outcomeOf(node: CopysetNode, term: number, txId: TxId, asker: string, stamp: number, attempt: Attempt): TxState {
    const key = txIdKey(txId);
    const recorded = node.store.tx.record(key);
    if (recorded !== undefined) {
      const bound = recorded.record.participants.find((p) => groupKeyOf(p.poolId, p.copysetId) === asker);
      return bound !== undefined && bound.stamp === stamp ? TxState.COMMITTED : TxState.ABORTED;
    }
    const task = this.tasks.get(key);
    if (task !== undefined && task.term === term && compareAttempts(task.attempt, attempt) === 0) return TxState.IN_PROGRESS;
    return TxState.ABORTED;
  }

  // ------------------------------------------------------------------ the coordinator

  private async run(call: TxCall): Promise<TxReply> {
    return (await this.runCall(call)) as unknown as TxReply;
  }

  private async runCall(call: TxCall): Promise<Reply> {
    const node = this.options.copyset(call.poolId, call.copysetId);
    if (node === undefined) return { statusCode: MetaStatusCode.COPYSET_NOTEXIST };
    this.notePeers(call.routes);
    // Ready (every earlier entry applied: a committed record is visible) is enough here: a
    // deposed leader's new attempt cannot commit, and its client retries at the real leader.
    const confirmed = await node.readyLeaderTerm();
    if ('statusCode' in confirmed) return { statusCode: confirmed.statusCode };
    if (call.ackedBelow !== undefined) this.noteAcked(call.txId.clientId, call.ackedBelow, Date.now());
    const key = txIdKey(call.txId);
    const live = this.tasks.get(key);
    if (live !== undefined && live.term === confirmed.term) return live.done;
    // Applied records only: a decision proposed and not committed is its task's to answer.
    const recorded = node.store.tx.record(key);
    if (recorded !== undefined) {
      if (recorded.record.digest !== call.digest) return { statusCode: MetaStatusCode.PARAM_ERROR };
      return { ...recorded.record.reply, statusCode: recorded.record.reply.statusCode as MetaStatusCode };
    }
    let resolveDone!: (reply: Reply) => void;
    const task: Task = { attempt: [confirmed.term, 0], term: confirmed.term, done: new Promise((resolve) => (resolveDone = resolve)) };
    this.tasks.set(key, task);
    let reply: Reply;
    try {
      reply = await this.drive(call, node, task);
    } catch (error) {
      reply = { statusCode: MetaStatusCode.UNKNOWN_ERROR };
      resolveDone(reply);
      if (this.tasks.get(key) === task) this.tasks.delete(key);
      throw error;
    }
    if (this.tasks.get(key) === task) this.tasks.delete(key);
    resolveDone(reply);
    if (reply.statusCode === MetaStatusCode.OK) await this.step('replied', call.txId);
    return reply;
  }

  /** Attempts until one commits, a final answer is known, or the retry budget is spent. */
  private async drive(call: TxCall, node: CopysetNode, task: Task): Promise<Reply> {
    const started = Date.now();
    let backoff = BACKOFF_FIRST_MS;
    let lastRetry: MetaStatusCode | undefined;
    for (;;) {
      if (this.closed || node.term !== task.term) return { statusCode: MetaStatusCode.REDIRECTED };
      task.attempt = [task.term, ++this.attemptCounter];
      this.stats.attempts++;
      const outcome = await this.attempt(call, node, task, lastRetry !== MetaStatusCode.TX_MISMATCH);
      if (outcome.kind === 'reply') {
        if (outcome.reply.statusCode === MetaStatusCode.OK && outcome.committed) {
          this.stats.commits++;
          return outcome.reply;
        }
        // Computed from the leader view (the plan's home reads): answered only once what it
        // read is committed; a leader that lost its term meanwhile sends the client elsewhere.
        if (!(await node.settled(task.term))) return { statusCode: MetaStatusCode.REDIRECTED };
        if (outcome.reply.statusCode !== MetaStatusCode.OK) this.stats.refusals++;
        return outcome.reply;
      }
      this.stats.retries[outcome.statusCode] = (this.stats.retries[outcome.statusCode] ?? 0) + 1;
      lastRetry = outcome.statusCode;
      if (Date.now() - started >= this.timings.retryBudgetMs) {
        this.stats.refusals++;
        return { statusCode: outcome.statusCode };
      }
      await sleep(backoff * (0.5 + this.random()));
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    }
  }

  private async attempt(call: TxCall, node: CopysetNode, task: Task, guess: boolean): Promise<{ kind: 'reply'; reply: Reply; committed?: boolean } | { kind: 'retry'; statusCode: MetaStatusCode }> {
    const routes = new RouteTable(call.routes);
    const homeRoute = routes.partition(call.homePartitionId);
    if (homeRoute === undefined || homeRoute.poolId !== call.poolId || homeRoute.copysetId !== call.copysetId) return final(MetaStatusCode.TX_MISMATCH);
    const homeKey = groupKeyOf(call.poolId, call.copysetId);
    const deadline = Date.now() + this.timings.prepareTimeoutMs;
    const planned = await call.plan(this.reader(node, homeKey, call.fsId, deadline, guess, txIdKey(call.txId)), routes, addressOf(homeRoute));
    if (planned.kind === 'reply') return final(planned.statusCode);
    if (planned.kind === 'retry') return { kind: 'retry', statusCode: planned.statusCode };
    const plan = planned.plan;
    await this.step('planned', call.txId);
    const time = call.time ?? this.options.clock();
    let attempt = task.attempt;
    const coordinator: TxRoute = homeRoute;
    const sent: CopysetAddress[] = [];
    const stamps = new Map<string, { stamp: number; address: CopysetAddress }>();
    const abort = (statusCode: MetaStatusCode, retry: boolean) => {
      this.abortAll(sent, call.txId, attempt);
      return retry ? { kind: 'retry' as const, statusCode } : final(statusCode);
    };
    const prepareOne = async (groupKey: string, address: CopysetAddress, part: TxPart): Promise<TxPrepareAnswer> => {
      sent.push(address);
      try {
        const response = await this.remote.prepare(
          address,
          { poolId: address.poolId, copysetId: address.copysetId, txId: call.txId, attemptTerm: attempt[0], attemptN: attempt[1], coordinator, fsId: call.fsId, part: encodeTx(part) },
          deadline,
        );
        if (response.statusCode === MetaStatusCode.OK && response.stamp !== undefined) stamps.set(groupKey, { stamp: response.stamp, address });
        return response;
      } catch {
        return { statusCode: MetaStatusCode.TX_TIMEOUT };
      }
    };

    // §8: a directory moving to another parent holds the fs-wide lock, then walks up from its
    // new parent. The lock's intent holds nothing else while the walk reads (the walk must not
    // wait on this tx's own locks); when the anchor also has keys of the tx, its full part is
    // prepared afterwards under a later attempt, which replaces the lock's intent in one entry
    // (a group holds one intent per tx) and keeps the lock.
    let anchorKey: string | undefined;
    if (plan.dirMove !== undefined) {
      anchorKey = groupKeyOf(plan.dirMove.anchor.poolId, plan.dirMove.anchor.copysetId);
      const locked = await prepareOne(anchorKey, plan.dirMove.anchor, { time, conditions: [{ c: 'dirmove', fsId: call.fsId }], effects: [] });
      if (locked.statusCode !== MetaStatusCode.OK) return abort(retryable(locked.statusCode) ? locked.statusCode : MetaStatusCode.TX_FAILED, retryable(locked.statusCode));
      await this.step('anchor-prepared', call.txId);
      const walked = await this.walkAncestors(node, homeKey, routes, call.fsId, plan.dirMove.from, plan.dirMove.movedId, deadline, txIdKey(call.txId));
      if (walked !== MetaStatusCode.OK) return abort(walked, retryable(walked));
      await this.step('walk-done', call.txId);
      if (anchorKey !== homeKey && plan.parts.has(anchorKey)) {
        attempt = task.attempt = [task.term, ++this.attemptCounter];
        const shared = plan.parts.get(anchorKey)!;
        plan.parts.set(anchorKey, { ...shared, conditions: [{ c: 'dirmove', fsId: call.fsId }, ...shared.conditions] });
        anchorKey = undefined; // prepared with the other secondaries below
      }
    }

    const homePlanned = plan.parts.get(homeKey)!;
    const secondaries = [...plan.parts].filter(([key]) => key !== homeKey && key !== anchorKey);
    let createdInode: Inode | undefined;
    // A create whose inode is elsewhere prepares that group first: its id fills the home dentry.
    const answers = await Promise.all(
      secondaries.map(async ([key, planned]) => {
        const response = await prepareOne(key, planned.address, partOf(planned, time));
        if (key === plan.createdBy && response.inode !== undefined) createdInode = response.inode;
        return response;
      }),
    );
    for (const response of answers) {
      if (response.statusCode !== MetaStatusCode.OK) return abort(response.statusCode, retryable(response.statusCode));
    }
    if (plan.createdBy !== undefined && createdInode === undefined) return abort(MetaStatusCode.TX_FAILED, false);
    await this.step('prepared', call.txId);

    const participants: TxParticipant[] = [...stamps.values()].map(({ stamp, address }) => ({ poolId: address.poolId, copysetId: address.copysetId, stamp, peers: [...address.peers] }));
    const homePart = withCreatedInode(partOf(homePlanned, time), createdInode);
    const record: TxRecord = {
      v: 1,
      txId: call.txId,
      attempt,
      kind: plan.kind,
      decidedAtMs: Date.now(),
      digest: call.digest,
      participants,
      reply: { statusCode: MetaStatusCode.OK, ...(createdInode === undefined ? {} : { inode: createdInode }) },
    };
    if (this.closed || node.term !== task.term) return abort(MetaStatusCode.REDIRECTED, false);
    const decided = await node.call((context, slot) =>
      // A task decides only in the term it started in: a Status answered in a later term says ABORTED (§13).
      slot.term !== task.term
        ? answer({ statusCode: MetaStatusCode.REDIRECTED })
        : txDecide(context, { txId: call.txId, attempt, fsId: call.fsId, homePartitionId: call.homePartitionId, part: homePart, record }),
    );
    if (decided.statusCode === MetaStatusCode.OK) {
      await this.step('decided', call.txId);
      this.resolveCommitted(node, record);
      const reply: Reply = { statusCode: MetaStatusCode.OK, ...(decided.inode === undefined ? {} : { inode: decided.inode }) };
      return { kind: 'reply', reply, committed: true };
    }
    // Not proposed: surely not in the log, the attempt is over.
    if (!mayHaveBeenProposed(decided)) return abort(decided.statusCode, retryable(decided.statusCode));
    // The entry may have been proposed: its outcome is the log's, not ours. No abort here.
    const reply = await this.outcomeAfterUnknown(node, task, call.txId, decided.statusCode);
    return { kind: 'reply', reply, committed: reply.statusCode === MetaStatusCode.OK };
  }

  /**
   * The decision's proposal failed after it may have entered the log: while this term
   * lasts the entry can still commit, so the task stays live (Status: IN_PROGRESS) until
   * its record shows up or the term ends (then the new leader's answer is definitive).
   */
  private async outcomeAfterUnknown(node: CopysetNode, task: Task, txId: TxId, statusCode: MetaStatusCode): Promise<Reply> {
    const key = txIdKey(txId);
    while (!this.closed) {
      const recorded = node.store.tx.record(key);
      if (recorded !== undefined && compareAttempts(recorded.record.attempt, task.attempt) === 0) {
        const { inode } = recorded.record.reply;
        return { statusCode: MetaStatusCode.OK, ...(inode === undefined ? {} : { inode }) };
      }
      // The client retries the same txId at the new leader, which answers from the log.
      if (node.term !== task.term) return { statusCode: statusCode === MetaStatusCode.UNKNOWN_ERROR ? MetaStatusCode.REDIRECTED : statusCode };
      await sleep(UNKNOWN_OUTCOME_POLL_MS);
    }
    return { statusCode: MetaStatusCode.REDIRECTED };
  }

  /** Walks first parents from `from` up to the root (§8): PARAM_ERROR when `movedId` is met. */
  private async walkAncestors(
    node: CopysetNode,
    homeKey: string,
    routes: RouteTable,
    fsId: number,
    from: number,
    movedId: number,
    deadline: number,
    ownTx: string,
  ): Promise<MetaStatusCode> {
    const reader = this.reader(node, homeKey, fsId, deadline, false, ownTx);
    let current = from;
    for (let step = 0; step < MAX_TX_ANCESTRY; step++) {
      if (current === movedId) return MetaStatusCode.PARAM_ERROR;
      if (current === ROOT_INODE_ID) return MetaStatusCode.OK;
      const route = routes.ofInode(current);
      if (route === undefined) return MetaStatusCode.TX_MISMATCH;
      const inode = await reader.inode(route, current);
      if (typeof inode === 'number') return inode;
      const up = inode?.parent[0];
      if (up === undefined) return MetaStatusCode.TX_MISMATCH;
      current = up;
    }
    return MetaStatusCode.PARAM_ERROR;
  }

  /** Reads for planning: the home group from its leader view, others from their leaders. */
  private reader(node: CopysetNode, homeKey: string, fsId: number, deadline: number, guess = false, ownTx?: string): PlanReader {
    const remote = this.remote;
    const isHome = (route: TxRoute) => groupKeyOf(route.poolId, route.copysetId) === homeKey;
    /**
     * A home key is read from the leader view once no other tx's intent locks it: a
     * committed tx may still be resolving here, and its effects must be seen (as a read
     * through the copyset would wait for them).
     */
    const unlocked = async (locks: readonly string[]): Promise<MetaStatusCode | undefined> => {
      for (let since = 0; ; ) {
        const holder = node.executor.view.lockHolder(locks, ownTx);
        if (holder === undefined) return undefined;
        since ||= Date.now();
        if (!(await node.waitForIntent(holder, since))) return MetaStatusCode.TX_KEY_LOCKED;
      }
    };
    return {
      homeKey,
      guess,
      isHome,
      dentry: async (route, parent, name): Promise<Dentry | undefined | MetaStatusCode> => {
        if (isHome(route)) return (await unlocked([nameLock(route.partitionId, parent, name)])) ?? node.executor.view.dentry(route.partitionId, parent, name);
        try {
          const response = await remote.getDentry(addressOf(route), { poolId: route.poolId, copysetId: route.copysetId, partitionId: route.partitionId, fsId, parentInodeId: parent, name }, deadline);
          if (response.statusCode === MetaStatusCode.NOT_FOUND) return undefined;
          if (response.statusCode !== MetaStatusCode.OK) return response.statusCode;
          return response.dentry;
        } catch {
          return MetaStatusCode.TX_TIMEOUT;
        }
      },
      inode: async (route, inodeId): Promise<Inode | undefined | MetaStatusCode> => {
        if (isHome(route)) {
          const locks = [linksLock(route.partitionId, inodeId), deltaLock(route.partitionId, inodeId), sealLock(route.partitionId, inodeId)];
          return (await unlocked(locks)) ?? node.executor.view.inode(route.partitionId, inodeId);
        }
        try {
          const response = await remote.getInode(addressOf(route), { poolId: route.poolId, copysetId: route.copysetId, partitionId: route.partitionId, fsId, inodeId }, deadline);
          if (response.statusCode === MetaStatusCode.NOT_FOUND) return undefined;
          if (response.statusCode !== MetaStatusCode.OK) return response.statusCode;
          return response.inode;
        } catch {
          return MetaStatusCode.TX_TIMEOUT;
        }
      },
    };
  }

  /** Tells every group an attempt reached that it is over (best effort: the resolvers are the backstop). */
  private abortAll(sent: readonly CopysetAddress[], txId: TxId, attempt: Attempt): void {
    for (const address of sent) {
      this.remote
        .resolve(address, { poolId: address.poolId, copysetId: address.copysetId, txId, commit: false, attemptTerm: attempt[0], attemptN: attempt[1] }, Date.now() + SHORT_CALL_MS)
        .catch(() => undefined);
    }
  }

  /** After the commit point: Resolve(COMMIT) to every participant (the background scan repeats it until DONE). */
  private resolveCommitted(node: CopysetNode, record: TxRecord): void {
    void this.sendCommits(record, this.commitsDone(node.groupId, record.txId)).then(() => this.step('resolved', record.txId));
  }

  /** Participants (group@stamp) known DONE for a record of group `groupId`, shared with the background scan. */
  commitsDone(groupId: number, txId: TxId): Set<string> {
    const key = `${groupId}|${txIdKey(txId)}`;
    let done = this.done.get(key);
    if (done === undefined) this.done.set(key, (done = new Set()));
    return done;
  }

  forgetCommits(groupId: number, txId: TxId): void {
    this.done.delete(`${groupId}|${txIdKey(txId)}`);
  }

  private readonly done = new Map<string, Set<string>>();

  /** Sends Resolve(COMMIT) to the participants not known DONE; returns how many are DONE now. */
  async sendCommits(record: TxRecord, done?: Set<string>): Promise<number> {
    let count = 0;
    await Promise.all(
      record.participants.map(async (participant) => {
        const key = `${groupKeyOf(participant.poolId, participant.copysetId)}@${participant.stamp}`;
        if (done?.has(key)) {
          count++;
          return;
        }
        const address = this.addressOfGroup(participant);
        try {
          const response = await this.remote.resolve(
            address,
            { poolId: participant.poolId, copysetId: participant.copysetId, txId: record.txId, commit: true, stamp: participant.stamp },
            Date.now() + SHORT_CALL_MS,
          );
          if (response.statusCode === MetaStatusCode.OK) {
            done?.add(key);
            count++;
          }
        } catch {
          // retried by the next scan
        }
      }),
    );
    return count;
  }

  /** Peers of a participant group: the latest a request named, else those the record kept. */
  private addressOfGroup(participant: TxParticipant): CopysetAddress {
    const { poolId, copysetId } = participant;
    return { poolId, copysetId, peers: this.peersSeen.get(groupKeyOf(poolId, copysetId)) ?? participant.peers };
  }

  /** Peers of every copyset named by routes in requests (the coordinator's copyset directory). */
  readonly peersSeen = new Map<string, readonly string[]>();

  private step(step: TxStep, txId: TxId): Promise<void> | void {
    return this.onStep?.(step, txId);
  }

  /** Remembers the peers of the routes of a request (its groups' addresses for later resends). */
  notePeers(routes: readonly TxRoute[]): void {
    for (const route of routes) if (route.peers.length > 0) this.peersSeen.set(groupKeyOf(route.poolId, route.copysetId), route.peers);
  }
}

// ---------------------------------------------------------------------------------------

/** A client call that fails its shape checks: answered at once, nothing planned or written. */
function malformed(): Promise<TxReply> {
  return Promise.resolve({ statusCode: MetaStatusCode.PARAM_ERROR });
}

function common(
  request: { poolId: number; copysetId: number; fsId: number; txId: { clientId: number; seq: number }; routes: readonly TxRoute[]; time?: Time; ackedBelow?: number },
  kind: TxCall['kind'],
  homePartitionId: number,
): Omit<TxCall, 'plan'> {
  // The digest covers what is asked, not how it is routed, timed or acknowledged.
  const { routes, ackedBelow, time, ...asked } = request;
  return {
    kind,
    poolId: request.poolId,
    copysetId: request.copysetId,
    fsId: request.fsId,
    txId: txIdOf(request.txId),
    homePartitionId,
    routes,
    time: time ?? undefined,
    ackedBelow: ackedBelow ?? undefined,
    digest: digestOf(kind, asked),
  };
}

/** A digest of what a request asks (not of how it is routed or timed): a reused txId must ask the same. */
function digestOf(kind: string, fields: object): string {
  const text = JSON.stringify([kind, fields], (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value));
  return crc32c(Buffer.from(text)).toString(16);
}

function txIdOf(wire: { clientId: number; seq: number }): TxId {
  return { clientId: Number(wire.clientId), seq: Number(wire.seq) };
}

function final(statusCode: MetaStatusCode): { kind: 'reply'; reply: Reply } {
  return { kind: 'reply', reply: { statusCode } };
}

/** Statuses that a new attempt may cure (conflict, stale view, unreachable or busy leader). */
function retryable(statusCode: MetaStatusCode): boolean {
  switch (statusCode) {
    case MetaStatusCode.TX_KEY_LOCKED:
    case MetaStatusCode.TX_MISMATCH:
    case MetaStatusCode.TX_TIMEOUT:
    case MetaStatusCode.OVERLOAD:
    case MetaStatusCode.REDIRECTED:
    case MetaStatusCode.COPYSET_NOTEXIST:
    case MetaStatusCode.UNKNOWN_ERROR:
      return true;
    default:
      return false;
  }
}

/** The home part with the id a secondary allocated in place of NEW_INODE. */
function withCreatedInode(part: TxPart, inode: Inode | undefined): TxPart {
  if (inode === undefined) return part;
  const effects: TxEffect[] = part.effects.map((effect) => (effect.e === 'putDentry' && effect.inodeId === NEW_INODE ? { ...effect, inodeId: inode.inodeId } : effect));
  return { ...part, effects };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

