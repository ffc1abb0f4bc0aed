import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/raft/errors.ts';
import { Inflights, Progress } from '../../../src/raft/progress.ts';

function progress(next: number, match = 0): Progress {
  const pr = new Progress(next, false, 4, 1000);
  pr.match = match;
  return pr;
}

describe('Inflights (flow control window)', () => {
  it('is full at the message limit and frees acknowledged messages in order', () => {
    const inf = new Inflights(3, 1000);
    inf.add(5, 1);
    inf.add(7, 1);
    inf.add(9, 1);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(10, 1)).toThrow(InvariantError);
    inf.freeTo(6); // frees the message ending at 5 only
    expect(inf.count).toBe(2);
    expect(inf.full()).toBe(false);
    inf.freeTo(4); // stale acknowledgement frees nothing
    expect(inf.count).toBe(2);
    inf.freeTo(9);
    expect(inf.count).toBe(0);
  });

  it('is full at the byte limit', () => {
    const inf = new Inflights(100, 10);
    inf.add(1, 6);
    expect(inf.full()).toBe(false);
    inf.add(2, 4);
    expect(inf.full()).toBe(true);
    inf.freeTo(1);
    expect(inf.full()).toBe(false);
  });

  it('refuses decreasing indexes', () => {
    const inf = new Inflights(10, 1000);
    inf.add(5, 0);
    expect(() => inf.add(4, 0)).toThrow(InvariantError);
  });

  it('keeps an exact count across many add/free cycles (internal compaction)', () => {
    const inf = new Inflights(8, 1_000_000);
    let next = 1;
    let acked = 0;
    for (let round = 0; round < 500; round++) {
      while (!inf.full()) inf.add(next++, 10);
      acked += 1 + (round % 7);
      if (acked >= next) acked = next - 1;
      inf.freeTo(acked);
      expect(inf.count).toBe(next - 1 - acked);
    }
  });

  it('reset empties the window and its bytes', () => {
    const inf = new Inflights(2, 10);
    inf.add(1, 10);
    expect(inf.full()).toBe(true);
    inf.reset();
    expect(inf.count).toBe(0);
    expect(inf.full()).toBe(false);
  });
});

describe('Progress state transitions', () => {
  it('becomeReplicate and becomeProbe restart from match + 1', () => {
    const pr = progress(10, 5);
    pr.becomeReplicate();
    expect(pr.state).toBe('replicate');
    expect(pr.next).toBe(6);
    pr.sentEntries(8, 10);
    pr.sentEntries(9, 10);
    expect(pr.next).toBe(10);
    expect(pr.inflights.count).toBe(2);
    pr.becomeProbe();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(6);
    expect(pr.inflights.count).toBe(0);
  });

  it('becomeProbe from snapshot resumes after the pending snapshot', () => {
    const pr = progress(3, 2);
    pr.becomeSnapshot(20);
    expect(pr.state).toBe('snapshot');
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
    expect(pr.pendingSnapshot).toBe(0);
    // A failed snapshot (pendingSnapshot cleared by the caller) resumes from match.
    const failed = progress(3, 2);
    failed.becomeSnapshot(20);
    failed.pendingSnapshot = 0;
    failed.becomeProbe();
    expect(failed.next).toBe(3);
  });

  it('probe sends one message at a time; replicate pipelines up to the window', () => {
    const pr = progress(6, 5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(7, 1);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(6); // probing does not advance next optimistically
    expect(pr.maybeUpdate(7)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    pr.becomeReplicate();
    for (let i = 0; i < 4; i++) pr.sentEntries(8 + i, 1);
    expect(pr.isPaused()).toBe(true); // window of 4
    pr.inflights.freeTo(9);
    expect(pr.isPaused()).toBe(false);
  });

  it('sending appends in snapshot state is a bug', () => {
    const pr = progress(3, 2);
    pr.becomeSnapshot(10);
    expect(() => pr.sentEntries(4, 1)).toThrow(InvariantError);
  });

  it('maybeUpdate never moves match backwards and keeps next beyond it', () => {
    const pr = progress(5, 4);
    expect(pr.maybeUpdate(3)).toBe(false);
    expect(pr.match).toBe(4);
    expect(pr.maybeUpdate(8)).toBe(true);
    expect(pr.match).toBe(8);
    expect(pr.next).toBe(9);
  });
});

describe('Progress.maybeDecreaseTo', () => {
  it('replicate: ignores a rejection at or below match, else restarts from match + 1', () => {
    const pr = progress(1, 5);
    pr.becomeReplicate();
    pr.sentEntries(10, 1);
    expect(pr.maybeDecreaseTo(5, 0)).toBe(false); // stale: 5 is already matched
    expect(pr.next).toBe(11);
    expect(pr.maybeDecreaseTo(8, 2)).toBe(true);
    expect(pr.next).toBe(6); // never below match + 1, whatever the hint
  });

  it('probe: ignores a rejection of another prevIndex than the one probed', () => {
    const pr = progress(10, 0);
    expect(pr.maybeDecreaseTo(5, 2)).toBe(false); // we probed prevIndex 9, not 5
    expect(pr.next).toBe(10);
  });

  it('probe: jumps to the hint, clamped to [match + 1, rejected]', () => {
    const pr = progress(10, 0);
    pr.sentEntries(12, 1);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeDecreaseTo(9, 3)).toBe(true);
    expect(pr.next).toBe(4);
    expect(pr.isPaused()).toBe(false); // may probe again at once
    const high = progress(10, 0);
    expect(high.maybeDecreaseTo(9, 50)).toBe(true); // a hint beyond rejected cannot raise next
    expect(high.next).toBe(9);
    const matched = progress(10, 6);
    expect(matched.maybeDecreaseTo(9, 1)).toBe(true);
    expect(matched.next).toBe(7);
  });
});
