/**
 * The background half of the transaction layer (docs/transactions.md §11), run on a timer
 * by every metaserver for the copysets it leads:
 *
 * - the **resolver** (secondary role): an intent this leader has seen for
 *   `intentQueryAfterMs` (or `blockedQueryAfterMs` when a request waits on it) is asked
 *   about at its coordinator (Status); COMMITTED applies it, ABORTED drops it, IN_PROGRESS
 *   waits. So a dead coordinator costs a status round trip, and no lock outlives the
 *   home group's availability.
 * - the **recovery scan** (home role): every record is re-sent as Resolve(COMMIT) to the
 *   participants not known DONE (a new leader knows none: Resolve is idempotent), and
 *   records whose participants are all DONE and whose client acknowledged the reply, or
 *   whose retention passed, are deleted, many per entry.
 *
 * Everything it changes goes through entries proposed by a ready leader; its memory
 * (first-seen times, DONE sets) is per leader term and rebuilt from the store.
 */
import { txForget, txResolve } from '../executor/tx-calls.ts';
import { MetaStatusCode } from '../executor/status.ts';
import { txIdKey } from '../metastore/tx-records.ts';
import type { TxId } from '../metastore/tx-records.ts';
import { TxState } from '../proto/metaraft-tx-types.ts';
import type { CopysetNode } from '../server/copyset-node.ts';
import type { TxManager } from './tx-manager.ts';
import { groupKeyOf } from './tx-planner.ts';

/** Deadline of one Status call. */
const STATUS_CALL_MS = 2_000;
/** Resend of Resolve(COMMIT) for a record not yet DONE everywhere: first delay and cap (doubling). */
const RESEND_FIRST_MS = 1_000;
const RESEND_MAX_MS = 30_000;
/** Records deleted per forget entry: keeps one entry small. */
const MAX_FORGET_PER_ENTRY = 256;

interface Seen {
  readonly term: number;
  readonly at: number;
}

interface RecordProgress {
  readonly term: number;
  readonly done: Set<string>;
  nextSendAt: number;
  resendMs: number;
}

export interface TxBackgroundOptions {
  readonly manager: TxManager;
  /** The copysets this process hosts, with their (poolId, copysetId). */
  readonly copysets: () => Iterable<{ readonly poolId: number; readonly copysetId: number; readonly node: CopysetNode }>;
}

export class TxBackground {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly seen = new Map<string, Seen>();
  private readonly blockedOn = new Map<string, number>();
  private readonly asking = new Set<string>();
  private readonly progress = new Map<string, RecordProgress>();

  constructor(private readonly options: TxBackgroundOptions) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.scan(), this.options.manager.timings.scanMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A request waits on tx `holder`'s intent in this copyset: ask about it soon. */
  noteBlocked(node: CopysetNode, holder: string): void {
    this.blockedOn.set(`${node.groupId}|${holder}`, Date.now());
  }

