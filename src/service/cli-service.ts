/**
 * curvefs.metaserver.copyset.CliService2: leadership and membership of one copyset.
 * Answers carry the voters before and after the change. Failures are gRPC errors (the
 * messages have no status field), as braft's CLI answers with an error code:
 *
 *   malformed request or peer      → INVALID_ARGUMENT
 *   no such copyset here           → NOT_FOUND
 *   this replica is not the leader → FAILED_PRECONDITION, details name the leader
 *   the change was refused / timed out → ABORTED / DEADLINE_EXCEEDED
 *
 * Membership changes are single-server changes (thesis §4.1), one at a time:
 * AddPeer adds a learner and promotes it once it has caught up (retrying the promotion
 * while the core refuses it as not caught up, up to catchUpTimeoutMs); ChangePeers
 * walks toward the new set one change at a time: additions first (so the group never
 * shrinks below its size), then removals, this replica last.
 */
import * as grpc from '@grpc/grpc-js';
import { HostError } from '../host/host-errors.ts';
import type {
  AddPeerRequest2,
  AddPeerResponse2,
  ChangePeersRequest2,
  ChangePeersResponse2,
  DecodeResult,
  GetLeaderRequest2,
  GetLeaderResponse2,
  Peer,
  RemovePeerRequest2,
  RemovePeerResponse2,
  TransferLeaderRequest2,
  TransferLeaderResponse2,
} from '../proto/index.ts';
import { NotLeaderError, RaftError } from '../raft/errors.ts';
import type { GroupId, NodeId } from '../raft/types.ts';
import { PeerAddressError, groupIdOf, nodeIdOfPeer, peerOfNodeId } from '../server/peer-id.ts';
import type { ServiceBackend } from './service-backend.ts';

/** Wait between promotion attempts of a learner still catching up. */
const PROMOTE_RETRY_MS = 50;

