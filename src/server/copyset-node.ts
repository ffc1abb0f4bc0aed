/**
 * One copyset as this server runs it: its MetaStore and state machine (every replica),
 * the executor (used while this replica leads), and the write and read paths that
 * compose executor and Raft host (architecture decision 2).
 *
 * Write: leader? → leader ready (everything of earlier terms applied) → execute → the
 * batch is proposed and bound to its log index in the same synchronous step → the answer
 * goes out once that entry is applied here, with appliedIndex = its index. Losing
 * leadership drops the overlay and answers waiting writes REDIRECTED.
 *
 * Binding: the host's propose() resolves only after apply, but the executor must bind
 * each write to its index before the next execute. The core appends a proposal at
 * lastIndex + 1 synchronously inside propose(), so the index is read from the host's
 * status just before, and checked just after (the log grew by exactly one entry, or the
 * proposal was refused and its effects are taken back).
 *
 * Read: leader? → host.read() confirms leadership (lease or ReadIndex) and waits until
 * applied ≥ the read index → the executor answers from the applied maps.
 */
import type { CallContext, CallOutcome } from '../executor/call-context.ts';
import type { ExecuteResult } from '../executor/executor.ts';
import { MetaExecutor } from '../executor/executor.ts';
import type { MetaMethod, RequestOf, ResponseOf } from '../executor/requests.ts';
import { MetaStatusCode } from '../executor/status.ts';
import { HostError } from '../host/host-errors.ts';
import type { RaftHost } from '../host/raft-host.ts';
import { MetaStore } from '../metastore/metastore.ts';
import { InvariantError, RaftError, invariant } from '../raft/errors.ts';
import type { GroupId, Index, NodeId } from '../raft/types.ts';
import { CopysetStateMachine, type CopysetStateMachineHooks } from './copyset-state-machine.ts';

type Answer = { statusCode: MetaStatusCode; appliedIndex?: number };

/**
 * Failed answers to writes that were proposed (appended to the log) and whose outcome is
 * the log's: the entry may still commit (timed out, leadership lost while it waited).
 * Every other failed answer is given before anything was proposed.
 */
const maybeProposed = new WeakSet<object>();

/** True when a failed write's entry may still commit (see maybeProposed). */
export function mayHaveBeenProposed(response: object): boolean {
  return maybeProposed.has(response);
}

/** How often settled() looks at the leadership while it waits for entries to apply. */
const SETTLE_POLL_MS = 50;

/** How often a blocked request looks again even without an intent change. */
const INTENT_RECHECK_MS = 100;

/** A write computed against the leader view, not yet proposed. */
export interface PreparedWrite<R extends Answer> {
  readonly batch: Uint8Array;
  readonly response: R;
  /** Binds the write's effects to log index `index` (sets response.appliedIndex). */
  readonly bind: (index: Index) => void;
  /** The proposal was refused: its effects leave the leader view. */
  readonly unbind: () => void;
}

/** What a write computation yields: an answer now, or a write to propose. */
export type WriteStep<R extends Answer> = { readonly kind: 'answer'; readonly response: R } | { readonly kind: 'write'; readonly write: PreparedWrite<R> };

/**
 * How long a request blocked by a prepared cross-group tx waits for its intent to go
 * (docs/transactions.md §10) before it is answered OVERLOAD (the client retries).
 */
export const LOCK_WAIT_BUDGET_MS = 3_000;

/** Where a write computed by submit() will land: the leader's term and the entry's log index. */
export interface ProposalSlot {
  readonly term: number;
  readonly index: Index;
}

export interface CopysetNodeOptions {
  /** How long a write waits for a new leader to apply the entries of earlier terms. */
  readonly leaderReadyTimeoutMs: number;
  /** A request waits for the intent of tx `holder` (the resolver may ask about it sooner). */
  readonly onBlocked?: (node: CopysetNode, holder: string) => void;
  readonly executorClock?: () => { sec: number; nsec: number };
  readonly hooks?: CopysetStateMachineHooks;
}

/** A proposed write waiting for its entry to apply (or for leadership to be lost). */
class WaitingWrite {
  readonly promise: Promise<Answer>;
  private resolve!: (response: Answer) => void;

  constructor(
    private readonly set: Set<WaitingWrite>,
    readonly response: Answer,
  ) {
    this.promise = new Promise<Answer>((resolve) => {
      this.resolve = resolve;
    });
  }

  /** Answers once: the first of applied, failed or leadership lost. */
  settle(response: Answer): void {
    if (!this.set.delete(this)) return; // answered already (leadership lost)
    this.resolve(response);
  }

  /** Answers now (the caller has taken it out of the set). */
  respond(response: Answer): void {
    this.resolve(response);
  }
}

