/**
 * metaraft.tx.TxService over grpc-js: operations across copysets (docs/transactions.md).
 * The service is a thin gate; the transaction layer behind `backend.tx` does the work:
 *
 *   malformed (does not decode: missing required field)  → PARAM_ERROR
 *   too many requests in flight on this server           → OVERLOAD
 *   no transaction layer on this server                  → TX_FAILED
 *   then the handler's answer (it routes: COPYSET_NOTEXIST, REDIRECTED, ...)
 *
 * A handler that throws fails the call with gRPC INTERNAL, as the other services do.
 * Requests reach the handlers as decoded (they hold no map fields); answers go through
 * toWireShape, so a handler may return an inode in the executor's shape (xattr as a
 * record) or the wire's (xattr as a Map).
 */
import type * as grpc from '@grpc/grpc-js';
import {
  MetaStatusCode,
  SERVICES,
  type DecodeResult,
  type TxCreateRequest,
  type TxLinkRequest,
  type TxPrepareRequest,
  type TxPrepareResponse,
  type TxRenameRequest,
  type TxReply,
  type TxResolveRequest,
  type TxResolveResponse,
  type TxStatusRequest,
  type TxStatusResponse,
  type TxUnlinkRequest,
} from '../proto/index.ts';
import type { ServiceBackend } from './service-backend.ts';
import { statusCodeHandlers } from './unary-handlers.ts';
import { toWireShape } from './wire-shapes.ts';

export const TX_SERVICE = 'metaraft.tx.TxService';
type TxMethod = keyof (typeof SERVICES)[typeof TX_SERVICE];

/** The transaction layer of one server: one method per TxService rpc. */
export interface TxHandlers {
  rename(request: TxRenameRequest): Promise<TxReply>;
  link(request: TxLinkRequest): Promise<TxReply>;
  create(request: TxCreateRequest): Promise<TxReply>;
  unlink(request: TxUnlinkRequest): Promise<TxReply>;
  prepare(request: TxPrepareRequest): Promise<TxPrepareResponse>;
  resolve(request: TxResolveRequest): Promise<TxResolveResponse>;
  status(request: TxStatusRequest): Promise<TxStatusResponse>;
}

type WireAnswer = { statusCode: number; [field: string]: unknown };

/** The handler of each rpc, by method name. */
const HANDLER_OF: Record<TxMethod, keyof TxHandlers> = {
  Rename: 'rename',
  Link: 'link',
  Create: 'create',
  Unlink: 'unlink',
  Prepare: 'prepare',
  Resolve: 'resolve',
  Status: 'status',
};

/** Serves one decoded (or undecodable) TxService request; throws only when the handler does. */
export async function serveTx(backend: ServiceBackend, method: TxMethod, decoded: DecodeResult<unknown>): Promise<WireAnswer> {
  if (!decoded.ok) return { statusCode: MetaStatusCode.PARAM_ERROR };
  if (!backend.tryAdmit()) return { statusCode: MetaStatusCode.OVERLOAD };
  try {
    const tx = backend.tx;
    if (tx === undefined) return { statusCode: MetaStatusCode.TX_FAILED };
    const handler = tx[HANDLER_OF[method]] as (request: unknown) => Promise<{ statusCode: number }>;
    const answer = await handler.call(tx, decoded.value);
    return toWireShape(answer) as WireAnswer;
  } finally {
    backend.release();
  }
}

/** The grpc-js implementation of TxService (for server.addService with serverServiceDefinition). */
export function txServiceHandlers(backend: ServiceBackend): grpc.UntypedServiceImplementation {
  return statusCodeHandlers(Object.keys(SERVICES[TX_SERVICE]) as TxMethod[], (method, decoded) => serveTx(backend, method, decoded));
}
