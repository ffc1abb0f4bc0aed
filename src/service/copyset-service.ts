/**
 * curvefs.metaserver.copyset.CopysetService: creating copysets and reporting their Raft
 * state. Status answers come from the host's in-memory status and never wait for
 * anything (curve-facts.md: CurveFS once held a loading lock that heartbeats needed).
 */
import type * as grpc from '@grpc/grpc-js';
import {
  CopysetOpStatus,
  type CopysetStatus,
  type CopysetStatusRequest,
  type CopysetStatusResponse,
  type CreateCopysetRequest,
  type CreateCopysetResponse,
  type CopysetsStatusRequest,
  type CopysetsStatusResponse,
  type DecodeResult,
} from '../proto/index.ts';
import type { Role } from '../raft/types.ts';
import { PeerAddressError, groupIdOf, nodeIdOfPeer, peerOfNodeId } from '../server/peer-id.ts';
import type { ServiceBackend } from './service-backend.ts';

/** braft's node states, as CurveFS reports them in CopysetStatus.state. */
export const BraftState = {
  LEADER: 1,
  TRANSFERRING: 2,
  CANDIDATE: 3,
  FOLLOWER: 4,
  ERROR: 5,
  UNINITIALIZED: 6,
} as const;

function stateOf(role: Role, transferring: boolean): number {
  if (role === 'leader') return transferring ? BraftState.TRANSFERRING : BraftState.LEADER;
  if (role === 'follower') return BraftState.FOLLOWER;
  return BraftState.CANDIDATE;
}

export async function createCopysets(backend: ServiceBackend, request: CreateCopysetRequest): Promise<CreateCopysetResponse> {
  let worst: CopysetOpStatus = CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS;
  for (const copyset of request.copysets) {
    const group = groupIdOf(copyset.poolId, copyset.copysetId);
    if (group === null) return { status: CopysetOpStatus.COPYSET_OP_STATUS_FAILURE_UNKNOWN };
    let members: number[];
    try {
      members = copyset.peers.map((peer) => nodeIdOfPeer(peer));
    } catch (error) {
      if (error instanceof PeerAddressError) return { status: CopysetOpStatus.COPYSET_OP_STATUS_PARSE_PEER_ERROR };
      throw error;
    }
    if (new Set(members).size !== members.length) return { status: CopysetOpStatus.COPYSET_OP_STATUS_PARSE_PEER_ERROR };
    const outcome = await backend.createCopyset(group, members);
    if (outcome === 'conflict') worst = CopysetOpStatus.COPYSET_OP_STATUS_EXIST;
  }
  return { status: worst };
}

export function copysetStatus(backend: ServiceBackend, request: CopysetStatusRequest): CopysetStatusResponse {
  const group = groupIdOf(request.poolId, request.copysetId);
  const notHere = { status: CopysetOpStatus.COPYSET_OP_STATUS_COPYSET_NOTEXIST };
  if (group === null) return notHere;
  const self = peerOfNodeId(backend.nodeId);
  if (request.peer !== undefined) {
    let asked: number;
    try {
      asked = nodeIdOfPeer(request.peer);
    } catch {
      return { status: CopysetOpStatus.COPYSET_OP_STATUS_PARSE_PEER_ERROR };
    }
    if (asked !== backend.nodeId) return { status: CopysetOpStatus.COPYSET_OP_STATUS_PEER_MISMATCH };
  }
  if (backend.isLoading(group)) return { status: CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS, copysetStatus: loadingStatus(self) };
  const copyset = backend.copyset(group);
  if (copyset === undefined) return notHere;
  let status;
  try {
    status = backend.host.status(group);
  } catch {
    return notHere;
  }
  const copysetStatus: CopysetStatus = {
    state: stateOf(status.role, status.leadTransferee !== 0),
    peer: self,
    leader: peerOfNodeId(status.leader),
    readonly: false,
    term: status.term,
    committedIndex: status.commit,
    knownAppliedIndex: status.stateMachineApplied,
    pendingIndex: 0,
    pendingQueueSize: copyset.waitingWrites,
    applyingIndex: status.stateMachineApplied,
    firstIndex: status.firstIndex,
    lastIndex: status.lastIndex,
    diskIndex: status.lastIndex,
    epoch: status.config.epoch,
    // A full scan: only on request (a coordinator comparing replicas).
    ...(request.queryHash === true ? { hash: copyset.store.stateHash() } : {}),
  };
  return { status: CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS, copysetStatus };
}

function loadingStatus(self: ReturnType<typeof peerOfNodeId>): CopysetStatus {
  return {
    state: BraftState.UNINITIALIZED,
    peer: self,
    leader: peerOfNodeId(0),
    readonly: true,
    term: 0,
    committedIndex: 0,
    knownAppliedIndex: 0,
    pendingIndex: 0,
    pendingQueueSize: 0,
    applyingIndex: 0,
    firstIndex: 0,
    lastIndex: 0,
    diskIndex: 0,
    epoch: 0,
  };
}

export function copysetsStatus(backend: ServiceBackend, request: CopysetsStatusRequest): CopysetsStatusResponse {
  return { status: request.copysets.map((one) => copysetStatus(backend, one)) };
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<DecodeResult<Req>, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** A malformed CopysetService request: answered as a peer that cannot be parsed (no status code fits better). */
const MALFORMED = CopysetOpStatus.COPYSET_OP_STATUS_PARSE_PEER_ERROR;

export function copysetServiceHandlers(backend: ServiceBackend): grpc.UntypedServiceImplementation {
  const CreateCopysetNode: Unary<CreateCopysetRequest, CreateCopysetResponse> = (call, callback) => {
    if (!call.request.ok) return callback(null, { status: MALFORMED });
    createCopysets(backend, call.request.value).then(
      (response) => callback(null, response),
      () => callback(null, { status: CopysetOpStatus.COPYSET_OP_STATUS_FAILURE_UNKNOWN }),
    );
  };
  const GetCopysetStatus: Unary<CopysetStatusRequest, CopysetStatusResponse> = (call, callback) => {
    callback(null, call.request.ok ? copysetStatus(backend, call.request.value) : { status: MALFORMED });
  };
  const GetCopysetsStatus: Unary<CopysetsStatusRequest, CopysetsStatusResponse> = (call, callback) => {
    callback(null, call.request.ok ? copysetsStatus(backend, call.request.value) : { status: [] });
  };
  return { CreateCopysetNode, GetCopysetStatus, GetCopysetsStatus } as grpc.UntypedServiceImplementation;
}
