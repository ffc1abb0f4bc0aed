/**
 * Catch-up by snapshot with real processes: the servers snapshot (and compact their
 * log) every few KiB of applied entries. The leader is killed with SIGKILL, the others
 * move on far past its log and compact, and the restarted process can only catch up by
 * installing a snapshot streamed from the new leader.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { MetaServerClient, PartitionRoute } from '../../src/client/index.ts';
import { LocalCluster } from '../../src/demo/cluster-processes.ts';
import { clusterClient, createFileSystem } from '../../src/demo/cluster-setup.ts';
import { CLIENT_RETRY, CreateLoad, E2E_TUNING, FS_ID, POOL, ROOT, missingCreates, statusOn, waitFor, waitForCatchUp, waitForReportedLeader } from './e2e-harness.ts';

const COPYSET = 1;
/** A snapshot every 16 KiB of applied entries: a few dozen creates. */
const SNAPSHOT_LOG_BYTES = 16 * 1024;
let cluster: LocalCluster;
let routes: PartitionRoute[];
let admin: MetaServerClient;

beforeAll(async () => {
  cluster = await LocalCluster.start({ servers: 3, tuning: { ...E2E_TUNING, snapshotLogBytes: SNAPSHOT_LOG_BYTES } });
  routes = await createFileSystem({ poolId: POOL, copysetIds: [COPYSET], fsId: FS_ID, partitions: 1 }, cluster.peerAddresses());
  admin = clusterClient(routes, CLIENT_RETRY);
}, 60_000);

afterAll(async () => {
  admin?.close();
  await cluster?.kill();
});

test('a SIGKILLed leader restarted after the others compacted past its log catches up by snapshot', async () => {
  const peers = cluster.peerAddresses();
  const old = await waitForReportedLeader(admin, peers, COPYSET, 'a first leader');
  const load = new CreateLoad(routes, ROOT, 'snap');
  load.start(4);
  let lastIndexAtKill = 0;
  const victim = cluster.servers[cluster.indexOf(old.peer)]!;
  try {
    await load.waitForCount(40, 'before the kill');
    lastIndexAtKill = (await statusOn(admin, old.peer, COPYSET))?.lastIndex ?? 0;
    await victim.kill();
    // The survivors' log must start after anything the victim can have: its last index
    // is at most what it reported plus what it appended before dying, all below the
    // new leader's first index once that moved well past it.
    const survivors = peers.filter((peer) => peer !== old.peer);
    await waitFor(
      async () => {
        const leader = await waitForReportedLeader(admin, survivors, COPYSET, 'a new leader');
        return leader.status.firstIndex > lastIndexAtKill + 200;
      },
      'the new leader to compact its log past the victim',
      45_000,
      200,
    );
  } finally {
    await load.stop();
  }
  expect(lastIndexAtKill).toBeGreaterThan(0);
  const leader = await waitForReportedLeader(admin, peers.filter((peer) => peer !== old.peer), COPYSET, 'the new leader');

  await victim.start();
  const { leader: l, follower: f } = await waitForCatchUp(admin, leader.peer, victim.peerAddress, COPYSET, 45_000);
  expect(f.knownAppliedIndex).toBe(l.knownAppliedIndex);
  expect(f.hash).toBe(l.hash);
  // Its log now starts after a snapshot it installed: beyond anything it had before.
  expect(f.firstIndex).toBeGreaterThan(lastIndexAtKill);
  expect(load.failures.filter((error) => !/DEADLINE|UNAVAILABLE|REDIRECTED/.test(error.message))).toEqual([]);
  expect(await missingCreates(routes, ROOT, load.acknowledged)).toEqual([]);
}, 90_000);
