/**
 * One scenario per bug that real Raft engines shipped (docs: raft.md, "Bugs real engines
 * shipped"). Each test is built so that the buggy behaviour would make it fail.
 */
import { describe, expect, it } from 'vitest';
import { RaftError } from '../../src/raft/errors.ts';
import { MemoryLogStorage } from '../../src/raft/memory-storage.ts';
import type { RaftNode } from '../../src/raft/raft-node.ts';
import type { NodeId, Ready, Snapshot } from '../../src/raft/types.ts';
import {
  CLASSIC,
  TestNetwork,
  drain,
  drainMessages,
  driven,
  entriesWithTerms,
  entry,
  makeNode,
  msg,
  persist,
  seededRandom,
  storedTerms,
  text,
} from './harness.ts';

const ELECTION_TICKS = 10;

function refusedCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RaftError) return e.code;
    throw e;
  }
  return 'ACCEPTED';
}

function snapshotAt(index: number, term: number, voters: NodeId[] = [1, 2, 3]): Snapshot {
  return { metadata: { index, term, config: { voters, learners: [], epoch: 0 } }, data: text(`state@${index}`) };
}

/**
 * A network that checks the persistence contract on every Ready it handles: whatever a
 * message promises (a vote, an acknowledged entry, a term) is durable in storage before
 * the message is queued, and mustSync is set whenever term or vote changed.
 */
class AuditedNetwork extends TestNetwork {
  readonly violations: string[] = [];
  /** term -> ids seen as leader in that term. */
  readonly leadersByTerm = new Map<number, Set<NodeId>>();

  override handleReady(id: NodeId, node: RaftNode, rd: Ready): void {
    const storage = this.storages.get(id)!;
    const before = storage.hardState();
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      rd.entries.forEach((e, k) => {
        if (e.index !== first + k) this.violations.push(`node ${id}: Ready entries not contiguous at ${e.index}`);
      });
      const lo = rd.snapshot !== null ? rd.snapshot.metadata.index : storage.firstIndex() - 1;
      const hi = rd.snapshot !== null ? rd.snapshot.metadata.index : storage.lastIndex();
      if (first <= lo || first > hi + 1) this.violations.push(`node ${id}: Ready entries start at ${first}, log is (${lo}, ${hi}]`);
    }
    if (rd.hardState !== null && (rd.hardState.term !== before.term || rd.hardState.vote !== before.vote) && !rd.mustSync) {
      this.violations.push(`node ${id}: term/vote changed without mustSync`);
    }
    super.handleReady(id, node, rd);
    const hs = storage.hardState();
    for (const m of rd.messages) {
      if (m.term > hs.term && m.type !== 'pre-vote' && m.type !== 'pre-vote-response') {
        this.violations.push(`node ${id}: sent ${m.type} of term ${m.term} with durable term ${hs.term}`);
      }
      if (m.type === 'vote-response' && !m.reject && (hs.term !== m.term || hs.vote !== m.to)) {
        this.violations.push(`node ${id}: granted a vote to ${m.to} in term ${m.term}, durable ${JSON.stringify(hs)}`);
      }
      if (m.type === 'vote' && (hs.term !== m.term || hs.vote !== id)) {
        this.violations.push(`node ${id}: asked for votes in term ${m.term} without a durable vote for itself`);
      }
      if (m.type === 'append-response' && !m.reject && m.index > 0) {
        if (storage.lastIndex() < m.index) this.violations.push(`node ${id}: acknowledged ${m.index}, durable up to ${storage.lastIndex()}`);
      }
    }
  }

  recordLeaders(): void {
    for (const node of this.nodes.values()) {
      const st = node.status();
      if (st.role !== 'leader') continue;
      let set = this.leadersByTerm.get(st.term);
      if (set === undefined) this.leadersByTerm.set(st.term, (set = new Set()));
      set.add(st.id);
    }
  }
}

