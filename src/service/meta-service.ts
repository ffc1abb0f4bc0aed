/**
 * curvefs.metaserver.MetaServerService over grpc-js: every call is routed and checked
 * in wire.md's order, then handed to its copyset:
 *
 *   malformed (does not decode: missing required field, bad enum) → PARAM_ERROR
 *   too many requests in flight on this server                      → OVERLOAD
 *   no such copyset here (or still loading)                         → COPYSET_NOTEXIST
 *   this replica is not the leader                                  → REDIRECTED
 *   then the executor (partition checks, validation, the call)      → its status
 *
 * Reads (GetDentry, ListDentry, GetInode, BatchGet*) are served once leadership is
 * confirmed and the read point applied; writes once their entry is applied here. Every
 * response carries appliedIndex (0 when no copyset state answers it). PrepareRenameTx
 * is CurveFS's compat door (compat-rename.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import type { MetaMethod } from '../executor/requests.ts';
import { META_READ_METHODS, MetaStatusCode, SERVICES, type DecodeResult } from '../proto/index.ts';
import { groupIdOf } from '../server/peer-id.ts';
import { prepareCompatRename, type CompatRenameRequest } from './compat-rename.ts';
import type { ServiceBackend } from './service-backend.ts';
import { statusCodeHandlers } from './unary-handlers.ts';
import { toExecutorShape, toWireShape } from './wire-shapes.ts';

export const META_SERVICE = 'curvefs.metaserver.MetaServerService';
type WireMethod = keyof (typeof SERVICES)[typeof META_SERVICE];

interface Routed {
  readonly poolId?: number;
  readonly copysetId?: number;
  readonly partition?: { readonly poolId?: number; readonly copysetId?: number };
}

type WireAnswer = { statusCode: number; appliedIndex: number; [field: string]: unknown };

/** Serves one decoded (or undecodable) request; never throws for bad input. */
export async function serveMetaCall(backend: ServiceBackend, method: WireMethod, decoded: DecodeResult<unknown>): Promise<WireAnswer> {
  if (!decoded.ok) return { statusCode: MetaStatusCode.PARAM_ERROR, appliedIndex: 0 };
  if (!backend.tryAdmit()) return { statusCode: MetaStatusCode.OVERLOAD, appliedIndex: 0 };
  try {
    const request = decoded.value as Routed;
    // CreatePartition routes by the partition it creates; every other call by its own ids.
    const route = method === 'CreatePartition' ? request.partition : request;
    const group = route === undefined ? null : groupIdOf(route.poolId ?? -1, route.copysetId ?? -1);
    const copyset = group === null ? undefined : backend.copyset(group);
    if (copyset === undefined) return { statusCode: MetaStatusCode.COPYSET_NOTEXIST, appliedIndex: 0 };
    if (!copyset.isLeader()) return { statusCode: MetaStatusCode.REDIRECTED, appliedIndex: copyset.store.appliedIndex };
    const input = toExecutorShape(decoded.value);
    let response: unknown;
    if (method === 'PrepareRenameTx') {
      response = await copyset.submit(() => prepareCompatRename(copyset.executor.view, copyset.store.appliedIndex, input as CompatRenameRequest));
    } else if (META_READ_METHODS.has(method)) {
      response = await copyset.read(method as MetaMethod, input as never);
    } else {
      response = await copyset.write(method as MetaMethod, input as never);
    }
    return toWireShape(response) as WireAnswer;
  } finally {
    backend.release();
  }
}

/** The grpc-js implementation of MetaServerService (for server.addService with serverServiceDefinition). */
export function metaServiceHandlers(backend: ServiceBackend): grpc.UntypedServiceImplementation {
  return statusCodeHandlers(Object.keys(SERVICES[META_SERVICE]) as WireMethod[], (method, decoded) => serveMetaCall(backend, method, decoded));
}
