/**
 * Calls to one copyset: find its leader, retry, fail over, all within one deadline.
 *
 * Per copyset the caller keeps the peers, the leader it last saw answer, and the
 * highest `appliedIndex` any answer carried (sent back on reads so that a leader that
 * has not applied that far yet does not answer from older state: read-your-writes, as
 * CurveFS's client does).
 *
 * One call, in order:
 * 1. send to the cached leader (else the first peer);
 * 2. REDIRECTED or COPYSET_NOTEXIST (the peer is not, or no longer, the leader), or a
 *    peer that cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED): forget the leader, ask
 *    CliService2.GetLeader of the peers in turn (the redirecting peer first: it is alive
 *    and likely knows; an unreachable one is skipped), else move on to the next peer;
 * 3. a leader just learned is tried at once; any other retry waits a jittered,
 *    exponentially growing backoff (OVERLOAD: the same peer, after the wait);
 * 4. every other answer is final and goes back to the caller;
 * 5. past the deadline: ClientCallError DEADLINE_EXCEEDED, carrying the last failure.
 *
 * A write retried after a lost answer (DEADLINE_EXCEEDED) may already have been
 * applied; CurveFS's client retries the same way, and the metaserver's idempotent
 * answers (CreateDentry of the same entry, DeleteInode of a missing inode) absorb most
 * of it.
 */

import type { Encodable, MethodName, RequestOf, ResponseOf, ServiceName } from '../proto/index.ts';
import { invariant } from '../raft/errors.ts';
import { ClientCallError, MetaClientError } from './client-errors.ts';
import { isKnownPeerAddress } from './peer-address.ts';
import { copysetKey } from './partition-table.ts';
import { TransportError, type PeerTransport } from './peer-transport.ts';
import { backoffDelayMs, type ClientClock, type RetryPolicy } from './retry-policy.ts';

const CLI_SERVICE = 'curvefs.metaserver.copyset.CliService2';

/** What a caller makes of an answer: final, or a reason to retry elsewhere / later. */
export type AnswerVerdict = 'final' | 'not-leader' | 'overloaded';

export interface CopysetRef {
  readonly poolId: number;
  readonly copysetId: number;
}

export interface CallPlan<S extends ServiceName, M extends MethodName<S>> {
  readonly copyset: CopysetRef;
  readonly service: S;
  readonly method: M;
  /** Builds the request of one attempt; `appliedIndex` is the highest seen for the copyset so far. */
  readonly request: (appliedIndex: number) => Encodable<RequestOf<S, M>>;
  /** Sorts an answer; leave out for calls whose answers are always final. */
  readonly verdict?: (response: ResponseOf<S, M>) => AnswerVerdict;
  /** The answer's appliedIndex, if it has one. */
  readonly appliedIndexOf?: (response: ResponseOf<S, M>) => number | undefined;
  /** Send to this peer only (status queries): no leader search, no failover, no copyset state. */
  readonly peer?: string;
  /** Absolute deadline on the client clock; default now + operationTimeoutMs. */
  readonly deadlineMs?: number;
}

export interface CopysetCallerOptions {
  readonly transport: PeerTransport;
  readonly clock: ClientClock;
  /** Uniform in [0, 1): jitter. Inject a seeded source for reproducible schedules. */
  readonly random: () => number;
  readonly retry: RetryPolicy;
  /** The copyset's peers as the partition table knows them. */
  readonly peersOf: (copyset: CopysetRef) => readonly string[];
}

interface CopysetState {
  /** The table's list this state was built from, to notice a table change. */
  tablePeers: readonly string[];
  peers: string[];
  leader: string | undefined;
  appliedIndex: number;
}

/** A counter of what the caller did, for tests and metrics. */
export interface CallerStats {
  attempts: number;
  leaderProbes: number;
  backoffs: number;
  backoffMsTotal: number;
}

export class CopysetCaller {
  private readonly states = new Map<string, CopysetState>();
  private closed = false;
  readonly stats: CallerStats = { attempts: 0, leaderProbes: 0, backoffs: 0, backoffMsTotal: 0 };

  constructor(private readonly options: CopysetCallerOptions) {}