export class CopysetNode {
  readonly store = new MetaStore();
  readonly executor: MetaExecutor;
  readonly machine: CopysetStateMachine;
  /** The term this replica leads in as far as the executor knows (0: not leading). */
  private leaderTerm = 0;
  /** The last log index when leadership was first seen in leaderTerm: writes wait until it is applied. */
  private leaderReadyIndex = 0;
  private readonly waiting = new Set<WaitingWrite>();

  constructor(
    readonly groupId: GroupId,
    private readonly host: () => RaftHost,
    private readonly options: CopysetNodeOptions,
  ) {
    this.executor = new MetaExecutor(this.store, options.executorClock === undefined ? {} : { clock: options.executorClock });
    this.machine = new CopysetStateMachine(this.store, this.executor, {
      ...options.hooks,
      onRestored: (index) => {
        this.stepDown();
        options.hooks?.onRestored?.(index);
      },
    });
  }

  /** Writes waiting for their entry to apply. */
  get waitingWrites(): number {
    return this.waiting.size;
  }

  /** True when the host says this replica leads the group now. */
  isLeader(): boolean {
    try {
      return this.host().leaderTerm(this.groupId) !== 0;
    } catch {
      return false;
    }
  }

  /** The leader this replica knows of (0: none). */
  leaderHint(): NodeId {
    try {
      return this.host().knownLeader(this.groupId);
    } catch {
      return 0;
    }
  }

