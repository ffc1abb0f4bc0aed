/**
 * CopysetService and CliService2 over real gRPC: creating copysets (identical again,
 * conflicting peers, unparsable peers), status fields on leader and follower, leader
 * transfer, and membership changes (add a fourth server, then remove it).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CopysetOpStatus, FsFileType, MetaStatusCode, PartitionStatus } from '../../src/proto/index.ts';
import { BraftState } from '../../src/service/copyset-service.ts';
import { CLI, COPYSET, META, ServerSet, waitFor } from './harness.ts';

const POOL = 2;
const ID = 5;
let set: ServerSet;

beforeAll(async () => {
  set = await ServerSet.start(3);
  await set.createCopyset(POOL, ID);
}, 30_000);

afterAll(async () => {
  await set?.close();
});

test('CreateCopysetNode: identical again is SUCCESS, other peers EXIST, bad peers PARSE_PEER_ERROR', async () => {
  const caller = set.callers[0]!;
  const peers = set.peers();
  expect((await caller.call(COPYSET, 'CreateCopysetNode', { copysets: [{ poolId: POOL, copysetId: ID, peers: [...peers].reverse() }] })).status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS);
  expect((await caller.call(COPYSET, 'CreateCopysetNode', { copysets: [{ poolId: POOL, copysetId: ID, peers: peers.slice(0, 2) }] })).status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_EXIST);
  expect((await caller.call(COPYSET, 'CreateCopysetNode', { copysets: [{ poolId: POOL, copysetId: 6, peers: [{ address: 'not-an-ip:1:0' }] }] })).status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_PARSE_PEER_ERROR);
  expect(set.servers[0]!.copysetOf(POOL, 6)).toBeUndefined();
});

test('GetCopysetStatus: role, peer, leader, term and indexes, from leader and follower; COPYSET_NOTEXIST elsewhere', async () => {
  const leader = await set.leaderOf(POOL, ID);
  const follower = (leader + 1) % 3;
  const write = await set.callers[leader]!.call(META, 'CreatePartition', { partition: { fsId: 1, poolId: POOL, copysetId: ID, partitionId: 1, start: 0, end: 999, status: PartitionStatus.READWRITE } });
  expect(write.statusCode).toBe(MetaStatusCode.OK);
  const answer = await set.callers[leader]!.call(COPYSET, 'GetCopysetStatus', { poolId: POOL, copysetId: ID, queryHash: true });
  expect(answer.status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS);
  const status = answer.copysetStatus!;
  expect(status.state).toBe(BraftState.LEADER);
  expect(status.peer.address).toBe(set.servers[leader]!.peerAddress);
  expect(status.leader.address).toBe(set.servers[leader]!.peerAddress);
  expect(status.term).toBeGreaterThan(0);
  expect(status.knownAppliedIndex).toBeGreaterThanOrEqual(write.appliedIndex!);
  expect(status.committedIndex).toBeGreaterThanOrEqual(status.knownAppliedIndex);
  expect(status.lastIndex).toBeGreaterThanOrEqual(status.committedIndex);
  expect(status.firstIndex).toBeGreaterThanOrEqual(1);
  expect(status.epoch).toBe(0);
  expect(status.hash).toBe(set.servers[leader]!.copysetOf(POOL, ID)!.store.stateHash());

  await waitFor(() => set.servers[follower]!.copysetOf(POOL, ID)!.store.appliedIndex >= write.appliedIndex!, 'the follower applies');
  const both = await set.callers[follower]!.call(COPYSET, 'GetCopysetsStatus', { copysets: [{ poolId: POOL, copysetId: ID }, { poolId: POOL, copysetId: 77 }] });
  expect(both.status).toHaveLength(2);
  expect(both.status[0]!.copysetStatus).toMatchObject({ state: BraftState.FOLLOWER, term: status.term, leader: { address: set.servers[leader]!.peerAddress } });
  expect(both.status[1]!.status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_COPYSET_NOTEXIST);
  const mismatch = await set.callers[follower]!.call(COPYSET, 'GetCopysetStatus', { poolId: POOL, copysetId: ID, peer: { address: set.servers[leader]!.peerAddress } });
  expect(mismatch.status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_PEER_MISMATCH);
});

test('TransferLeader moves leadership to the transferee; writes then go to it', async () => {
  const leader = await set.leaderOf(POOL, ID);
  const target = (leader + 2) % 3;
  const transferee = { address: set.servers[target]!.peerAddress };
  const other = 3 - leader - target;
  // Only the leader transfers: FAILED_PRECONDITION (9) elsewhere.
  await expect(set.callers[other]!.call(CLI, 'TransferLeader', { poolId: POOL, copysetId: ID, transferee })).rejects.toMatchObject({ code: 9 });
  await set.callers[leader]!.call(CLI, 'TransferLeader', { poolId: POOL, copysetId: ID, transferee });
  await waitFor(() => set.servers[target]!.copysetOf(POOL, ID)!.isLeader(), 'the transferee leads');
  const answer = await set.callers[target]!.call(META, 'CreateInode', { poolId: POOL, copysetId: ID, partitionId: 1, fsId: 1, length: 0, uid: 0, gid: 0, mode: 0o644, type: FsFileType.TYPE_FILE, parent: 1 });
  expect(answer.statusCode).toBe(MetaStatusCode.OK);
  await waitFor(async () => (await set.callers[leader]!.call(CLI, 'GetLeader', { poolId: POOL, copysetId: ID })).leader.address === transferee.address, 'the old leader learns the new one');
});

test('AddPeer adds a fourth server (learner, then voter) that catches up; RemovePeer takes it out', async () => {
  const joiner = await set.startServer(3);
  const peers = set.peers().slice(0, 3);
  // The coordinator creates the copyset on the new server with the current peers first.
  expect((await set.callers[3]!.call(COPYSET, 'CreateCopysetNode', { copysets: [{ poolId: POOL, copysetId: ID, peers }] })).status).toBe(CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS);
  const leader = await set.leaderOf(POOL, ID);
  const follower = [0, 1, 2].find((i) => i !== leader)!;
  await expect(set.callers[follower]!.call(CLI, 'AddPeer', { poolId: POOL, copysetId: ID, addPeer: { address: joiner.peerAddress } })).rejects.toMatchObject({ code: 9 });

  const added = await set.callers[leader]!.call(CLI, 'AddPeer', { poolId: POOL, copysetId: ID, addPeer: { address: joiner.peerAddress } });
  expect(added.oldPeers.map((peer) => peer.address).sort()).toEqual(peers.map((peer) => peer.address).sort());
  expect(added.newPeers.map((peer) => peer.address)).toContain(joiner.peerAddress);
  expect(added.newPeers).toHaveLength(4);
  const leaderStatus = set.servers[leader]!.status().copysets.find((c) => c.copysetId === ID)!;
  expect(leaderStatus.epoch).toBe(2); // add-learner + promote
  await waitFor(() => joiner.copysetOf(POOL, ID)!.store.appliedIndex >= leaderStatus.appliedIndex, 'the new peer catches up');
  expect(joiner.copysetOf(POOL, ID)!.store.stateHash()).toBe(set.servers[leader]!.copysetOf(POOL, ID)!.store.stateHash());

  const removed = await set.callers[leader]!.call(CLI, 'RemovePeer', { poolId: POOL, copysetId: ID, removePeer: { address: joiner.peerAddress } });
  expect(removed.oldPeers).toHaveLength(4);
  expect(removed.newPeers.map((peer) => peer.address).sort()).toEqual(peers.map((peer) => peer.address).sort());

  const changed = await set.callers[leader]!.call(CLI, 'ChangePeers', { poolId: POOL, copysetId: ID, newPeers: peers });
  expect(changed.newPeers.map((peer) => peer.address).sort()).toEqual(changed.oldPeers.map((peer) => peer.address).sort());
  await expect(set.callers[leader]!.call(CLI, 'AddPeer', { poolId: POOL, copysetId: ID, addPeer: { address: '300.1.1.1:5:0' } })).rejects.toMatchObject({ code: 3 });
  await expect(set.callers[leader]!.call(CLI, 'GetLeader', { poolId: POOL, copysetId: 404 })).rejects.toMatchObject({ code: 5 });
}, 30_000);