describe('bugs real engines shipped', () => {
  it('committing a previous-term entry by counting replicas (LogCabin, raft.js)', () => {
    // Leader of term 3 whose log holds index 2 from term 2, never committed.
    const d = driven(1, [1, 2, 3, 4, 5], CLASSIC, [1, 2], 2);
    d.node.campaign();
    for (const from of [2, 3]) d.node.step(msg({ type: 'vote-response', from, to: 1, term: 3 }));
    expect(d.node.status()).toMatchObject({ role: 'leader', term: 3, lastIndex: 3 });
    drain(d);
    // 1, 2 and 3 hold index 2: a majority of five, but it is of term 2.
    for (const from of [2, 3]) d.node.step(msg({ type: 'append-response', from, to: 1, term: 3, index: 2 }));
    drain(d);
    expect(d.node.status().commit).toBe(0);
    d.node.step(msg({ type: 'append-response', from: 2, to: 1, term: 3, index: 3 }));
    expect(d.node.status().commit).toBe(0); // index 3 on 1 and 2 only
    d.node.step(msg({ type: 'append-response', from: 3, to: 1, term: 3, index: 3 }));
    expect(d.node.status().commit).toBe(3);
    const applied = drain(d).flatMap((rd) => rd.committedEntries.map((e) => e.index));
    expect(applied).toEqual([1, 2, 3]);
  });

  it('term or vote not durable before the vote reply: the Ready carries both, with mustSync', () => {
    const d = driven(2, [1, 2, 3]);
    d.node.step(msg({ type: 'vote', from: 1, to: 2, term: 4, index: 0, logTerm: 0 }));
    const rd = d.node.ready();
    const grant = rd.messages.find((m) => m.type === 'vote-response');
    expect(grant).toMatchObject({ to: 1, term: 4, reject: false });
    expect(rd.hardState).toMatchObject({ term: 4, vote: 1 });
    expect(rd.mustSync).toBe(true);
    persist(d.storage, rd);
    d.node.advance(rd);
    // A restart from what was synced remembers the vote: no second vote in term 4.
    const restarted = { node: makeNode(2, d.storage, CLASSIC), storage: d.storage };
    expect(restarted.node.status()).toMatchObject({ term: 4, vote: 1 });
    restarted.node.step(msg({ type: 'vote', from: 3, to: 2, term: 4, index: 5, logTerm: 3 }));
    const replies = drainMessages(restarted).filter((m) => m.type === 'vote-response');
    expect(replies.map((m) => [m.to, m.reject])).toEqual([[3, true]]);
  });

  it('term or vote not durable: a voter restarting between two candidates yields no two leaders in one term', () => {
    const net = new AuditedNetwork([1, 2, 3], CLASSIC);
    net.isolate(3);
    net.node(1).campaign();
    net.dropTypes.add('vote-response'); // 1 has not heard the result yet
    net.settle();
    net.restart(2);
    net.heal();
    net.isolate(1);
    net.node(3).campaign(); // also term 1
    net.settle();
    net.heal();
    net.settle();
    net.recordLeaders();
    expect(net.node(3).status()).toMatchObject({ term: 1 });
    expect(net.node(3).status().role).not.toBe('leader');
    for (const set of net.leadersByTerm.values()) expect(set.size).toBe(1);
    expect(net.violations).toEqual([]);
  });

  it('term or vote not durable: the persistence contract holds on every Ready of a seeded churn run', () => {
    for (const seed of [1, 2, 3]) {
      const rand = seededRandom(seed * 7919);
      const net = new AuditedNetwork([1, 2, 3, 4, 5]);
      let proposals = 0;
      for (let step = 0; step < 250; step++) {
        const r = rand();
        const victim = 1 + Math.floor(rand() * 5);
        if (r < 0.08) net.isolate(victim);
        else if (r < 0.14) net.heal();
        else if (r < 0.2) net.restart(victim);
        else if (r < 0.4) {
          const leader = net.leader();
          if (leader !== 0 && refusedCode(() => net.node(leader).propose(text(`p${proposals}`))) === 'ACCEPTED') proposals++;
        }
        net.tickAll(1);
        net.recordLeaders();
      }
      expect(net.violations, `seed ${seed}`).toEqual([]);
      for (const [term, set] of net.leadersByTerm) expect(set.size, `seed ${seed}, term ${term}`).toBe(1);
      expect(net.leadersByTerm.size, `seed ${seed}`).toBeGreaterThan(1); // the run did elect repeatedly
      expect(proposals, `seed ${seed}`).toBeGreaterThan(5);
    }
  });

  it('clearing the vote on a message of the same term (a follower)', () => {
    const d = driven(2, [1, 2, 3]);
    d.node.step(msg({ type: 'vote', from: 1, to: 2, term: 1, index: 0, logTerm: 0 }));
    drain(d);
    d.node.step(msg({ type: 'heartbeat', from: 1, to: 2, term: 1 }));
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1)] }));
    drain(d);
    expect(d.node.status()).toMatchObject({ term: 1, vote: 1, leader: 1 });
    expect(d.storage.hardState()).toMatchObject({ term: 1, vote: 1 });
    // Leader 1 seems gone; 3 asks in the same term: still no second vote.
    d.node.step(msg({ type: 'vote', from: 3, to: 2, term: 1, index: 1, logTerm: 1 }));
    expect(drainMessages(d).filter((m) => m.type === 'vote-response').map((m) => m.reject)).toEqual([true]);
  });

  it('clearing the vote on a message of the same term (a candidate that steps down)', () => {
    const d = driven(3, [1, 2, 3]);
    d.node.campaign();
    drain(d);
    d.node.step(msg({ type: 'append', from: 1, to: 3, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1)] }));
    drain(d);
    expect(d.node.status()).toMatchObject({ role: 'follower', term: 1, vote: 3 });
    expect(d.storage.hardState().vote).toBe(3);
    d.node.step(msg({ type: 'vote', from: 2, to: 3, term: 1, index: 1, logTerm: 1 }));
    expect(drainMessages(d).filter((m) => m.type === 'vote-response').map((m) => m.reject)).toEqual([true]);
  });

  it('not persisting the vote for self (with and without PreVote)', () => {
    for (const options of [CLASSIC, {}]) {
      const d = driven(1, [1, 2, 3], options);
      d.node.campaign();
      // With PreVote, the real campaign starts once the pre-election is won.
      d.node.step(msg({ type: 'pre-vote-response', from: 2, to: 1, term: 1 }));
      const readies = drain(d);
      const asking = readies.find((rd) => rd.messages.some((m) => m.type === 'vote'))!;
      expect(asking.hardState).toMatchObject({ term: 1, vote: 1 });
      expect(asking.mustSync).toBe(true);
      const restarted = { node: makeNode(1, d.storage, options), storage: d.storage };
      expect(restarted.node.status()).toMatchObject({ term: 1, vote: 1 });
      restarted.node.step(msg({ type: 'vote', from: 2, to: 1, term: 1, index: 0, logTerm: 0 }));
      expect(drainMessages(restarted).filter((m) => m.type === 'vote-response').map((m) => m.reject)).toEqual([true]);
    }
  });

  it('a stale snapshot delivered after newer appends must not truncate matched entries', () => {
    const d = driven(2, [1, 2, 3]);
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms([1, 1, 1, 1, 1, 1]), commit: 4 }));
    drain(d);
    expect(d.node.status()).toMatchObject({ lastIndex: 6, commit: 4 });
    // The leader had sent a snapshot at 3 before; it arrives late.
    d.node.step(msg({ type: 'snapshot', from: 1, to: 2, term: 1, snapshot: snapshotAt(3, 1) }));
    const late = drain(d);
    expect(late.every((rd) => rd.snapshot === null)).toBe(true);
    expect(d.node.status()).toMatchObject({ firstIndex: 1, lastIndex: 6, commit: 4 });
    expect(storedTerms(d.storage)).toEqual([1, 1, 1, 1, 1, 1]);
    // A snapshot beyond commit whose last entry we hold: commit to it, keep the suffix.
    d.node.step(msg({ type: 'snapshot', from: 1, to: 2, term: 1, snapshot: snapshotAt(5, 1) }));
    const reply = drainMessages(d).filter((m) => m.type === 'append-response');
    expect(d.node.status()).toMatchObject({ lastIndex: 6, commit: 5 });
    expect(d.storage.lastIndex()).toBe(6);
    for (const m of reply) expect(m.reject).toBe(false);
  });

  it('a conflicting entry at the snapshot index must not survive the install (no append livelock)', () => {
    const d = driven(2, [1, 2, 3], CLASSIC, [1, 1, 2, 2], 2);
    drain(d);
    d.node.step(msg({ type: 'snapshot', from: 1, to: 2, term: 3, snapshot: snapshotAt(3, 3) }));
    const [rd] = drain(d);
    expect(rd!.snapshot?.metadata.index).toBe(3);
    expect(d.storage.firstIndex()).toBe(4);
    expect(d.storage.term(3)).toBe(3);
    expect(d.storage.lastIndex()).toBe(3); // the term-2 entry at 4 went with the log
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 3, index: 3, logTerm: 3, entries: [entry(4, 3)], commit: 4 }));
    const replies = drainMessages(d).filter((m) => m.type === 'append-response');
    expect(replies.map((m) => [m.reject, m.index])).toEqual([[false, 4]]);
    expect(d.node.status()).toMatchObject({ lastIndex: 4, commit: 4 });
  });

  it('state not cleared before a snapshot is applied: the Ready hands out the snapshot and only entries after it', () => {
    // Deleted keys coming back is the state machine's half (it must replace its state
    // wholesale on install, tested with the metadata store); here: what the core hands out.
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.isolate(3);
    for (const s of ['b', 'c', 'd']) net.propose(1, s);
    const s1 = net.storages.get(1)!;
    s1.createSnapshot(5, net.node(1).status().config, text('state@5'));
    s1.compact(5);
    net.propose(1, 'e'); // index 6, after the snapshot
    net.heal();
    net.node(1).reportUnreachable(3);
    const firstReady = net.readies.length;
    net.tickAll(2);
    const readies3 = net.readies.slice(firstReady).filter((r) => r.id === 3).map((r) => r.ready);
    const at = readies3.findIndex((rd) => rd.snapshot !== null);
    expect(at).toBeGreaterThanOrEqual(0);
    const withSnapshot = readies3[at]!;
    expect(withSnapshot.snapshot!.metadata.index).toBe(5);
    expect(withSnapshot.mustSync).toBe(true);
    const handedOut = readies3.slice(at).flatMap((rd) => rd.committedEntries.map((e) => e.index));
    expect(handedOut).toEqual([6]); // never 2..5 again: they are inside the snapshot
    expect(net.node(3).status()).toMatchObject({ firstIndex: 6, lastIndex: 6, applied: 6 });
    expect(net.appliedData(3)).toEqual(['e']);
    // A restart from storage starts at the snapshot; nothing at or below it is replayed
    // (deleting the covered log segments durably is the log store's job).
    net.restart(3);
    expect(net.node(3).status()).toMatchObject({ firstIndex: 6, applied: 5 });
    net.settle();
    expect(net.applied.get(3)!.map((e) => e.index)).toEqual([6]);
  });

  it('the applied index saved with the state: the core resumes handing out at applied + 1', () => {
    // Saving applied atomically with the state is the state machine's job (metadata
    // store); the core's part is to start exactly after the applied index it is given.
    const storage = new MemoryLogStorage({ voters: [1, 2, 3], learners: [], epoch: 0 });
    storage.append(entriesWithTerms([1, 1, 1, 1, 1]));
    storage.setHardState({ term: 1, vote: 0, commit: 5 });
    for (const [applied, want] of [
      [3, [4, 5]],
      [0, [1, 2, 3, 4, 5]],
      [5, []],
    ] as const) {
      const node = makeNode(2, storage, { ...CLASSIC, applied });
      const got: number[] = [];
      while (node.hasReady()) {
        const rd = node.ready();
        got.push(...rd.committedEntries.map((e) => e.index));
        node.advance(rd);
      }
      expect(got).toEqual(want);
    }
  });

  it('a crash mid-truncation cannot leave a hole: Readys truncate and append in one contiguous batch', () => {
    // The log store must make the batch atomic on disk (its crash tests own that);
    // the core must hand out a suffix that starts inside the log and has no gap.
    const d = driven(2, [1, 2, 3], CLASSIC, [1, 1, 2, 2, 2], 2);
    drain(d);
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 3, index: 2, logTerm: 1, entries: [entry(3, 3), entry(4, 3)], commit: 2 }));
    const [rd] = drain(d);
    expect(rd!.entries.map((e) => [e.index, e.term])).toEqual([
      [3, 3],
      [4, 3],
    ]);
    expect(storedTerms(d.storage)).toEqual([1, 1, 3, 3]); // entry 5 of term 2 is gone too
  });

  it('a configuration change accepted before the new leader committed an entry in its term', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.cut.add('1-3').add('3-1').add('2-1'); // 2 stores what 1 sends, 1 never hears back
    net.node(1).proposeConfigChange({ type: 'add-learner', node: 4 }); // index 2, never committed by 1
    net.settle();
    expect(net.storages.get(2)!.lastIndex()).toBe(2);
    net.heal();
    net.isolate(1);
    net.dropTypes.add('append'); // 2's no-op will not commit yet
    net.node(2).step(msg({ type: 'timeout-now', from: 1, to: 2, term: 1 }));
    net.settle();
    expect(net.node(2).status()).toMatchObject({ role: 'leader', term: 2, commit: 1 });
    // A second change now could overlap with the uncommitted one from term 1.
    expect(refusedCode(() => net.node(2).proposeConfigChange({ type: 'add-learner', node: 5 }))).toBe('CONFIG_CHANGE_REFUSED');
    net.dropTypes.clear();
    net.tickAll(2);
    expect(net.node(2).status().config).toEqual({ voters: [1, 2, 3], learners: [4], epoch: 1 });
    net.node(2).proposeConfigChange({ type: 'add-learner', node: 5 });
    net.settle();
    net.tickAll(1);
    for (const id of [2, 3]) expect(net.node(id).status().config).toEqual({ voters: [1, 2, 3], learners: [4, 5], epoch: 2 });
  });

  it('a removed leader keeps sending heartbeats and blocks every election', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.node(1).proposeConfigChange({ type: 'remove', node: 1 });
    net.settle();
    expect(net.node(1).status().role).toBe('follower');
    const from = net.delivered.length;
    net.tickAll(4 * ELECTION_TICKS);
    const sentBy1 = net.delivered.slice(from).filter((m) => m.from === 1);
    expect(sentBy1.filter((m) => ['heartbeat', 'append', 'vote', 'pre-vote', 'timeout-now'].includes(m.type))).toEqual([]);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    expect(net.node(leader).status().config).toEqual({ voters: [2, 3], learners: [], epoch: 1 });
  });

  it('reads answered by a new leader before its no-op committed', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.dropTypes.add('append'); // heartbeats (and their acks) still flow
    net.node(2).step(msg({ type: 'timeout-now', from: 1, to: 2, term: 1 }));
    net.settle();
    expect(net.node(2).status()).toMatchObject({ role: 'leader', term: 2 });
    net.node(2).readIndex('early');
    net.tickAll(3);
    expect(net.readStates.get(2)).toEqual([]);
    // In lease mode too: a lease is no excuse for a stale commit index.
    const lease = new TestNetwork([1, 2, 3], { readMode: 'lease' });
    lease.elect(1);
    lease.propose(1, 'a');
    lease.dropTypes.add('append');
    lease.node(2).step(msg({ type: 'timeout-now', from: 1, to: 2, term: 1 }));
    lease.settle();
    lease.tickAll(1);
    lease.node(2).readIndex('early');
    lease.tickAll(1);
    expect(lease.readStates.get(2)).toEqual([]);
  });

  it('reads answered by a deposed leader, even after it leads again later', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.isolate(1);
    net.elect(2);
    net.propose(2, 'x'); // a write 1 does not know of
    net.node(1).readIndex('stale');
    net.tickAll(1);
    net.heal();
    net.tickAll(2);
    expect(net.node(1).status().role).toBe('follower');
    net.elect(1); // 1 leads again in a later term: the old read must not resurface
    net.tickAll(2);
    expect(net.readStates.get(1)).toEqual([]);
    net.node(1).readIndex('fresh');
    net.tickAll(1);
    expect(net.readStates.get(1)!.map((r) => r.context)).toEqual(['fresh']);
    expect(net.readStates.get(1)![0]!.index).toBeGreaterThanOrEqual(3);
  });

  describe('asynchronous appends: an older write completing must not mark newer entries durable (A→C→A)', () => {
    /**
     * Node 1 leads term 1 and hands out entries 2..3 (term 1) in a Ready; before that
     * write completes, leader C (node 3, term 2) overwrites index 2 (and drops 3); node 1
     * then leads again (term 3) with its no-op at 3. The old write's completion (up to
     * index 3) must count neither C's entry at 2 nor the new no-op at 3 as durable.
     */
    function setup(): { d: ReturnType<typeof driven>; old: Ready } {
      const d = driven(1, [1, 2, 3]);
      d.node.campaign();
      d.node.step(msg({ type: 'vote-response', from: 2, to: 1, term: 1 }));
      drain(d); // the no-op at 1 is durable
      d.node.propose(text('A1'));
      d.node.propose(text('A2'));
      const old = d.node.ready();
      expect(old.entries.map((e) => [e.index, e.term])).toEqual([
        [2, 1],
        [3, 1],
      ]);
      // C's append overwrites index 2 while the write of A's entry is in flight.
      d.node.step(msg({ type: 'append', from: 3, to: 1, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2, 'C')], commit: 1 }));
      expect(d.node.status()).toMatchObject({ role: 'follower', term: 2, lastIndex: 2 });
      return { d, old };
    }

    function leadAgain(d: ReturnType<typeof driven>): void {
      d.node.campaign();
      d.node.step(msg({ type: 'vote-response', from: 2, to: 1, term: 3 }));
      expect(d.node.status()).toMatchObject({ role: 'leader', term: 3, lastIndex: 3 });
    }

    it.each(['before', 'after'] as const)('the old write completes %s node 1 leads again', (when) => {
      const { d, old } = setup();
      persist(d.storage, old); // the old write lands: A's entries at 2..3 on disk
      if (when === 'before') d.node.advance(old);
      leadAgain(d);
      if (when === 'after') d.node.advance(old);
      // Follower 2 holds 2 (C's) and 3 (the no-op): with node 1's own copy that would be a
      // majority, but node 1 has not made C's entry or its no-op durable yet.
      d.node.step(msg({ type: 'append-response', from: 2, to: 1, term: 3, index: 3 }));
      expect(d.node.status().commit).toBe(1);
      const next = d.node.ready();
      expect(next.entries.map((e) => [e.index, e.term])).toEqual([
        [2, 2],
        [3, 3],
      ]);
      expect(next.mustSync).toBe(true);
      persist(d.storage, next);
      d.node.advance(next);
      expect(d.node.status().commit).toBe(3);
      expect(storedTerms(d.storage)).toEqual([1, 2, 3]);
    });

    it('the follower acknowledges the overwriting entry only in a Ready that persists it', () => {
      const { d, old } = setup();
      expect(old.messages.filter((m) => m.type === 'append-response')).toEqual([]);
      persist(d.storage, old);
      d.node.advance(old);
      const next = d.node.ready();
      const ack = next.messages.find((m) => m.type === 'append-response');
      expect(ack).toMatchObject({ to: 3, index: 2, reject: false });
      expect(next.entries.map((e) => [e.index, e.term])).toEqual([[2, 2]]);
      expect(next.mustSync).toBe(true);
    });
  });
});