  async call<S extends ServiceName, M extends MethodName<S>>(plan: CallPlan<S, M>): Promise<ResponseOf<S, M>> {
    if (plan.peer !== undefined) return this.callPeer(plan, plan.peer);
    const { clock, retry } = this.options;
    const state = this.stateOf(plan.copyset);
    const deadline = plan.deadlineMs ?? clock.nowMs() + retry.operationTimeoutMs;
    let target = state.leader ?? state.peers[0]!;
    let retries = 0;
    let attempts = 0;
    let lastFailure: unknown;
    let mayRetryAtOnce = true;
    for (;;) {
      if (this.closed) throw new ClientCallError('CLIENT_CLOSED', String(plan.method), 'the client is closed', { attempts });
      const remaining = deadline - clock.nowMs();
      if (remaining <= 0) throw deadlineError(plan.method, attempts, lastFailure);
      attempts++;
      this.stats.attempts++;
      let needsLeader: boolean;
      try {
        const request = plan.request(state.appliedIndex);
        const response = await this.options.transport.unary(target, plan.service, plan.method, request, Math.min(retry.rpcTimeoutMs, remaining));
        this.noteAppliedIndex(state, plan.appliedIndexOf?.(response));
        const verdict = plan.verdict?.(response) ?? 'final';
        if (verdict === 'final') {
          state.leader = target;
          return response;
        }
        lastFailure = new MetaClientError(String(plan.method), (response as { statusCode?: number }).statusCode ?? -1);
        needsLeader = verdict === 'not-leader';
      } catch (error) {
        lastFailure = this.transportFailure(plan.method, error, attempts);
        needsLeader = true;
      }
      if (needsLeader) {
        const redirected = !(lastFailure instanceof TransportError);
        const next = await this.findLeader(plan.copyset, state, target, redirected, deadline);
        const learnedNewLeader = next !== target && state.leader === next;
        target = next;
        if (learnedNewLeader && mayRetryAtOnce) {
          mayRetryAtOnce = false;
          continue;
        }
      }
      await this.backoff(retries++, deadline);
      mayRetryAtOnce = true;
    }
  }

  /**
   * One peer only (status queries, GetLeader of a given peer, creating a copyset there):
   * retries that peer while it cannot be reached or is overloaded, until the deadline.
   */
  private async callPeer<S extends ServiceName, M extends MethodName<S>>(plan: CallPlan<S, M>, peer: string): Promise<ResponseOf<S, M>> {
    const { clock, retry } = this.options;
    const deadline = plan.deadlineMs ?? clock.nowMs() + retry.operationTimeoutMs;
    let attempts = 0;
    let lastFailure: unknown;
    for (let retries = 0; ; retries++) {
      if (this.closed) throw new ClientCallError('CLIENT_CLOSED', String(plan.method), 'the client is closed', { attempts });
      const remaining = deadline - clock.nowMs();
      if (remaining <= 0) throw deadlineError(plan.method, attempts, lastFailure);
      attempts++;
      this.stats.attempts++;
      try {
        const response = await this.options.transport.unary(peer, plan.service, plan.method, plan.request(0), Math.min(retry.rpcTimeoutMs, remaining));
        if (plan.verdict?.(response) !== 'overloaded') return response;
        lastFailure = new MetaClientError(String(plan.method), (response as { statusCode?: number }).statusCode ?? -1);
      } catch (error) {
        lastFailure = this.transportFailure(plan.method, error, attempts);
      }
      await this.backoff(retries, deadline);
    }
  }

  /**
   * Asks the copyset's peers who leads, round after round (with backoff between rounds)
   * until one names a leader or the deadline passes; undefined then.
   */
  async discoverLeader(copyset: CopysetRef, deadlineMs?: number): Promise<string | undefined> {
    const state = this.stateOf(copyset);
    const deadline = deadlineMs ?? this.options.clock.nowMs() + this.options.retry.operationTimeoutMs;
    for (let round = 0; deadline > this.options.clock.nowMs() && !this.closed; round++) {
      const first = state.peers[0]!;
      await this.findLeader(copyset, state, first, true, deadline);
      if (state.leader !== undefined) return state.leader;
      await this.backoff(round, deadline);
    }
    return undefined;
  }

  /** A failed attempt: a retryable TransportError is returned; anything else is thrown as the call's failure. */
  private transportFailure(method: unknown, error: unknown, attempts: number): TransportError {
    if (this.closed) throw new ClientCallError('CLIENT_CLOSED', String(method), 'the client is closed', { attempts, cause: error });
    if (!(error instanceof TransportError)) throw error;
    if (!error.retryable) {
      throw new ClientCallError('RPC_FAILED', String(method), error.message, { attempts, grpcCode: error.grpcCode, cause: error });
    }
    return error;
  }

