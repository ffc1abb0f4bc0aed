/**
 * Paper tests: each `it` checks one rule of the Raft paper (Ongaro & Ousterhout 2014)
 * or of the thesis (Ongaro 2014), named by the section it checks.
 */
import { describe, expect, it } from 'vitest';
import { RaftError } from '../../src/raft/errors.ts';
import type { ConfigChange, Message, NodeId } from '../../src/raft/types.ts';
import {
  CLASSIC,
  TestNetwork,
  drain,
  drainMessages,
  driven,
  entriesWithTerms,
  entry,
  makeStorage,
  msg,
  storedTerms,
  text,
} from './harness.ts';

const ELECTION_TICKS = 10; // the core's default

function logTerms(net: TestNetwork, id: NodeId): number[] {
  return storedTerms(net.storages.get(id)!);
}

function logData(net: TestNetwork, id: NodeId): string[] {
  const s = net.storages.get(id)!;
  return s.entries(s.firstIndex(), s.lastIndex() + 1).map((e) => new TextDecoder().decode(e.data));
}

function ofType(messages: readonly Message[], type: Message['type']): Message[] {
  return messages.filter((m) => m.type === type);
}

function refusedCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RaftError) return e.code;
    throw e;
  }
  return 'ACCEPTED';
}

describe('§5.1 terms', () => {
  it('a follower adopts a higher term and the leader it hears from (§5.1)', () => {
    const d = driven(1, [1, 2, 3], CLASSIC, [1], 1);
    d.node.step(msg({ type: 'heartbeat', from: 2, to: 1, term: 5 }));
    const st = d.node.status();
    expect([st.role, st.term, st.leader, st.vote]).toEqual(['follower', 5, 2, 0]);
  });

  it('a candidate that hears of a higher term becomes a follower (§5.1)', () => {
    const d = driven(1, [1, 2, 3]);
    d.node.campaign();
    expect(d.node.status()).toMatchObject({ role: 'candidate', term: 1 });
    d.node.step(msg({ type: 'append', from: 3, to: 1, term: 4, index: 0, logTerm: 0 }));
    expect(d.node.status()).toMatchObject({ role: 'follower', term: 4, leader: 3 });
  });

  it('a leader that hears of a higher term steps down (§5.1)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    expect(net.node(1).status()).toMatchObject({ role: 'leader', term: 1 });
    net.node(1).step(msg({ type: 'append-response', from: 2, to: 1, term: 7, index: 1 }));
    expect(net.node(1).status()).toMatchObject({ role: 'follower', term: 7, leader: 0 });
    expect(() => net.node(1).propose(text('x'))).toThrow(/not the leader/);
  });

  it('a stale-term message is rejected and the sender learns the newer term (§5.1)', () => {
    // Default options: with PreVote/CheckQuorum the core answers a stale leader (etcd's rule).
    const d = driven(1, [1, 2, 3], {}, [1, 1], 3);
    drain(d);
    d.node.step(msg({ type: 'append', from: 2, to: 1, term: 2, index: 2, logTerm: 1, entries: [entry(3, 2, 'stale')], commit: 3 }));
    d.node.step(msg({ type: 'vote', from: 2, to: 1, term: 2, index: 9, logTerm: 9 }));
    const out = drainMessages(d);
    expect(storedTerms(d.storage)).toEqual([1, 1]); // nothing appended
    expect(d.node.status()).toMatchObject({ term: 3, commit: 0, vote: 0, leader: 0 });
    // No vote is granted for an old term; the stale leader is told term 3 so it steps down.
    expect(out.filter((m) => m.type === 'vote-response' && !m.reject)).toEqual([]);
    const replies = ofType(out, 'append-response');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.term).toBe(3);
  });
});

