/**
 * grpc-js handlers for the services whose answers carry a status code (MetaServerService,
 * MetaraftService, TxService): each method's decoded (or undecodable) request goes to
 * `serve`, which answers bad input itself; a throw is a bug and becomes gRPC INTERNAL.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DecodeResult } from '../proto/index.ts';

export function statusCodeHandlers<M extends string, A>(
  methods: readonly M[],
  serve: (method: M, decoded: DecodeResult<never>) => Promise<A>,
): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of methods) {
    handlers[method] = (call: grpc.ServerUnaryCall<DecodeResult<never>, A>, callback: grpc.sendUnaryData<A>) => {
      serve(method, call.request).then(
        (response) => callback(null, response),
        (error: unknown) => callback({ code: 13, details: `internal error: ${(error as Error).message}` } as grpc.ServiceError),
      );
    };
  }
  return handlers;
}
