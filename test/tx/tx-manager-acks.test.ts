import { describe, expect, it } from 'vitest';
import { TxManager } from '../../src/tx/tx-manager.ts';
import type { TxRemote } from '../../src/tx/tx-remote.ts';

function idleManager(outcomeRetentionMs: number): TxManager {
  const refuse = (): Promise<never> => Promise.reject(new Error('no copyset is reachable in this test'));
  const remote: TxRemote = { prepare: refuse, resolve: refuse, status: refuse, getDentry: refuse, getInode: refuse, close: () => undefined };
  return new TxManager({ copyset: () => undefined, remote, clock: () => ({ sec: 0, nsec: 0 }), timings: { outcomeRetentionMs } });
}

describe('TxManager client acknowledgements', () => {
  it('keeps the highest ackedBelow per client, never moving back', () => {
    const manager = idleManager(1_000);
    manager.noteAcked(7, 5, 0);
    manager.noteAcked(7, 3, 10);
    expect(manager.ackedBelow(7)).toBe(5);
    manager.noteAcked(7, 9, 20);
    expect(manager.ackedBelow(7)).toBe(9);
    expect(manager.ackedBelow(8)).toBe(0);
  });

  it('forgets a client not heard from for the outcome retention, and only such a client', () => {
    const manager = idleManager(1_000);
    for (let client = 1; client <= 1_000; client++) manager.noteAcked(client, 2, 0);
    manager.noteAcked(500, 3, 600);
    manager.pruneAcks(999);
    expect(manager.ackedClients).toBe(1_000);
    manager.pruneAcks(1_000);
    expect(manager.ackedClients).toBe(1);
    expect(manager.ackedBelow(500)).toBe(3);
    expect(manager.ackedBelow(1)).toBe(0);
    manager.pruneAcks(1_600);
    expect(manager.ackedClients).toBe(0);
  });
});