  /** One pass over every copyset led here (also callable from tests). */
  async scan(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.options.manager.pruneAcks(Date.now());
      const work: Promise<void>[] = [];
      for (const { poolId, copysetId, node } of this.options.copysets()) {
        let term = node.term;
        // A new leader that has served only reads is not ready yet: make it ready (its
        // intents must be resolved even if no write ever comes).
        if (term === 0 && node.isLeader() && (node.store.tx.intentCount > 0 || node.store.tx.recordCount > 0)) {
          const ready = await node.readyLeaderTerm();
          term = 'term' in ready ? ready.term : 0;
        }
        if (term === 0) continue;
        if (node.store.tx.intentCount > 0) work.push(this.resolveIntents(poolId, copysetId, node, term));
        if (node.store.tx.recordCount > 0) work.push(this.finishRecords(node, term));
      }
      await Promise.all(work);
    } finally {
      this.running = false;
    }
  }

  private async resolveIntents(poolId: number, copysetId: number, node: CopysetNode, term: number): Promise<void> {
    const timings = this.options.manager.timings;
    const now = Date.now();
    const asks: Promise<void>[] = [];
    for (const { intent } of [...node.store.tx.intents()]) {
      const key = `${node.groupId}|${txIdKey(intent.txId)}`;
      const seenKey = `${key}@${intent.stamp}`;
      let seen = this.seen.get(seenKey);
      if (seen === undefined || seen.term !== term) this.seen.set(seenKey, (seen = { term, at: now }));
      const blocked = this.blockedOn.has(key);
      const age = now - seen.at;
      if (age < timings.intentQueryAfterMs && !(blocked && age >= timings.blockedQueryAfterMs)) continue;
      if (this.asking.has(seenKey)) continue;
      this.asking.add(seenKey);
      asks.push(
        this.askAndResolve(poolId, copysetId, node, intent.txId, intent.stamp, intent.attempt, intent.coordinator).finally(() => {
          this.asking.delete(seenKey);
        }),
      );
    }
    await Promise.all(asks);
    this.forgetGone(node);
  }

  private async askAndResolve(
    poolId: number,
    copysetId: number,
    node: CopysetNode,
    txId: TxId,
    stamp: number,
    attempt: readonly [number, number],
    coordinator: { poolId: number; copysetId: number; partitionId: number; peers: readonly string[] },
  ): Promise<void> {
    let state: TxState | undefined;
    try {
      const response = await this.options.manager.remote.status(
        { poolId: coordinator.poolId, copysetId: coordinator.copysetId, peers: coordinator.peers },
        {
          poolId: coordinator.poolId,
          copysetId: coordinator.copysetId,
          partitionId: coordinator.partitionId,
          txId,
          stamp,
          attemptTerm: attempt[0],
          attemptN: attempt[1],
          askerPoolId: poolId,
          askerCopysetId: copysetId,
        },
        Date.now() + STATUS_CALL_MS,
      );
      if (response.statusCode === MetaStatusCode.OK) state = response.state;
    } catch {
      return; // the coordinator's group has no reachable leader: ask again later
    }
    if (state === TxState.COMMITTED || state === TxState.ABORTED) {
      const commit = state === TxState.COMMITTED;
      await node.call((context) => txResolve(context, { txId, commit, stamp }));
    }
  }

  /** Drops memory of intents that are gone. */
  private forgetGone(node: CopysetNode): void {
    const prefix = `${node.groupId}|`;
    for (const key of [...this.seen.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const txKey = key.slice(prefix.length, key.lastIndexOf('@'));
      if (node.store.tx.intent(txKey) === undefined) this.seen.delete(key);
    }
    for (const key of [...this.blockedOn.keys()]) {
      if (key.startsWith(prefix) && node.store.tx.intent(key.slice(prefix.length)) === undefined) this.blockedOn.delete(key);
    }
  }

  private async finishRecords(node: CopysetNode, term: number): Promise<void> {
    const manager = this.options.manager;
    const now = Date.now();
    const forget: TxId[] = [];
    const sends: Promise<void>[] = [];
    for (const { record } of [...node.store.tx.records()]) {
      const key = `${node.groupId}|${txIdKey(record.txId)}`;
      let progress = this.progress.get(key);
      if (progress === undefined || progress.term !== term) {
        // DONE stays true across terms (a resolved stamp never comes back); the fast path's answers count too.
        const done = progress?.done ?? manager.commitsDone(node.groupId, record.txId);
        this.progress.set(key, (progress = { term, done, nextSendAt: now + RESEND_FIRST_MS, resendMs: RESEND_FIRST_MS }));
      }
      const allDone = record.participants.every((p) => progress.done.has(`${groupKeyOf(p.poolId, p.copysetId)}@${p.stamp}`));
      if (allDone) {
        const acked = record.txId.seq < manager.ackedBelow(record.txId.clientId);
        const expired = now - record.decidedAtMs >= manager.timings.outcomeRetentionMs;
        if ((acked || expired) && forget.length < MAX_FORGET_PER_ENTRY) forget.push(record.txId);
        continue;
      }
      if (now < progress.nextSendAt) continue;
      progress.nextSendAt = now + progress.resendMs;
      progress.resendMs = Math.min(RESEND_MAX_MS, progress.resendMs * 2);
      const current = progress;
      sends.push(manager.sendCommits(record, current.done).then(() => undefined));
    }
    await Promise.all(sends);
    if (forget.length > 0) {
      await node.call((context) => txForget(context, forget));
      for (const txId of forget) {
        this.progress.delete(`${node.groupId}|${txIdKey(txId)}`);
        manager.forgetCommits(node.groupId, txId);
      }
    }
  }
}
