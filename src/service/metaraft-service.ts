/**
 * metaraft.meta.MetaraftService over grpc-js: metaraft's own calls, which CurveFS's
 * MetaServerService has no room for. Routed and checked in wire.md's order, exactly
 * like meta-service.ts, with the same backend (one in-flight limit for both services):
 *
 *   malformed (does not decode: missing required field)  → PARAM_ERROR
 *   too many requests in flight on this server           → OVERLOAD
 *   no such copyset here (or still loading)              → COPYSET_NOTEXIST
 *   this replica is not the leader                       → REDIRECTED
 *   then the executor's Rename                           → its status
 *
 * Rename is the executor's atomic rename inside one copyset (executor/rename-call.ts):
 * one log entry, answered once applied here, appliedIndex = that entry's index.
 */
import type * as grpc from '@grpc/grpc-js';
import { MetaStatusCode, SERVICES, type DecodeResult, type MetaraftRenameRequest } from '../proto/index.ts';
import { groupIdOf } from '../server/peer-id.ts';
import type { ServiceBackend } from './service-backend.ts';
import { statusCodeHandlers } from './unary-handlers.ts';
import { toExecutorShape, toWireShape } from './wire-shapes.ts';

export const METARAFT_SERVICE = 'metaraft.meta.MetaraftService';
type MetaraftMethod = keyof (typeof SERVICES)[typeof METARAFT_SERVICE];

type WireAnswer = { statusCode: number; appliedIndex: number; [field: string]: unknown };

/** Serves one decoded (or undecodable) Rename; never throws for bad input. */
export async function serveMetaraftRename(backend: ServiceBackend, decoded: DecodeResult<MetaraftRenameRequest>): Promise<WireAnswer> {
  if (!decoded.ok) return { statusCode: MetaStatusCode.PARAM_ERROR, appliedIndex: 0 };
  if (!backend.tryAdmit()) return { statusCode: MetaStatusCode.OVERLOAD, appliedIndex: 0 };
  try {
    const request = decoded.value;
    const group = groupIdOf(request.poolId, request.copysetId);
    const copyset = group === null ? undefined : backend.copyset(group);
    if (copyset === undefined) return { statusCode: MetaStatusCode.COPYSET_NOTEXIST, appliedIndex: 0 };
    if (!copyset.isLeader()) return { statusCode: MetaStatusCode.REDIRECTED, appliedIndex: copyset.store.appliedIndex };
    const response = await copyset.write('Rename', toExecutorShape(request) as MetaraftRenameRequest);
    return { appliedIndex: 0, ...(toWireShape(response) as { statusCode: number }) };
  } finally {
    backend.release();
  }
}

const SERVERS: Record<MetaraftMethod, (backend: ServiceBackend, decoded: DecodeResult<never>) => Promise<WireAnswer>> = {
  Rename: serveMetaraftRename,
};

/** The grpc-js implementation of MetaraftService (for server.addService with serverServiceDefinition). */
export function metaraftServiceHandlers(backend: ServiceBackend): grpc.UntypedServiceImplementation {
  return statusCodeHandlers(Object.keys(SERVICES[METARAFT_SERVICE]) as MetaraftMethod[], (method, decoded) => SERVERS[method](backend, decoded));
}