describe('§5.2 leader election', () => {
  it('a follower stays a follower within the election timeout and campaigns after it (§5.2)', () => {
    const d = driven(1, [1, 2, 3]);
    for (let i = 0; i < ELECTION_TICKS - 1; i++) d.node.tick();
    expect(d.node.status().role).toBe('follower');
    for (let i = 0; i < ELECTION_TICKS + 1 && d.node.status().role === 'follower'; i++) d.node.tick();
    expect(d.node.status()).toMatchObject({ role: 'candidate', term: 1, vote: 1 });
  });

  it('a candidate votes for itself, persists that vote, and asks every other voter (§5.2)', () => {
    const d = driven(1, [1, 2, 3, 4, 5], CLASSIC, [1, 1, 2], 2);
    d.node.campaign();
    const [rd] = drain(d);
    expect(rd!.hardState).toMatchObject({ term: 3, vote: 1 });
    expect(rd!.mustSync).toBe(true);
    const votes = ofType(rd!.messages, 'vote');
    expect(votes.map((m) => m.to).sort()).toEqual([2, 3, 4, 5]);
    for (const m of votes) expect(m).toMatchObject({ term: 3, index: 3, logTerm: 2 });
  });

  it('a candidate wins once a majority granted, not before (§5.2)', () => {
    const d = driven(1, [1, 2, 3, 4, 5]);
    d.node.campaign();
    d.node.step(msg({ type: 'vote-response', from: 2, to: 1, term: 1 }));
    d.node.step(msg({ type: 'vote-response', from: 2, to: 1, term: 1 })); // a duplicate counts once
    expect(d.node.status().role).toBe('candidate');
    d.node.step(msg({ type: 'vote-response', from: 4, to: 1, term: 1, reject: true }));
    expect(d.node.status().role).toBe('candidate');
    d.node.step(msg({ type: 'vote-response', from: 3, to: 1, term: 1 }));
    expect(d.node.status()).toMatchObject({ role: 'leader', term: 1, leader: 1 });
  });

  it('a candidate rejected by a majority returns to follower in the same term, keeping its vote (§5.2)', () => {
    const d = driven(1, [1, 2, 3, 4, 5]);
    d.node.campaign();
    for (const from of [2, 3]) d.node.step(msg({ type: 'vote-response', from, to: 1, term: 1, reject: true }));
    expect(d.node.status().role).toBe('candidate');
    d.node.step(msg({ type: 'vote-response', from: 4, to: 1, term: 1, reject: true }));
    expect(d.node.status()).toMatchObject({ role: 'follower', term: 1, vote: 1 });
  });

  it('a candidate steps down on an append of its own term (§5.2)', () => {
    const d = driven(1, [1, 2, 3]);
    d.node.campaign();
    d.node.step(msg({ type: 'append', from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1, 'x')] }));
    expect(d.node.status()).toMatchObject({ role: 'follower', term: 1, leader: 2, vote: 1, lastIndex: 1 });
  });

  it('randomized election timeouts are spread over [T, 2T) (§5.2)', () => {
    const timeouts = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const d = driven(1, [1, 2, 3], CLASSIC, [], 0, seed);
      let ticks = 0;
      while (d.node.status().role === 'follower') {
        d.node.tick();
        ticks++;
        expect(ticks).toBeLessThan(2 * ELECTION_TICKS + 1);
      }
      expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
      timeouts.add(ticks);
    }
    // With one fixed timeout, split votes repeat forever.
    expect(timeouts.size).toBeGreaterThanOrEqual(7);
  });

  it('a node votes at most once per term, first come first served (§5.2)', () => {
    const d = driven(1, [1, 2, 3]);
    d.node.step(msg({ type: 'vote', from: 2, to: 1, term: 1, index: 0, logTerm: 0 }));
    d.node.step(msg({ type: 'vote', from: 3, to: 1, term: 1, index: 5, logTerm: 1 }));
    d.node.step(msg({ type: 'vote', from: 2, to: 1, term: 1, index: 0, logTerm: 0 })); // retransmission
    const responses = ofType(drainMessages(d), 'vote-response');
    expect(responses.map((m) => [m.to, m.reject])).toEqual([
      [2, false],
      [3, true],
      [2, false],
    ]);
    expect(d.node.status().vote).toBe(2);
  });

  it('a node votes at most once per term, also across a restart from storage (§5.2)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.node(1).campaign();
    net.dropTypes.add('vote-response'); // 1 never learns it won
    net.settle();
    expect(net.node(2).status().vote).toBe(1);
    net.restart(2);
    net.heal();
    expect(net.node(2).status()).toMatchObject({ term: 1, vote: 1 });
    net.node(2).step(msg({ type: 'vote', from: 3, to: 2, term: 1, index: 0, logTerm: 0 }));
    net.flush(2);
    const replies = net.takeQueued().filter((m) => m.type === 'vote-response');
    expect(replies.map((m) => [m.to, m.reject])).toEqual([[3, true]]);
  });
});

