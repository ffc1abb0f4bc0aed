/**
 * Replacing a peer with real processes, through CliService2, while clients write: a
 * fourth process joins (AddPeer: learner, caught up, promoted), then an old follower
 * leaves (RemovePeer). Then the removed process and a second old follower are killed:
 * the copyset still commits, which it can only do if the newcomer is a voting member.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { MetaServerClient, PartitionRoute } from '../../src/client/index.ts';
import { LocalCluster } from '../../src/demo/cluster-processes.ts';
import { clusterClient, createFileSystem } from '../../src/demo/cluster-setup.ts';
import { CopysetOpStatus } from '../../src/proto/index.ts';
import { CLIENT_RETRY, CreateLoad, E2E_TUNING, FS_ID, POOL, ROOT, createFiles, missingCreates, waitForCatchUp, waitForReportedLeader } from './e2e-harness.ts';

const COPYSET = 1;
let cluster: LocalCluster;
let routes: PartitionRoute[];
let admin: MetaServerClient;

beforeAll(async () => {
  cluster = await LocalCluster.start({ servers: 3, tuning: E2E_TUNING });
  routes = await createFileSystem({ poolId: POOL, copysetIds: [COPYSET], fsId: FS_ID, partitions: 1 }, cluster.peerAddresses());
  admin = clusterClient(routes, CLIENT_RETRY);
}, 60_000);

afterAll(async () => {
  admin?.close();
  await cluster?.kill();
});

const sorted = (peers: readonly { address?: string }[]): string[] => peers.map((peer) => peer.address ?? '').sort();

test('AddPeer of a fourth process, then RemovePeer of an old one, under a create load: every write is there and the newcomer votes', async () => {
  const oldPeers = cluster.peerAddresses();
  const load = new CreateLoad(routes, ROOT, 'swap');
  load.start(3);
  let leader: string;
  let removed: string;
  let newcomer: string;
  try {
    await load.waitForCount(40, 'before the change');
    const joiner = await cluster.addServer();
    newcomer = joiner.peerAddress;
    // As a coordinator does: the copyset is created on the new server with the current peers first.
    const created = await admin.createCopysetNode({ copysets: [{ poolId: POOL, copysetId: COPYSET, peers: oldPeers.map((address) => ({ address })) }] }, newcomer);
    expect(created.status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS);

    const added = await admin.addPeer({ poolId: POOL, copysetId: COPYSET, addPeer: { address: newcomer } });
    expect(sorted(added.oldPeers)).toEqual([...oldPeers].sort());
    expect(sorted(added.newPeers)).toEqual([...oldPeers, newcomer].sort());
    const atAdd = load.count;
    await load.waitForCount(atAdd + 30, 'between the add and the remove');

    leader = (await waitForReportedLeader(admin, oldPeers, COPYSET, 'the leader')).peer;
    removed = oldPeers.find((peer) => peer !== leader)!;
    const removal = await admin.removePeer({ poolId: POOL, copysetId: COPYSET, removePeer: { address: removed } });
    expect(sorted(removal.newPeers)).toEqual(oldPeers.filter((peer) => peer !== removed).concat(newcomer).sort());
    const atRemove = load.count;
    await load.waitForCount(atRemove + 30, 'after the remove');
  } finally {
    await load.stop();
  }

  // The newcomer has the same state as the leader.
  const { leader: l, follower: f } = await waitForCatchUp(admin, leader!, newcomer!, COPYSET);
  expect(f.hash).toBe(l.hash);
  expect(l.epoch).toBeGreaterThanOrEqual(3); // add learner, promote, remove

  // Kill the removed process and the other old follower: only the leader and the
  // newcomer remain, a majority of the new configuration only if the newcomer votes.
  const otherOld = oldPeers.find((peer) => peer !== leader && peer !== removed)!;
  await cluster.servers[cluster.indexOf(removed!)]!.kill();
  await cluster.servers[cluster.indexOf(otherOld)]!.kill();
  const after = await createFiles(routes, ROOT, 'two-of-three', 10);
  expect(after.size).toBe(10);

  const all = new Map([...load.acknowledged, ...after]);
  expect(await missingCreates(routes, ROOT, all)).toEqual([]);
}, 90_000);
