import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/types.ts';
import { Random } from '../../src/testing/random.ts';
import { EventQueue, KvStateMachine, SimDisk, SimNetwork, cloneStorage, encodeCommand, type Envelope } from '../../src/testing/sim/index.ts';
import { newMessage } from '../../src/raft/messages.ts';

const CONFIG = { voters: [1, 2, 3], learners: [], epoch: 0 };

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: 'normal', data: new Uint8Array([i, term]) });
  return out;
}

describe('Random', () => {
  it('replays exactly for a seed and differs across seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('forks by label, independent of draws made on the parent', () => {
    const a = new Random(7);
    const b = new Random(7);
    b.next();
    expect(a.fork('net').next()).toBe(b.fork('net').next());
    expect(a.fork('net').next()).not.toBe(a.fork('disk').next());
  });

  it('int covers both ends of its range, and nothing outside', () => {
    const random = new Random(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(random.int(3, 6));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });
});

describe('EventQueue', () => {
  it('runs events by time, then in scheduling order, and skips cancelled ones', () => {
    const queue = new EventQueue();
    const order: string[] = [];
    queue.schedule(5, () => order.push('b'));
    queue.schedule(1, () => order.push('a'));
    queue.schedule(5, () => order.push('c'));
    const cancelled = queue.schedule(3, () => order.push('x'));
    cancelled.cancelled = true;
    while (queue.runNext());
    expect(order).toEqual(['a', 'b', 'c']);
    expect(queue.now).toBe(5);
  });
});

describe('SimDisk', () => {
  it('loses unsynced writes on a crash and keeps synced ones', () => {
    const disk = new SimDisk(CONFIG);
    disk.append(entries(1, 3, 1));
    disk.setHardState({ term: 1, vote: 2, commit: 2 });
    disk.sync();
    disk.append(entries(4, 6, 1));
    disk.setHardState({ term: 2, vote: 3, commit: 5 });
    expect(disk.live.lastIndex()).toBe(6);
    disk.crash(null);
    expect(disk.live.lastIndex()).toBe(3);
    expect(disk.live.hardState()).toEqual({ term: 1, vote: 2, commit: 2 });
  });

  it('a torn crash keeps a prefix of the unsynced writes, in order', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const disk = new SimDisk(CONFIG);
      disk.append(entries(1, 2, 1));
      disk.sync();
      disk.append(entries(3, 8, 1));
      disk.setHardState({ term: 1, vote: 1, commit: 8 });
      disk.crash(new Random(seed));
      const last = disk.live.lastIndex();
      expect(last).toBeGreaterThanOrEqual(2);
      // The hard state is written after the entries: it survives only if they all did.
      if (disk.live.hardState().commit === 8) expect(last).toBe(8);
      else expect(disk.live.hardState().commit).toBe(0);
    }
  });

  it('clones a log whose compaction lags its snapshot', () => {
    const disk = new SimDisk(CONFIG);
    disk.append(entries(1, 10, 1));
    disk.saveSnapshot(8, CONFIG, new Uint8Array([9]), 5);
    const copy = cloneStorage(disk.live);
    expect(copy.firstIndex()).toBe(6);
    expect(copy.lastIndex()).toBe(10);
    expect(copy.snapshot().metadata.index).toBe(8);
    expect(copy.entries(6, 11)).toEqual(disk.live.entries(6, 11));
  });
});

describe('KvStateMachine', () => {
  it('applies a retried write once and round-trips through a snapshot', () => {
    const machine = new KvStateMachine();
    const append = encodeCommand({ clientId: 1, seq: 1, op: 'append', key: 'k', value: 'x' });
    machine.apply(append);
    machine.apply(append);
    machine.apply(encodeCommand({ clientId: 2, seq: 1, op: 'append', key: 'k', value: 'y' }));
    machine.apply(new Uint8Array([1, 2, 3]));
    expect(machine.get('k')).toBe('xy');
    const copy = KvStateMachine.decode(machine.encode());
    expect(copy.hash()).toBe(machine.hash());
    expect(copy.lastApplied(1)).toBe(1);
    copy.apply(encodeCommand({ clientId: 1, seq: 2, op: 'put', key: 'k', value: 'z' }));
    expect(copy.hash()).not.toBe(machine.hash());
  });
});

describe('SimNetwork', () => {
  it('delivers within the delay bounds and drops across cut links (one-way too)', () => {
    const queue = new EventQueue();
    const delivered: Envelope[] = [];
    const dropped: string[] = [];
    const network = new SimNetwork(queue, new Random(1), { minDelayMs: 2, maxDelayMs: 4 }, (e) => delivered.push(e), (e, why) => dropped.push(`${e.from}>${e.to}:${why}`));
    const send = (from: number, to: number): void => network.send({ from, to, group: 1, message: newMessage({ type: 'heartbeat', from, to, term: 1 }) });
    network.cutOneWay(1, 2);
    send(1, 2);
    send(2, 1);
    network.partition([[3], [1, 2]]);
    send(3, 1);
    while (queue.runNext());
    expect(delivered.map((e) => `${e.from}>${e.to}`)).toEqual(['2>1']);
    expect(queue.now).toBeGreaterThanOrEqual(2);
    expect(queue.now).toBeLessThanOrEqual(4);
    expect(dropped).toEqual(['1>2:cut', '3>1:cut']);
    network.heal();
    send(1, 2);
    while (queue.runNext());
    expect(delivered.length).toBe(2);
  });
});