describe('§5.4.1 election restriction', () => {
  // Voter log: index 1..3 with terms 1, 1, 2 (last index 3, last term 2).
  it.each([
    { index: 3, logTerm: 2, granted: true },
    { index: 4, logTerm: 2, granted: true },
    { index: 1, logTerm: 3, granted: true },
    { index: 2, logTerm: 2, granted: false },
    { index: 9, logTerm: 1, granted: false },
    { index: 0, logTerm: 0, granted: false },
  ])('votes for a candidate ending at ($index, $logTerm) only if at least as up to date: $granted (§5.4.1)', ({ index, logTerm, granted }) => {
    const d = driven(1, [1, 2, 3], CLASSIC, [1, 1, 2], 2);
    drain(d);
    d.node.step(msg({ type: 'vote', from: 2, to: 1, term: 3, index, logTerm }));
    const [response] = ofType(drainMessages(d), 'vote-response');
    expect(response!.reject).toBe(!granted);
    expect(d.node.status().vote).toBe(granted ? 2 : 0);
    expect(d.node.status().term).toBe(3); // the term is adopted either way (§5.1)
  });
});

describe('§5.3 log replication', () => {
  it('the leader appends a no-op of its term on election and commits nothing before it (§8)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.propose(1, 'a');
    net.isolate(1);
    net.elect(2);
    const st = net.node(2).status();
    expect(st).toMatchObject({ role: 'leader', term: 2, lastIndex: 3 });
    const noop = net.storages.get(2)!.entries(3, 4)[0]!;
    expect(noop).toMatchObject({ index: 3, term: 2, type: 'normal' });
    expect(noop.data.length).toBe(0);
    expect(st.commit).toBe(3); // the no-op committed, and with it everything before
    expect(net.appliedData(3)).toEqual(['a']);
  });

  it('an append carries prevLogIndex/prevLogTerm, the new entries and the commit index (§5.3)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.propose(1, 'a'); // index 2
    net.node(1).propose(text('b')); // index 3
    net.flush(1);
    const appends = ofType(net.takeQueued(), 'append');
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of appends) {
      expect(m).toMatchObject({ term: 1, index: 2, logTerm: 1, commit: 2 });
      expect(m.entries.map((e) => [e.index, e.term])).toEqual([[3, 1]]);
    }
  });

  it('a heartbeat carries the term and min(follower match, commit) (§5.3)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.propose(1, 'a'); // index 2, everywhere
    net.cut.add('1-3');
    net.propose(1, 'b'); // index 3, committed with 2 only
    expect(net.node(1).status().commit).toBe(3);
    net.tick(1);
    net.flush(1);
    const beats = ofType(net.takeQueued(), 'heartbeat');
    const commitTo = new Map(beats.map((m) => [m.to, m.commit]));
    // Node 3 must not be told to commit index 3, which it may not hold.
    expect(commitTo).toEqual(new Map([[2, 3], [3, 2]]));
    for (const m of beats) expect(m.term).toBe(1);
  });

  it('a follower rejects an append whose previous entry does not match (§5.3)', () => {
    const d = driven(2, [1, 2, 3], CLASSIC, [1, 1, 2], 2);
    drain(d);
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 3, index: 3, logTerm: 3, entries: [entry(4, 3)], commit: 4 }));
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 3, index: 5, logTerm: 3, entries: [entry(6, 3)], commit: 4 }));
    const replies = ofType(drainMessages(d), 'append-response');
    expect(replies.map((m) => [m.reject, m.index])).toEqual([
      [true, 3],
      [true, 5],
    ]);
    for (const m of replies) expect(m.rejectHint).toBeLessThanOrEqual(3);
    expect(storedTerms(d.storage)).toEqual([1, 1, 2]);
    expect(d.node.status().commit).toBe(0);
  });

  it('a follower deletes a conflicting suffix and appends the leader entries (§5.3)', () => {
    const d = driven(2, [1, 2, 3], CLASSIC, [1, 1, 2, 2, 2], 2);
    drain(d);
    d.node.step(msg({ type: 'append', from: 1, to: 2, term: 3, index: 2, logTerm: 1, entries: [entry(3, 3, 'n')], commit: 2 }));
    const replies = ofType(drainMessages(d), 'append-response');
    expect(replies.map((m) => [m.reject, m.index])).toEqual([[false, 3]]);
    expect(storedTerms(d.storage)).toEqual([1, 1, 3]);
    expect(d.node.status()).toMatchObject({ lastIndex: 3, commit: 2 });
  });

  it('the leader commits an entry once a majority stores it, and followers learn the commit (§5.3)', () => {
    const net = new TestNetwork([1, 2, 3, 4, 5], CLASSIC);
    net.elect(1);
    const delayed: Message[] = [];
    net.transform = (m) => {
      if (m.type === 'append' && m.entries.length > 0 && [3, 4, 5].includes(m.to)) {
        delayed.push(m);
        return null;
      }
      return m;
    };
    const { index } = net.propose(1, 'x');
    expect(net.node(1).status().commit).toBe(index - 1); // only 2 of 5 hold it
    expect(net.appliedData(1)).toEqual([]);
    net.transform = null;
    net.cut.add('1-4').add('1-5');
    net.deliver(delayed.find((m) => m.to === 3)!); // now 1, 2, 3 hold it
    net.settle();
    expect(net.node(1).status().commit).toBe(index); // 1, 2, 3: a majority
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['x']);
    for (const id of [4, 5]) expect(net.node(id).status().commit).toBe(index - 1);
  });

  it('the leader retries appends lost in the network until the follower stores them (§5.3)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.propose(1, 'a'); // node 3 is now in pipelined (replicate) state
    net.cut.add('1-3'); // the next append to 3 is lost, nothing else
    const { index } = net.propose(1, 'b');
    net.cut.delete('1-3');
    net.tickAll(3 * ELECTION_TICKS);
    expect(net.node(3).status().lastIndex).toBe(index);
    expect(net.appliedData(3)).toEqual(['a', 'b']);
  });

  it('the leader probes a new member whose first probe was lost (§5.3)', () => {
    const net = new TestNetwork([1, 2, 3], { catchUpMarginEntries: 0 });
    net.elect(1);
    net.propose(1, 'a');
    net.node(1).proposeConfigChange({ type: 'add-learner', node: 4 });
    net.settle(); // the first probe to 4 is lost: its replica is not running yet
    net.addNode(4, makeStorage([1, 2, 3]));
    net.tickAll(3 * ELECTION_TICKS);
    expect(net.appliedData(4)).toEqual(['a']);
  });

  it('the leader never overwrites or deletes entries in its own log (§5.3 Leader Append-Only)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.storages.get(1)!.append(entriesWithTerms([1, 2, 2]));
    net.storages.get(2)!.append(entriesWithTerms([1, 1, 1, 1]));
    net.storages.get(3)!.append(entriesWithTerms([1]));
    for (const id of [1, 2, 3]) net.storages.get(id)!.setHardState({ term: 2, vote: 0, commit: 0 });
    for (const id of [1, 2, 3]) net.restart(id);
    const before = logData(net, 1);
    net.elect(1);
    expect(net.node(1).status()).toMatchObject({ role: 'leader', term: 3 });
    expect(logData(net, 1).slice(0, 3)).toEqual(before);
    expect(logTerms(net, 1)).toEqual([1, 2, 2, 3]);
    // Followers converge on the leader's log (node 2 loses its conflicting suffix).
    for (const id of [2, 3]) expect(logTerms(net, id)).toEqual([1, 2, 2, 3]);
    for (const id of [1, 2, 3]) expect(net.node(id).status().commit).toBe(4);
  });

  it('logs match entry for entry after a leader change with divergent suffixes (§5.3 Log Matching)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.propose(1, 'a');
    net.isolate(1);
    net.propose(1, 'lost1');
    net.propose(1, 'lost2');
    net.elect(2);
    net.propose(2, 'b');
    net.heal();
    net.tickAll(3);
    const reference = logData(net, 2);
    for (const id of [1, 3]) {
      expect(logTerms(net, id)).toEqual(logTerms(net, 2));
      expect(logData(net, id)).toEqual(reference);
    }
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['a', 'b']);
  });
});

