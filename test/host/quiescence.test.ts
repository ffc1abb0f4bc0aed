import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/raft/types.ts';
import { TestCluster, sleep, waitFor } from './cluster.ts';

const NODES = [1, 2, 3];
const GROUPS = [51, 52, 53, 54];

async function allQuiesced(cluster: TestCluster, nodes: readonly NodeId[]): Promise<void> {
  await waitFor(() => nodes.every((id) => GROUPS.every((g) => cluster.host(id).status(g).quiesced)), 10_000, 'every group quiesced');
}

/** Waits for a window of `windowMs` in which no Raft message crossed the hub. */
async function silentWindow(cluster: TestCluster, windowMs: number): Promise<{ keepalives: number }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const before = { ...cluster.hub.delivered };
    await sleep(windowMs);
    const after = cluster.hub.delivered;
    if (after.envelopes === before.envelopes) return { keepalives: after.keepalives - before.keepalives };
    if (Date.now() > deadline) throw new Error('Raft messages never stopped');
  }
}

describe('RaftHost: quiescence', () => {
  let cluster: TestCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('idle groups stop sending Raft messages while hosts keep exchanging keepalives; a write wakes them', async () => {
    cluster = await TestCluster.start(NODES);
    for (const g of GROUPS) await cluster.createGroup(g);
    for (const g of GROUPS) await cluster.put(g, 'k', 'v1');
    await allQuiesced(cluster, NODES);
    const { keepalives } = await silentWindow(cluster, 300);
    expect(keepalives).toBeGreaterThan(0);
    const index = await cluster.put(GROUPS[0]!, 'k', 'v2');
    await cluster.waitForApplied(GROUPS[0]!, index);
    for (const id of NODES) expect(cluster.machine(id, GROUPS[0]!).get('k')).toBe('v2');
  });

  it('a silently dead leader of quiesced groups is detected by missing keepalives and replaced', async () => {
    cluster = await TestCluster.start(NODES);
    for (const g of GROUPS) await cluster.createGroup(g);
    for (const g of GROUPS) await cluster.put(g, 'k', 'v1');
    await allQuiesced(cluster, NODES);
    await silentWindow(cluster, 200);
    const dead = cluster.leaderOf(GROUPS[0]!)!;
    const led = GROUPS.filter((g) => cluster!.leaderOf(g) === dead);
    // No transport error is ever reported: only the missing keepalives tell.
    cluster.hub.silence(dead);
    const alive = NODES.filter((id) => id !== dead);
    for (const g of led) {
      await waitFor(() => alive.some((id) => cluster!.host(id).status(g).role === 'leader'), 10_000, `a new leader of group ${g}`);
    }
    await cluster.stopHost(dead);
    for (const g of GROUPS) {
      const index = await cluster.put(g, 'k', 'v2');
      await cluster.waitForApplied(g, index, alive);
      for (const id of alive) expect(cluster.machine(id, g).get('k')).toBe('v2');
    }
  });

  it('a stopped leader is detected through the transport reporting it unreachable', async () => {
    cluster = await TestCluster.start(NODES, { peerLivenessTimeoutMs: 60_000 });
    for (const g of GROUPS) await cluster.createGroup(g);
    for (const g of GROUPS) await cluster.put(g, 'k', 'v1');
    await allQuiesced(cluster, NODES);
    const dead = cluster.leaderOf(GROUPS[0]!)!;
    await cluster.stopHost(dead);
    const alive = NODES.filter((id) => id !== dead);
    for (const g of GROUPS) {
      const index = await cluster.put(g, 'k', 'v2');
      await cluster.waitForApplied(g, index, alive);
    }
  });
});