  /** Runs one MetaServerService write method (or a write method that answers at once). */
  write<M extends MetaMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    return this.submitWith<ResponseOf<M> & Answer>(null, method, request);
  }

  /**
   * Runs a write computed by `compute` against the leader view (called only once this
   * replica is a ready leader, synchronously before the proposal).
   */
  submit<R extends Answer>(compute: (slot: ProposalSlot) => WriteStep<R>): Promise<R> {
    return this.submitWith<R>(compute, null, null);
  }

  /** Runs one executor call (tx-calls.ts) as a write: blocked waits, a write is proposed. */
  call<R extends Answer>(handler: (context: CallContext, slot: ProposalSlot) => CallOutcome<R>): Promise<R> {
    return this.submitWith<R>(null, null, null, handler);
  }

  /**
   * Waits until this replica is a ready leader (every entry of earlier terms applied)
   * and has confirmed its leadership (lease or ReadIndex): its term, or the status to answer.
   */
  async confirmedLeaderTerm(): Promise<{ term: number } | { statusCode: MetaStatusCode }> {
    const ready = await this.becomeReadyLeader();
    if (ready !== null) return { statusCode: ready };
    try {
      await this.host().read(this.groupId);
    } catch (error) {
      return { statusCode: statusOfFailure(error, 'read') };
    }
    const term = this.currentLeaderTerm(this.host());
    if (term === 0 || term !== this.leaderTerm) return { statusCode: MetaStatusCode.REDIRECTED };
    return { term };
  }

  /**
   * Waits until this replica is a ready leader (every entry of earlier terms applied),
   * without confirming its leadership: a deposed leader may answer from an older state,
   * and whatever it then proposes cannot commit.
   */
  async readyLeaderTerm(): Promise<{ term: number } | { statusCode: MetaStatusCode }> {
    const ready = await this.becomeReadyLeader();
    if (ready !== null) return { statusCode: ready };
    const term = this.term;
    return term === 0 ? { statusCode: MetaStatusCode.REDIRECTED } : { term };
  }

  /**
   * Resolves true once every entry up to `target` (default: the last in the log now) is
   * applied while this replica still leads in `term`; false when it stopped leading.
   * What the leader view showed up to `target` is then committed state.
   */
  async settled(term: number, target: Index = this.host().lastIndex(this.groupId)): Promise<boolean> {
    while (this.store.appliedIndex < target) {
      if (this.term !== term) return false;
      await Promise.race([this.machine.whenApplied(target), delay(SETTLE_POLL_MS)]);
    }
    return this.term === term;
  }

  /**
   * A write call answered without an entry (a refusal, or an idempotent OK) was computed
   * against the leader view: it is sent only once the entries that view included are
   * committed and applied (a proposal lost with leadership must not have decided it).
   */
  private async answerWhenSettled<R extends Answer>(response: R, term: number, lastBefore: Index): Promise<R> {
    if (this.store.appliedIndex >= lastBefore) return response;
    if (await this.settled(term, lastBefore)) return response;
    return failed<R>(MetaStatusCode.REDIRECTED, this.store.appliedIndex);
  }

  /** The term this replica leads in now, 0 when it does not (cheap; no confirmation). */
  get term(): number {
    const term = this.currentLeaderTerm(this.host());
    return term !== 0 && term === this.leaderTerm ? term : 0;
  }

  /**
   * The write path: `compute` when given, else the executor's `method` on `request`.
   * One function for both so that an executor write builds no closures of its own (a
   * write's fixed cost matters at tens of thousands per second).
   */
  private async submitWith<R extends Answer>(
    compute: ((slot: ProposalSlot) => WriteStep<R>) | null,
    method: MetaMethod | null,
    request: unknown,
    handler?: (context: CallContext, slot: ProposalSlot) => CallOutcome<R>,
  ): Promise<R> {
    for (let waitedSince = 0; ; ) {
      const outcome = await this.submitOnce<R>(compute, method, request, handler);
      if (outcome.kind === 'done') return outcome.response;
      waitedSince ||= Date.now();
      if (!(await this.waitForIntent(outcome.holder, waitedSince))) return failed<R>(MetaStatusCode.OVERLOAD, this.store.appliedIndex);
    }
  }

  private async submitOnce<R extends Answer>(
    compute: ((slot: ProposalSlot) => WriteStep<R>) | null,
    method: MetaMethod | null,
    request: unknown,
    handler: ((context: CallContext, slot: ProposalSlot) => CallOutcome<R>) | undefined,
  ): Promise<{ kind: 'done'; response: R } | { kind: 'blocked'; holder: string }> {
    const done = (response: R) => ({ kind: 'done' as const, response });
    // Cheap accessors, not status(): this runs once per write.
    const host = this.host();
    let term = this.currentLeaderTerm(host);
    if (term === 0 || term !== this.leaderTerm || this.store.appliedIndex < this.leaderReadyIndex) {
      const ready = await this.becomeReadyLeader();
      if (ready !== null) return done(failed<R>(ready, this.store.appliedIndex));
      term = this.currentLeaderTerm(host);
    }
    // From here to the proposal nothing awaits: the view and the log move together.
    if (term === 0 || term !== this.leaderTerm) return done(failed<R>(MetaStatusCode.REDIRECTED, this.store.appliedIndex));
    const lastBefore = host.lastIndex(this.groupId);
    let batch: Uint8Array;
    let response: R;
    let custom: PreparedWrite<R> | null = null;
    if (compute !== null) {
      const step = compute({ term, index: lastBefore + 1 });
      if (step.kind === 'answer') return done(await this.answerWhenSettled(step.response, term, lastBefore));
      custom = step.write;
      batch = custom.batch;
      response = custom.response;
    } else {
      const slot = { term, index: lastBefore + 1 };
      const result = (handler === undefined ? this.executor.execute(method!, request as never) : this.executor.executeCall((context) => handler(context, slot))) as ExecuteResult<R>;
      if (result.kind === 'read') return done(await this.answerWhenSettled(result.response, term, lastBefore));
      if (result.kind === 'blocked') return result;
      batch = result.batch;
      response = result.response;
    }
    const proposal = host.propose(this.groupId, batch);
    const lastIndex = host.lastIndex(this.groupId);
    if (lastIndex !== lastBefore + 1) {
      invariant(lastIndex === lastBefore, 'a proposal appends one entry or none');
      if (custom !== null) custom.unbind();
      else this.executor.onProposeFailed();
      const error = await proposal.then(
        () => null,
        (reason: unknown) => reason,
      );
      return done(failed<R>(statusOfFailure(error, 'write'), this.store.appliedIndex));
    }
    if (custom !== null) custom.bind(lastIndex);
    else this.executor.onProposed(lastIndex);
    const waiting = new WaitingWrite(this.waiting, response);
    this.waiting.add(waiting);
    proposal.then(
      () => waiting.settle(waiting.response),
      (error: unknown) => waiting.settle(proposedFailure(statusOfFailure(error, 'write'), this.store.appliedIndex)),
    );
    return done((await waiting.promise) as R);
  }

  /**
   * Waits until an intent changes (the holder's may have gone) or the budget from
   * `since` runs out (false). The caller then runs the request again from the start.
   */
  waitForIntent(holder: string, since: number): Promise<boolean> {
    const remaining = since + LOCK_WAIT_BUDGET_MS - Date.now();
    if (remaining <= 0) return Promise.resolve(false);
    this.options.onBlocked?.(this, holder);
    return new Promise((resolve) => {
      const stop = this.store.tx.onChange(() => {
        if (this.store.tx.intent(holder) !== undefined) return;
        clearTimeout(timer);
        stop();
        resolve(true);
      });
      // Also re-run on a timer: a proposed (not yet applied) intent may have been dropped with leadership.
      const timer = setTimeout(() => {
        stop();
        resolve(Date.now() - since < LOCK_WAIT_BUDGET_MS);
      }, Math.min(remaining, INTENT_RECHECK_MS));
    });
  }

  /** The host's term while this replica leads, 0 otherwise (or when the group is gone). */
  private currentLeaderTerm(host: RaftHost): number {
    try {
      return host.leaderTerm(this.groupId);
    } catch {
      return 0;
    }
  }

  /**
   * Runs one read method once leadership is confirmed and the read point applied. A read
   * that meets a prepared tx's intent waits for it to resolve and is served again at a
   * new read point (docs/transactions.md §9): it sees the tx wholly or not at all.
   */
  async read<M extends MetaMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    for (let waitedSince = 0; ; ) {
      try {
        await this.host().read(this.groupId);
      } catch (error) {
        return failed<ResponseOf<M> & Answer>(statusOfFailure(error, 'read'), this.store.appliedIndex);
      }
      const result = this.executor.execute(method, request);
      invariant(result.kind !== 'write', () => `${method} is a read: it proposes nothing`);
      if (result.kind === 'read') return result.response;
      waitedSince ||= Date.now();
      if (!(await this.waitForIntent(result.holder, waitedSince))) return failed<ResponseOf<M> & Answer>(MetaStatusCode.OVERLOAD, this.store.appliedIndex);
    }
  }

  /**
   * Checks that the executor's idea of leadership still holds; called on every leader
   * change the host reports and periodically. Drops the overlay and answers waiting
   * writes REDIRECTED when this replica no longer leads in the same term.
   */
  checkLeadership(): void {
    if (this.leaderTerm === 0) return;
    let leading = false;
    try {
      leading = this.host().leaderTerm(this.groupId) === this.leaderTerm;
    } catch {
      leading = false;
    }
    if (!leading) this.stepDown();
  }

  /** Answers every waiting write (the server stops). */
  abandonWaitingWrites(statusCode: MetaStatusCode): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const write of waiting) write.respond(proposedFailure(statusCode, this.store.appliedIndex));
  }

  private stepDown(): void {
    this.executor.onLeadershipLost();
    this.leaderTerm = 0;
    this.leaderReadyIndex = 0;
    this.abandonWaitingWrites(MetaStatusCode.REDIRECTED);
  }

  /**
   * Architecture decision 2: a new leader executes no write until it has applied every
   * entry of earlier terms in its log (its own no-op included). Returns null when ready,
   * else the status to answer.
   */
  private async becomeReadyLeader(): Promise<MetaStatusCode | null> {
    const deadline = Date.now() + this.options.leaderReadyTimeoutMs;
    for (;;) {
      let term: number;
      try {
        term = this.host().leaderTerm(this.groupId);
      } catch (error) {
        return statusOfFailure(error, 'write');
      }
      if (term === 0) {
        if (this.leaderTerm !== 0) this.stepDown();
        return MetaStatusCode.REDIRECTED;
      }
      if (term !== this.leaderTerm) {
        if (this.leaderTerm !== 0) this.stepDown();
        this.executor.onLeadershipLost();
        this.leaderTerm = term;
        // No write of this term was proposed yet, so the last entry is the no-op or before it.
        this.leaderReadyIndex = this.host().lastIndex(this.groupId);
      }
      if (this.store.appliedIndex >= this.leaderReadyIndex) return null;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return MetaStatusCode.REDIRECTED;
      await Promise.race([this.machine.whenApplied(this.leaderReadyIndex), delay(Math.min(remaining, 50))]);
    }
  }
}