/**
 * Figure 8 built step by step (5 servers, S1..S5):
 * (a) S1 leads term 1 and stores index 2 on S1, S2 only; (b) S5 wins term 2 with S3, S4
 * and stores its own entry at index 2 on itself only; (c) S1 wins term 3 and copies its
 * term-1 entry at index 2 onto S3 (a majority now holds it) without its term-3 entry.
 */
function figure8(): TestNetwork {
  const net = new TestNetwork([1, 2, 3, 4, 5], CLASSIC);
  net.elect(1); // term 1, no-op at index 1 everywhere
  for (const peer of [3, 4, 5]) net.cut.add(`1-${peer}`).add(`${peer}-1`);
  net.propose(1, 'a'); // (a) index 2, term 1 on S1, S2
  net.isolate(1);
  net.dropTypes.add('append');
  net.elect(5); // (b) term 2 with votes of S3, S4 (S2's log is more up to date)
  expect(net.node(5).status()).toMatchObject({ role: 'leader', term: 2 });
  net.heal();
  net.isolate(5);
  // (c) S1 restarts, having heard of term 2, and wins term 3; its appends lose their
  // term-3 entries on the way.
  net.storages.get(1)!.setHardState({ ...net.storages.get(1)!.hardState(), term: 2, vote: 0 });
  net.restart(1);
  net.transform = (m) => (m.type === 'append' && m.from === 1 ? { ...m, entries: m.entries.filter((e) => e.term !== 3) } : m);
  net.elect(1);
  expect(net.node(1).status()).toMatchObject({ role: 'leader', term: 3 });
  return net;
}