  /** The leader the caller last saw answer, if any. */
  leaderOf(copyset: CopysetRef): string | undefined {
    return this.states.get(copysetKey(copyset.poolId, copyset.copysetId))?.leader;
  }

  /** The highest appliedIndex seen in an answer from the copyset (0: none yet). */
  appliedIndexOf(copyset: CopysetRef): number {
    return this.states.get(copysetKey(copyset.poolId, copyset.copysetId))?.appliedIndex ?? 0;
  }

  /** Sets the cached leader (a caller that learned it elsewhere, e.g. a TransferLeader it made). */
  setLeader(copyset: CopysetRef, leader: string | undefined): void {
    const state = this.stateOf(copyset);
    state.leader = leader;
    if (leader !== undefined && !state.peers.includes(leader)) state.peers.push(leader);
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Asks CliService2.GetLeader of the peers in turn and returns the peer to try next:
   * the leader one of them names, else the peer after `failed`. A peer that just failed
   * to answer is not asked; one that answered "not leader" is asked first.
   */
  private async findLeader(copyset: CopysetRef, state: CopysetState, failed: string, askFailed: boolean, deadline: number): Promise<string> {
    state.leader = undefined;
    const { clock, retry, transport } = this.options;
    for (const peer of rotation(state.peers, failed, askFailed)) {
      const remaining = deadline - clock.nowMs();
      if (remaining <= 0 || this.closed) break;
      this.stats.leaderProbes++;
      try {
        const answer = await transport.unary(peer, CLI_SERVICE, 'GetLeader', { poolId: copyset.poolId, copysetId: copyset.copysetId }, Math.min(retry.rpcTimeoutMs, remaining));
        const leader = answer.leader.address;
        if (isKnownPeerAddress(leader)) {
          // A leader outside the known peers means the membership changed: keep it.
          if (!state.peers.includes(leader)) state.peers.push(leader);
          state.leader = leader;
          return leader;
        }
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        // This peer cannot tell; ask the next.
      }
    }
    return nextPeer(state.peers, failed);
  }

  private async backoff(retry: number, deadline: number): Promise<void> {
    const { clock, random } = this.options;
    const remaining = deadline - clock.nowMs();
    if (remaining <= 0) return;
    const delay = Math.min(backoffDelayMs(this.options.retry, retry, random), remaining);
    this.stats.backoffs++;
    this.stats.backoffMsTotal += delay;
    await clock.sleep(delay);
  }

  private noteAppliedIndex(state: CopysetState, appliedIndex: number | undefined): void {
    if (appliedIndex !== undefined && Number.isSafeInteger(appliedIndex) && appliedIndex > state.appliedIndex) {
      state.appliedIndex = appliedIndex;
    }
  }

  private stateOf(copyset: CopysetRef): CopysetState {
    const key = copysetKey(copyset.poolId, copyset.copysetId);
    const tablePeers = this.options.peersOf(copyset);
    let state = this.states.get(key);
    if (state === undefined) {
      state = { tablePeers, peers: [...tablePeers], leader: undefined, appliedIndex: 0 };
      this.states.set(key, state);
    } else if (state.tablePeers !== tablePeers) {
      // The table changed: take its peers, keep the leader only if it is still one of them.
      state.tablePeers = tablePeers;
      state.peers = [...tablePeers];
      if (state.leader !== undefined && !tablePeers.includes(state.leader)) state.leader = undefined;
    }
    // The table refuses a copyset without peers, and peers are only ever added here.
    invariant(state.peers.length > 0, `copyset ${key} has no peers`);
    return state;
  }
}

/** The peers in ring order starting at `from` (included when `includeFrom`) or just after it. */
function rotation(peers: readonly string[], from: string, includeFrom: boolean): string[] {
  const at = peers.indexOf(from);
  const ordered = at < 0 ? [...peers] : [...peers.slice(at), ...peers.slice(0, at)];
  return ordered.filter((peer) => includeFrom || peer !== from);
}

function nextPeer(peers: readonly string[], from: string): string {
  const at = peers.indexOf(from);
  return peers[(at + 1) % peers.length]!;
}

function deadlineError(method: unknown, attempts: number, lastFailure: unknown): ClientCallError {
  const detail = lastFailure instanceof Error ? `deadline passed; last failure: ${lastFailure.message}` : 'deadline passed';
  return new ClientCallError('DEADLINE_EXCEEDED', String(method), detail, { attempts, cause: lastFailure });
}
