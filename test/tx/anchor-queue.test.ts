import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnchorQueue } from '../../src/tx/anchor-queue.ts';

/** A promise with its resolve function, to hold a member's work open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AnchorQueue', () => {
  it('runs the members of one queue one at a time, in arrival order, whatever order their work would finish in', async () => {
    const queue = new AnchorQueue();
    const order: string[] = [];
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g, k) =>
      queue.run('fs1', 60_000, async () => {
        order.push(`start ${k}`);
        await g.promise;
        order.push(`end ${k}`);
        return k;
      }, () => -1),
    );
    await Promise.resolve();
    expect(queue.length).toBe(3);
    // Finishing the last one's work first changes nothing: it has not started.
    gates[2]!.open();
    gates[1]!.open();
    gates[0]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(order).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    expect(queue.length).toBe(0);
  });

  it('keeps queues apart: a member of another queue does not wait', async () => {
    const queue = new AnchorQueue();
    const held = gate();
    const first = queue.run('fs1', 60_000, () => held.promise.then(() => 'fs1'), () => 'timeout');
    expect(await queue.run('fs2', 60_000, async () => 'fs2', () => 'timeout')).toBe('fs2');
    held.open();
    expect(await first).toBe('fs1');
  });

  it('answers a member whose turn does not come in time with the timeout answer, and it delays nobody behind it', async () => {
    vi.useFakeTimers();
    const queue = new AnchorQueue();
    const held = gate();
    const head = queue.run('fs1', 1_000, () => held.promise.then(() => 'head'), () => 'timeout');
    const impatient = queue.run('fs1', 1_000, async () => 'impatient ran', () => 'timeout');
    await vi.advanceTimersByTimeAsync(500);
    const patient = queue.run('fs1', 10_000, async () => 'patient', () => 'timeout');
    await vi.advanceTimersByTimeAsync(600);
    expect(await impatient).toBe('timeout');
    held.open();
    expect(await head).toBe('head');
    expect(await patient).toBe('patient');
    expect(queue.length).toBe(0);
  });

  it('passes the turn on when a member\'s work throws', async () => {
    const queue = new AnchorQueue();
    const failing = queue.run('fs1', 60_000, async () => {
      throw new Error('copyset gone');
    }, () => 'timeout');
    const next = queue.run('fs1', 60_000, async () => 'next', () => 'timeout');
    await expect(failing).rejects.toThrow('copyset gone');
    expect(await next).toBe('next');
  });
});