describe('§5.4.2 committing entries from previous terms', () => {
  it('a leader does not commit a previous-term entry stored on a majority by counting replicas (§5.4.2, Figure 8 c-d)', () => {
    const net = figure8();
    for (const id of [1, 2, 3]) expect(net.storages.get(id)!.term(2)).toBe(1); // on a majority
    expect(net.node(1).status().progress.get(3)?.match).toBe(2);
    expect(net.node(1).status().commit).toBe(1);
    expect(net.appliedData(1)).toEqual([]);
    // (d) S1 crashes; S5 can win term 4 and overwrite index 2 everywhere: had S1
    // committed 'a', a committed entry would now be lost.
    net.heal();
    net.isolate(1);
    net.storages.get(5)!.setHardState({ ...net.storages.get(5)!.hardState(), term: 3, vote: 0 });
    net.restart(5); // S5 restarts, having heard of term 3
    net.elect(5);
    expect(net.node(5).status()).toMatchObject({ role: 'leader', term: 4 });
    for (const id of [2, 3, 4, 5]) expect(net.storages.get(id)!.term(2)).toBe(2);
    for (const id of [2, 3, 4, 5]) expect(net.appliedData(id)).toEqual([]);
  });

  it('an entry of the current term commits, and with it the earlier ones (§5.4.2, Figure 8 e)', () => {
    const net = figure8();
    net.transform = null;
    // The transport reports the mangled appends as lost, so S1 re-sends from the match.
    for (const id of [2, 3, 4]) net.node(1).reportUnreachable(id);
    net.tickAll(1);
    expect(net.node(1).status().commit).toBe(3);
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['a']);
    // S5 can no longer be elected: a majority has a more up-to-date log.
    net.heal();
    net.isolate(1);
    net.storages.get(5)!.setHardState({ ...net.storages.get(5)!.hardState(), term: 3, vote: 0 });
    net.restart(5);
    net.elect(5);
    expect(net.node(5).status().role).not.toBe('leader');
    expect(net.storages.get(2)!.term(2)).toBe(1);
  });
});

describe('thesis §9.6 PreVote, §6.2 CheckQuorum, §4.2.3 disruptive servers', () => {
  it('a partitioned node does not bump its term and does not disturb the leader on return (thesis §9.6)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.tickAll(5 * ELECTION_TICKS);
    expect(net.node(3).status().term).toBe(1); // pre-elections never win, the term stays
    net.heal();
    net.tickAll(2 * ELECTION_TICKS);
    expect(net.leader()).toBe(1);
    for (const id of [1, 2, 3]) expect(net.node(id).status().term).toBe(1);
    // Without PreVote the same partition bumps the term and deposes the leader on return.
    const classic = new TestNetwork([1, 2, 3], { preVote: false, checkQuorum: false });
    classic.elect(1);
    classic.isolate(3);
    classic.tickAll(5 * ELECTION_TICKS);
    expect(classic.node(3).status().term).toBeGreaterThan(1);
  });

  it('a leader that cannot hear from a quorum steps down within two election timeouts (thesis §6.2)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.tickAll(3 * ELECTION_TICKS); // connected: stays leader
    expect(net.node(1).status().role).toBe('leader');
    net.isolate(1);
    for (let i = 0; i < 2 * ELECTION_TICKS; i++) net.tick(1);
    expect(net.node(1).status()).toMatchObject({ role: 'follower', term: 1 });
    // One follower gone is not losing the quorum.
    const net2 = new TestNetwork([1, 2, 3]);
    net2.elect(1);
    net2.isolate(3);
    net2.tickAll(4 * ELECTION_TICKS);
    expect(net2.node(1).status().role).toBe('leader');
  });

  it('a follower that heard from the leader within the election timeout ignores vote requests (thesis §4.2.3)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.tickAll(1);
    for (const type of ['vote', 'pre-vote'] as const) {
      net.node(2).step(msg({ type, from: 3, to: 2, term: 5, index: 99, logTerm: 9 }));
    }
    net.flush(2);
    expect(net.takeQueued().filter((m) => m.type.endsWith('vote-response'))).toEqual([]);
    expect(net.node(2).status()).toMatchObject({ term: 1, vote: 1, leader: 1 });
    // ...but not a campaign the leader asked for (leadership transfer).
    net.node(2).step(msg({ type: 'vote', from: 3, to: 2, term: 5, index: 99, logTerm: 9, context: 'transfer' }));
    expect(net.node(2).status()).toMatchObject({ term: 5, vote: 3 });
  });
});

