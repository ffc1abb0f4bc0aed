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

export interface CopysetNodeOptions {
  /** How long a write waits for a new leader to apply the entries of earlier terms. */
  readonly leaderReadyTimeoutMs: number;
  readonly executorClock?: () => { sec: number; nsec: number };
  readonly hooks?: CopysetStateMachineHooks;
}

interface WaitingWrite {
  readonly respond: (response: Answer) => void;
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
      return this.host().status(this.groupId).role === 'leader';
    } catch {
      return false;
    }
  }

  /** The leader this replica knows of (0: none). */
  leaderHint(): NodeId {
    try {
      return this.host().status(this.groupId).leader;
    } catch {
      return 0;
    }
  }

  /** Runs one MetaServerService write method (or a write method that answers at once). */
  write<M extends MetaMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    return this.submit<ResponseOf<M> & Answer>(() => fromExecuteResult(this.executor, this.executor.execute(method, request) as ExecuteResult<ResponseOf<M> & Answer>));
  }

  /**
   * Runs a write computed by `compute` against the leader view (called only once this
   * replica is a ready leader, synchronously before the proposal).
   */
  async submit<R extends Answer>(compute: () => WriteStep<R>): Promise<R> {
    const ready = await this.becomeReadyLeader();
    if (ready !== null) return failed<R>(ready, this.store.appliedIndex);
    // From here to the proposal nothing awaits: the view and the log move together.
    const host = this.host();
    const before = host.status(this.groupId);
    if (before.role !== 'leader' || before.term !== this.leaderTerm) return failed<R>(MetaStatusCode.REDIRECTED, this.store.appliedIndex);
    const step = compute();
    if (step.kind === 'answer') return step.response;
    const { write } = step;
    const proposal = host.propose(this.groupId, write.batch);
    const lastIndex = host.status(this.groupId).lastIndex;
    if (lastIndex !== before.lastIndex + 1) {
      invariant(lastIndex === before.lastIndex, 'a proposal appends one entry or none');
      write.unbind();
      const error = await proposal.then(() => null, (reason: unknown) => reason);
      return failed<R>(statusOfFailure(error, 'write'), this.store.appliedIndex);
    }
    write.bind(lastIndex);
    return new Promise<R>((resolve) => {
      const waiting: WaitingWrite = { respond: (response) => resolve(response as R) };
      this.waiting.add(waiting);
      const settle = (response: Answer): void => {
        if (!this.waiting.delete(waiting)) return; // answered already (leadership lost)
        waiting.respond(response);
      };
      proposal.then(
        () => settle(write.response),
        (error: unknown) => settle({ statusCode: statusOfFailure(error, 'write'), appliedIndex: this.store.appliedIndex }),
      );
    });
  }

  /** Runs one read method once leadership is confirmed and the read point applied. */
  async read<M extends MetaMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    try {
      await this.host().read(this.groupId);
    } catch (error) {
      return failed<ResponseOf<M> & Answer>(statusOfFailure(error, 'read'), this.store.appliedIndex);
    }
    const result = this.executor.execute(method, request);
    invariant(result.kind === 'read', () => `${method} is a read: it proposes nothing`);
    return result.response;
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
      const status = this.host().status(this.groupId);
      leading = status.role === 'leader' && status.term === this.leaderTerm;
    } catch {
      leading = false;
    }
    if (!leading) this.stepDown();
  }

  /** Answers every waiting write (the server stops). */
  abandonWaitingWrites(statusCode: MetaStatusCode): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const write of waiting) write.respond({ statusCode, appliedIndex: this.store.appliedIndex });
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
      let status;
      try {
        status = this.host().status(this.groupId);
      } catch (error) {
        return statusOfFailure(error, 'write');
      }
      if (status.role !== 'leader') {
        if (this.leaderTerm !== 0) this.stepDown();
        return MetaStatusCode.REDIRECTED;
      }
      if (status.term !== this.leaderTerm) {
        if (this.leaderTerm !== 0) this.stepDown();
        this.executor.onLeadershipLost();
        this.leaderTerm = status.term;
        // No write of this term was proposed yet, so the last entry is the no-op or before it.
        this.leaderReadyIndex = status.lastIndex;
      }
      if (this.store.appliedIndex >= this.leaderReadyIndex) return null;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return MetaStatusCode.REDIRECTED;
      await Promise.race([this.machine.whenApplied(this.leaderReadyIndex), delay(Math.min(remaining, 50))]);
    }
  }
}

function fromExecuteResult<R extends Answer>(executor: MetaExecutor, result: ExecuteResult<R>): WriteStep<R> {
  if (result.kind === 'read') return { kind: 'answer', response: result.response };
  return {
    kind: 'write',
    write: {
      batch: result.batch,
      response: result.response,
      bind: (index) => executor.onProposed(index),
      unbind: () => executor.onProposeFailed(),
    },
  };
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
