/**
 * Three real metaserver processes, one copyset, one file system. The leader is killed
 * with SIGKILL under a create load from four clients; a new leader serves and no
 * acknowledged create is lost; the killed process restarts from its data folder and
 * catches up by log; a follower frozen (SIGSTOP) for several election timeouts and
 * continued (SIGCONT) does not disturb the leader (PreVote: the leader keeps its term).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { PartitionRoute } from '../../src/client/index.ts';
import { LocalCluster } from '../../src/demo/cluster-processes.ts';
import { clusterClient, createFileSystem } from '../../src/demo/cluster-setup.ts';
import type { MetaServerClient } from '../../src/client/index.ts';
import {
  CLIENT_RETRY,
  CreateLoad,
  E2E_TUNING,
  ELECTION_TIMEOUT_MS,
  FS_ID,
  POOL,
  ROOT,
  createFiles,
  missingCreates,
  sleep,
  statusOn,
  waitForCatchUp,
  waitForReportedLeader,
} from './e2e-harness.ts';

const COPYSET = 1;
let cluster: LocalCluster;
let routes: PartitionRoute[];
let admin: MetaServerClient;
/** Every create acknowledged so far, across the tests: all must survive everything. */
const acknowledged = new Map<string, number>();
let killedIndex = -1;

beforeAll(async () => {
  cluster = await LocalCluster.start({ servers: 3, tuning: E2E_TUNING });
  routes = await createFileSystem({ poolId: POOL, copysetIds: [COPYSET], fsId: FS_ID, partitions: 1 }, cluster.peerAddresses());
  admin = clusterClient(routes, CLIENT_RETRY);
}, 60_000);

afterAll(async () => {
  admin?.close();
  await cluster?.kill();
});

test('SIGKILL of the leader under a 4-client create load: a new leader serves and every acknowledged create is there', async () => {
  const peers = cluster.peerAddresses();
  const old = await waitForReportedLeader(admin, peers, COPYSET, 'a first leader');
  const load = new CreateLoad(routes, ROOT, 'kill');
  load.start(4);
  try {
    await load.waitForCount(60, 'before the kill');
    killedIndex = cluster.indexOf(old.peer);
    await cluster.servers[killedIndex]!.kill();
    const atKill = load.count;
    // The new leader serves: creates acknowledged after the kill (bounded wait, no timing assertion).
    await load.waitForCount(atKill + 60, 'after the kill');
  } finally {
    await load.stop();
  }
  for (const [name, inodeId] of load.acknowledged) acknowledged.set(name, inodeId);

  const survivors = peers.filter((peer) => peer !== old.peer);
  const now = await waitForReportedLeader(admin, survivors, COPYSET, 'a new leader among the survivors');
  expect(now.peer).not.toBe(old.peer);
  expect(now.status.term).toBeGreaterThan(old.status.term);
  expect(await missingCreates(routes, ROOT, acknowledged)).toEqual([]);
}, 60_000);

test('the killed server restarts from its data folder and catches up by log (same state hash as the leader)', async () => {
  expect(killedIndex).toBeGreaterThanOrEqual(0);
  const restarted = cluster.servers[killedIndex]!;
  await restarted.start();
  // Writes while it rejoins, then it must reach the leader's applied index with equal state.
  for (const [name, inodeId] of await createFiles(routes, ROOT, 'rejoin', 20)) acknowledged.set(name, inodeId);
  const leader = await waitForReportedLeader(admin, cluster.peerAddresses(), COPYSET, 'the leader');
  expect(leader.peer).not.toBe(restarted.peerAddress);
  const { leader: l, follower: f } = await waitForCatchUp(admin, leader.peer, restarted.peerAddress, COPYSET);
  expect(f.knownAppliedIndex).toBe(l.knownAppliedIndex);
  expect(f.hash).toBeDefined();
  expect(f.hash).toBe(l.hash);
  // By log: the leader kept its whole log (no snapshot at these sizes), so nothing was installed.
  expect(l.firstIndex).toBe(1);
  expect(f.firstIndex).toBe(1);
  expect(await missingCreates(routes, ROOT, acknowledged)).toEqual([]);
}, 60_000);

test('a follower frozen by SIGSTOP past several election timeouts, then SIGCONT, does not disturb the leader (PreVote)', async () => {
  const peers = cluster.peerAddresses();
  const before = await waitForReportedLeader(admin, peers, COPYSET, 'the leader');
  const followerIndex = cluster.servers.findIndex((server) => server.peerAddress !== before.peer);
  const follower = cluster.servers[followerIndex]!;
  expect(follower.signal('SIGSTOP')).toBe(true);
  try {
    // The other two make progress without it; it misses these entries.
    for (const [name, inodeId] of await createFiles(routes, ROOT, 'frozen', 20)) acknowledged.set(name, inodeId);
    await sleep(3 * ELECTION_TIMEOUT_MS);
  } finally {
    follower.signal('SIGCONT');
  }
  // Back: it must rejoin as a follower of the same leader in the same term.
  for (const [name, inodeId] of await createFiles(routes, ROOT, 'thawed', 20)) acknowledged.set(name, inodeId);
  const { leader: l, follower: f } = await waitForCatchUp(admin, before.peer, follower.peerAddress, COPYSET);
  expect(l.state).toBe(1);
  expect(l.term).toBe(before.status.term);
  expect(f.term).toBe(before.status.term);
  expect(f.leader.address).toBe(before.peer);
  expect(f.hash).toBe(l.hash);
  // Some time after the thaw: still the same term everywhere that answers.
  await sleep(2 * ELECTION_TIMEOUT_MS);
  for (const peer of peers) {
    const status = await statusOn(admin, peer, COPYSET);
    if (status !== undefined) expect(status.term).toBe(before.status.term);
  }
  expect(await missingCreates(routes, ROOT, acknowledged)).toEqual([]);
}, 60_000);