describe('thesis §6.4 ReadIndex', () => {
  it('is not answered before the leader commits its no-op, and answered after (thesis §6.4)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a'); // commit 2 in term 1
    // Node 2 takes over (as in a transfer) but its no-op cannot commit yet.
    net.dropTypes.add('append');
    net.deliver(msg({ type: 'timeout-now', from: 1, to: 2, term: 1 }));
    net.settle();
    expect(net.node(2).status()).toMatchObject({ role: 'leader', term: 2, lastIndex: 3, commit: 2 });
    net.node(2).readIndex('r');
    net.tickAll(2);
    expect(net.readStates.get(2)).toEqual([]); // commit 2 may be stale: term 1 knowledge
    net.dropTypes.clear();
    net.tickAll(2);
    expect(net.node(2).status().commit).toBe(3);
    expect(net.readStates.get(2)).toEqual([{ index: 3, context: 'r' }]);
  });

  it('is answered with the commit index once a quorum acknowledged a heartbeat sent after the request (thesis §6.4)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.dropTypes.add('heartbeat-response');
    net.node(1).readIndex('r1');
    net.settle();
    expect(net.readStates.get(1)).toEqual([]); // no quorum confirmed leadership
    net.dropTypes.clear();
    net.isolate(3); // a quorum is the leader and node 2
    net.node(1).readIndex('r2');
    net.settle();
    // r2's confirmation also confirms the earlier r1 (leadership held after r1 started).
    expect(net.readStates.get(1)).toEqual([
      { index: 2, context: 'r1' },
      { index: 2, context: 'r2' },
    ]);
  });

  it('batches reads queued together into one heartbeat round (thesis §6.4)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    for (const c of ['a', 'b', 'c']) net.node(1).readIndex(c);
    net.flush(1);
    const rounds = net.takeQueued().filter((m) => m.type === 'heartbeat' && m.context !== '');
    expect(rounds.map((m) => m.to).sort()).toEqual([2, 3]); // one round: one heartbeat per follower
    for (const m of rounds) net.deliver(m);
    net.settle();
    expect(net.readStates.get(1)!.map((r) => r.context)).toEqual(['a', 'b', 'c']);
    expect(new Set(net.readStates.get(1)!.map((r) => r.index))).toEqual(new Set([1]));
  });

  it('a deposed leader does not answer reads (thesis §6.4)', () => {
    const net = new TestNetwork([1, 2, 3], CLASSIC);
    net.elect(1);
    net.isolate(1);
    net.elect(2);
    net.propose(2, 'new');
    net.node(1).readIndex('stale'); // 1 still believes it leads term 1
    net.heal();
    net.settle();
    net.tickAll(2);
    expect(net.readStates.get(1)).toEqual([]);
    expect(net.node(1).status()).toMatchObject({ role: 'follower', term: 2 });
  });
});

describe('thesis §6.4.1 lease reads', () => {
  const LEASE = { readMode: 'lease' } as const;

  function leaseNet(): TestNetwork {
    const net = new TestNetwork([1, 2, 3], LEASE);
    net.elect(1);
    net.tickAll(1); // a heartbeat round acknowledged by both followers
    return net;
  }

  it('are served locally, without a heartbeat round, while the lease holds (thesis §6.4.1)', () => {
    const net = leaseNet();
    net.dropTypes.add('heartbeat-response');
    net.node(1).readIndex('l');
    net.flush(1);
    expect(net.readStates.get(1)).toEqual([{ index: 1, context: 'l' }]);
    expect(net.takeQueued().filter((m) => m.context !== '')).toEqual([]);
  });

  it('are not served once the lease lapsed, although still leader (thesis §6.4.1)', () => {
    const net = leaseNet();
    net.isolate(1);
    for (let i = 0; i < ELECTION_TICKS - 2; i++) net.tick(1);
    expect(net.node(1).status().role).toBe('leader');
    net.node(1).readIndex('late');
    net.settle();
    expect(net.readStates.get(1)).toEqual([]);
  });

  it('are not served during a leadership transfer (thesis §6.4.1, §3.10)', () => {
    const net = leaseNet();
    net.cut.add('1-2'); // the target lags, so the transfer stays in progress
    net.propose(1, 'a');
    net.node(1).transferLeadership(2);
    net.dropTypes.add('heartbeat-response'); // no round can confirm either
    net.node(1).readIndex('t');
    net.settle();
    expect(net.node(1).status().leadTransferee).toBe(2);
    expect(net.readStates.get(1)).toEqual([]);
  });
});