/** A CLI failure with its gRPC status code. */
export class CliError extends Error {
  constructor(
    readonly grpcCode: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

interface PeerLists {
  readonly oldPeers: Peer[];
  readonly newPeers: Peer[];
}

function requireGroup(backend: ServiceBackend, poolId: number, copysetId: number): GroupId {
  const group = groupIdOf(poolId, copysetId);
  if (group === null) throw new CliError(grpc.status.INVALID_ARGUMENT, `bad copyset id (${poolId}, ${copysetId})`);
  if (backend.copyset(group) === undefined) throw new CliError(grpc.status.NOT_FOUND, `copyset (${poolId}, ${copysetId}) is not on this server`);
  return group;
}

function requireLeader(backend: ServiceBackend, group: GroupId): void {
  const status = backend.host.status(group);
  if (status.role !== 'leader') throw notLeader(status.leader);
}

function notLeader(leader: NodeId): CliError {
  return new CliError(grpc.status.FAILED_PRECONDITION, `not the leader; leader: ${peerOfNodeId(leader).address}`);
}

function peerId(peer: Peer | undefined): NodeId {
  try {
    return nodeIdOfPeer(peer);
  } catch (error) {
    if (error instanceof PeerAddressError) throw new CliError(grpc.status.INVALID_ARGUMENT, error.message);
    throw error;
  }
}

function voters(backend: ServiceBackend, group: GroupId): NodeId[] {
  return [...backend.host.status(group).config.voters];
}

function toPeers(ids: readonly NodeId[]): Peer[] {
  return ids.map(peerOfNodeId);
}

/** Maps host and core failures to CLI errors. */
function cliErrorOf(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof NotLeaderError) return notLeader(error.leaderHint);
  if (error instanceof RaftError) return new CliError(grpc.status.ABORTED, error.message);
  if (error instanceof HostError) {
    if (error.code === 'TIMEOUT') return new CliError(grpc.status.DEADLINE_EXCEEDED, error.message);
    if (error.code === 'NO_SUCH_GROUP' || error.code === 'GROUP_LOADING') return new CliError(grpc.status.NOT_FOUND, error.message);
    return new CliError(grpc.status.UNAVAILABLE, error.message);
  }
  return new CliError(grpc.status.INTERNAL, (error as Error).message);
}

/** Adds `node` as a learner, then promotes it once the core agrees it has caught up. */
async function addVoter(backend: ServiceBackend, group: GroupId, node: NodeId): Promise<void> {
  const config = backend.host.status(group).config;
  if (config.voters.includes(node)) return;
  if (!config.learners.includes(node)) await backend.host.addLearner(group, node);
  const deadline = Date.now() + backend.catchUpTimeoutMs;
  for (;;) {
    try {
      await backend.host.promoteLearner(group, node);
      return;
    } catch (error) {
      // Refused while the learner catches up or the previous change is in flight: retry.
      const retriable = error instanceof RaftError && error.code === 'CONFIG_CHANGE_REFUSED';
      if (!retriable) throw error;
      if (Date.now() >= deadline) throw new CliError(grpc.status.DEADLINE_EXCEEDED, `peer ${peerOfNodeId(node).address} did not catch up within ${backend.catchUpTimeoutMs} ms: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, PROMOTE_RETRY_MS));
    }
  }
}

async function removeMember(backend: ServiceBackend, group: GroupId, node: NodeId): Promise<void> {
  const config = backend.host.status(group).config;
  if (!config.voters.includes(node) && !config.learners.includes(node)) return;
  await backend.host.removePeer(group, node);
}

export function getLeader(backend: ServiceBackend, request: GetLeaderRequest2): GetLeaderResponse2 {
  const group = requireGroup(backend, request.poolId, request.copysetId);
  return { leader: peerOfNodeId(backend.host.status(group).leader) };
}

export async function addPeer(backend: ServiceBackend, request: AddPeerRequest2): Promise<AddPeerResponse2> {
  const group = requireGroup(backend, request.poolId, request.copysetId);
  const node = peerId(request.addPeer);
  requireLeader(backend, group);
  const before = voters(backend, group);
  await addVoter(backend, group, node);
  return { oldPeers: toPeers(before), newPeers: toPeers(voters(backend, group)) };
}

export async function removePeer(backend: ServiceBackend, request: RemovePeerRequest2): Promise<RemovePeerResponse2> {
  const group = requireGroup(backend, request.poolId, request.copysetId);
  const node = peerId(request.removePeer);
  requireLeader(backend, group);
  const before = voters(backend, group);
  await removeMember(backend, group, node);
  return { oldPeers: toPeers(before), newPeers: toPeers(backend.copyset(group) !== undefined ? voters(backend, group) : []) };
}

export async function changePeers(backend: ServiceBackend, request: ChangePeersRequest2): Promise<ChangePeersResponse2> {
  const group = requireGroup(backend, request.poolId, request.copysetId);
  const target = request.newPeers.map(peerId);
  if (target.length === 0 || new Set(target).size !== target.length) throw new CliError(grpc.status.INVALID_ARGUMENT, 'newPeers must be a non-empty set of distinct peers');
  requireLeader(backend, group);
  const before = voters(backend, group);
  for (const node of target) if (!before.includes(node)) await addVoter(backend, group, node);
  const removals = voters(backend, group).filter((node) => !target.includes(node));
  // This replica goes last: removing the leader ends its leadership and its ability to continue.
  removals.sort((a, b) => Number(a === backend.nodeId) - Number(b === backend.nodeId));
  for (const node of removals) await removeMember(backend, group, node);
  return { oldPeers: toPeers(before), newPeers: toPeers(voters(backend, group)) };
}

export function transferLeader(backend: ServiceBackend, request: TransferLeaderRequest2): TransferLeaderResponse2 {
  const group = requireGroup(backend, request.poolId, request.copysetId);
  const node = peerId(request.transferee);
  const status = backend.host.status(group);
  if (status.leader === node && (status.role === 'leader' || node !== backend.nodeId)) return {};
  backend.host.transferLeadership(group, node);
  return {};
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<DecodeResult<Req>, Res>, callback: grpc.sendUnaryData<Res>) => void;

function unary<Req, Res>(serve: (request: Req) => Res | Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    if (!call.request.ok) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: call.request.error.message } as grpc.ServiceError);
      return;
    }
    const request = call.request.value;
    Promise.resolve()
      .then(() => serve(request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          const cli = cliErrorOf(error);
          callback({ code: cli.grpcCode, details: cli.message } as grpc.ServiceError);
        },
      );
  };
}

export function cliServiceHandlers(backend: ServiceBackend): grpc.UntypedServiceImplementation {
  return {
    GetLeader: unary((request: GetLeaderRequest2) => getLeader(backend, request)),
    AddPeer: unary((request: AddPeerRequest2) => addPeer(backend, request)),
    RemovePeer: unary((request: RemovePeerRequest2) => removePeer(backend, request)),
    ChangePeers: unary((request: ChangePeersRequest2) => changePeers(backend, request)),
    TransferLeader: unary((request: TransferLeaderRequest2) => transferLeader(backend, request)),
  } as grpc.UntypedServiceImplementation;
}