describe('restart with entries kept below the snapshot', () => {
  it('neither re-applies entries covered by the snapshot nor counts their config changes twice', async () => {
    const { MemoryLogStorage } = await import('../../src/raft/memory-storage.ts');
    const { RaftNode } = await import('../../src/raft/raft-node.ts');
    const { encodeConfigChange } = await import('../../src/raft/config-codec.ts');
    const storage = new MemoryLogStorage({ voters: [1], learners: [], epoch: 0 });
    const data = (s: string) => new TextEncoder().encode(s);
    storage.append([
      { term: 1, index: 1, type: 'normal', data: new Uint8Array(0) },
      { term: 1, index: 2, type: 'config', data: encodeConfigChange({ type: 'add-learner', node: 2 }) },
      { term: 1, index: 3, type: 'normal', data: data('a') },
      { term: 1, index: 4, type: 'normal', data: data('b') },
    ]);
    storage.setHardState({ term: 1, vote: 1, commit: 4 });
    // The state machine snapshotted at 3 (config then: learner 2, epoch 1), keeping entries from 2 on.
    storage.createSnapshot(3, { voters: [1], learners: [2], epoch: 1 }, data('state@3'));
    storage.compact(1);
    expect(storage.firstIndex()).toBe(2);
    const node = new RaftNode({ id: 1, storage, random: () => 0.5 });
    expect(node.status().applied).toBe(3);
    const rd = node.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([4]);
    node.advance(rd);
    expect(node.status().config).toEqual({ voters: [1], learners: [2], epoch: 1 });
  });
});