describe('thesis §4 membership changes', () => {
  const change = (net: TestNetwork, id: NodeId, c: ConfigChange): { index: number; term: number } => {
    const r = net.node(id).proposeConfigChange(c);
    net.settle();
    return r;
  };

  it('a new learner catches up, but neither votes nor counts toward a commit quorum (thesis §4.2.1)', () => {
    const net = new TestNetwork([1, 2, 3], { catchUpMarginEntries: 0 });
    net.elect(1);
    net.propose(1, 'a');
    net.addNode(4, makeStorage([1, 2, 3])); // the replica exists before it is added
    change(net, 1, { type: 'add-learner', node: 4 });
    net.tickAll(2);
    expect(net.appliedData(4)).toEqual(['a']);
    for (const id of [1, 2, 3, 4]) expect(net.node(id).status().config).toEqual({ voters: [1, 2, 3], learners: [4], epoch: 1 });
    // With both other voters gone, the learner's copy does not make a quorum.
    net.isolate(2);
    net.isolate(3);
    const { index } = net.propose(1, 'b');
    net.tickAll(2);
    expect(net.node(4).status().lastIndex).toBe(index);
    expect(net.node(1).status().commit).toBeLessThan(index);
    // A learner never campaigns, and candidates do not ask it.
    net.heal();
    net.isolate(1);
    net.delivered.length = 0;
    net.tickAll(4 * ELECTION_TICKS);
    expect(net.node(4).status().role).toBe('follower');
    expect(net.delivered.filter((m) => m.from === 4 && m.type.includes('vote') && !m.type.endsWith('response'))).toEqual([]);
    expect(net.delivered.filter((m) => m.to === 4 && (m.type === 'vote' || m.type === 'pre-vote'))).toEqual([]);
    expect([2, 3]).toContain(net.leader());
  });

  it('a learner is promoted only once caught up (thesis §4.2.1)', () => {
    const net = new TestNetwork([1, 2, 3], { catchUpMarginEntries: 0 });
    net.elect(1);
    net.addNode(4, makeStorage([1, 2, 3]));
    net.isolate(4);
    change(net, 1, { type: 'add-learner', node: 4 });
    net.propose(1, 'a');
    expect(refusedCode(() => net.node(1).proposeConfigChange({ type: 'promote', node: 4 }))).toBe('CONFIG_CHANGE_REFUSED');
    net.heal();
    net.tickAll(2);
    change(net, 1, { type: 'promote', node: 4 });
    for (const id of [1, 2, 3, 4]) expect(net.node(id).status().config).toEqual({ voters: [1, 2, 3, 4], learners: [], epoch: 2 });
  });

  it('allows one change in flight at a time (thesis §4.1)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.cut.add('1-2').add('1-3'); // the first change cannot commit
    net.node(1).proposeConfigChange({ type: 'add-learner', node: 4 });
    net.settle();
    expect(refusedCode(() => net.node(1).proposeConfigChange({ type: 'add-learner', node: 5 }))).toBe('CONFIG_CHANGE_REFUSED');
    net.heal();
    // The transport reports the lost appends (their retransmission is tested in §5.3).
    for (const id of [2, 3]) net.node(1).reportUnreachable(id);
    net.tickAll(1);
    change(net, 1, { type: 'add-learner', node: 5 });
    expect(net.node(1).status().config).toEqual({ voters: [1, 2, 3], learners: [4, 5], epoch: 2 });
  });

  it('refuses a change before the new leader has committed an entry of its term (thesis §4.1)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.dropTypes.add('append');
    net.elect(1);
    expect(net.node(1).status().role).toBe('leader');
    expect(refusedCode(() => net.node(1).proposeConfigChange({ type: 'add-learner', node: 4 }))).toBe('CONFIG_CHANGE_REFUSED');
    net.heal();
    net.tickAll(1);
    expect(refusedCode(() => change(net, 1, { type: 'add-learner', node: 4 }))).toBe('ACCEPTED');
  });

  it('a removed leader steps down once the removal commits and never campaigns again (thesis §4.2.2)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    change(net, 1, { type: 'remove', node: 1 });
    expect(net.node(1).status().role).toBe('follower');
    net.delivered.length = 0;
    net.tickAll(6 * ELECTION_TICKS);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    for (const id of [2, 3]) expect(net.node(id).status().config.voters).toEqual([2, 3]);
    expect(net.delivered.filter((m) => m.from === 1 && (m.type === 'vote' || m.type === 'pre-vote'))).toEqual([]);
    expect(net.node(1).status().role).toBe('follower');
    net.propose(leader, 'b');
    expect(net.appliedData(leader)).toEqual(['a', 'b']);
  });

  it('the epoch counts committed changes (thesis §4)', () => {
    const net = new TestNetwork([1, 2, 3], { catchUpMarginEntries: 0 });
    net.elect(1);
    net.addNode(4, makeStorage([1, 2, 3]));
    change(net, 1, { type: 'add-learner', node: 4 });
    net.tickAll(2);
    change(net, 1, { type: 'promote', node: 4 });
    net.tickAll(1);
    change(net, 1, { type: 'remove', node: 3 });
    net.tickAll(1);
    for (const id of [1, 2, 4]) expect(net.node(id).status().config).toEqual({ voters: [1, 2, 4], learners: [], epoch: 3 });
  });
});