function proposedFailure(statusCode: MetaStatusCode, appliedIndex: number): Answer {
  const response = { statusCode, appliedIndex };
  maybeProposed.add(response);
  return response;
}

function failed<R>(statusCode: MetaStatusCode, appliedIndex: number): R {
  return { statusCode, appliedIndex } as unknown as R;
}

/**
 * The MetaStatusCode for a request the host could not complete. Not leader, stopped or
 * loading: REDIRECTED (the client finds the leader). Too much in flight: OVERLOAD. A write
 * whose outcome is unknown (timed out, covered by a snapshot): UNKNOWN_ERROR, so that the
 * client does not blindly repeat a write that may have applied; a read just retries.
 */
export function statusOfFailure(error: unknown, kind: 'read' | 'write'): MetaStatusCode {
  if (error instanceof HostError) {
    switch (error.code) {
      case 'OVERLOAD':
        return MetaStatusCode.OVERLOAD;
      case 'NO_SUCH_GROUP':
      case 'GROUP_LOADING':
        return MetaStatusCode.COPYSET_NOTEXIST;
      case 'TIMEOUT':
      case 'OUTCOME_UNKNOWN':
        return kind === 'write' ? MetaStatusCode.UNKNOWN_ERROR : MetaStatusCode.REDIRECTED;
      default:
        return MetaStatusCode.REDIRECTED;
    }
  }
  if (error instanceof RaftError) return error.code === 'PROPOSAL_DROPPED' ? MetaStatusCode.OVERLOAD : MetaStatusCode.REDIRECTED;
  if (error instanceof InvariantError) throw error; // a bug stays a crash
  return MetaStatusCode.UNKNOWN_ERROR;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