describe('thesis §3.10 leadership transfer', () => {
  it('catches the target up, then sends TimeoutNow; the target wins at once (thesis §3.10)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.cut.add('1-3');
    const { index } = net.propose(1, 'a');
    net.node(1).transferLeadership(3);
    net.settle();
    expect(net.delivered.filter((m) => m.type === 'timeout-now')).toEqual([]); // 3 lags
    expect(net.node(1).status().leadTransferee).toBe(3);
    net.cut.clear();
    net.node(1).reportUnreachable(3);
    net.tickAll(1);
    const timeoutNow = net.delivered.filter((m) => m.type === 'timeout-now');
    expect(timeoutNow.map((m) => [m.from, m.to])).toEqual([[1, 3]]);
    expect(net.leader()).toBe(3);
    expect(net.node(3).status().term).toBe(2);
    expect(net.node(3).status().commit).toBeGreaterThanOrEqual(index);
    expect(net.node(1).status().role).toBe('follower');
  });

  it('refuses proposals while a transfer is in progress (thesis §3.10)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.cut.add('1-3');
    net.propose(1, 'a');
    net.node(1).transferLeadership(3);
    expect(refusedCode(() => net.node(1).propose(text('b')))).toBe('PROPOSAL_DROPPED');
  });

  it('aborts a transfer that does not finish within an election timeout (thesis §3.10)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'a');
    net.node(1).transferLeadership(3);
    net.tickAll(ELECTION_TICKS);
    expect(net.node(1).status()).toMatchObject({ role: 'leader', leadTransferee: 0 });
    expect(refusedCode(() => net.propose(1, 'b'))).toBe('ACCEPTED');
  });
});

describe('§7 log compaction', () => {
  it('a follower whose entries were compacted receives the snapshot, installs it and continues by log (§7)', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.isolate(3);
    for (const s of ['b', 'c', 'd']) net.propose(1, s);
    const leaderStorage = net.storages.get(1)!;
    const applied = net.node(1).status().applied;
    expect(applied).toBe(5);
    leaderStorage.createSnapshot(applied, net.node(1).status().config, text('state-at-5'));
    leaderStorage.compact(applied);
    net.heal();
    net.node(1).reportUnreachable(3); // the transport reports the lost appends (see §5.3)
    net.tickAll(2);
    const snapshots = net.delivered.filter((m) => m.type === 'snapshot');
    expect(snapshots.map((m) => [m.to, m.snapshot?.metadata.index])).toEqual([[3, 5]]);
    const s3 = net.storages.get(3)!;
    expect(s3.snapshot().metadata).toMatchObject({ index: 5, term: 1 });
    expect(new TextDecoder().decode(s3.snapshot().data)).toBe('state-at-5');
    expect(net.node(3).status()).toMatchObject({ firstIndex: 6, commit: 5, applied: 5 });
    net.propose(1, 'e');
    net.tickAll(1);
    expect(net.appliedData(3)).toEqual(['e']); // after the snapshot, by log
    expect(net.delivered.filter((m) => m.type === 'snapshot')).toHaveLength(1);
  });
});
