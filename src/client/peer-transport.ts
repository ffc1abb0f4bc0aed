/**
 * How the client reaches one peer: a unary RPC by service and method name. The gRPC
 * implementation is grpc-peer-transport.ts; tests of the retry logic put a scripted
 * transport here, with a fake clock.
 */

import type { Encodable, MethodName, RequestOf, ResponseOf, ServiceName } from '../proto/index.ts';

export interface PeerTransport {
  /**
   * One attempt of `service.method` at the peer `address` (`ip:port:index`), failing
   * with a {@link TransportError} after `timeoutMs` or when the peer cannot be reached.
   */
  unary<S extends ServiceName, M extends MethodName<S>>(
    address: string,
    service: S,
    method: M,
    request: Encodable<RequestOf<S, M>>,
    timeoutMs: number,
  ): Promise<ResponseOf<S, M>>;
  /** Closes every connection. */
  close(): void;
}

export type TransportErrorCode =
  /** The peer could not be reached or dropped the call: try another peer. */
  | 'UNAVAILABLE'
  /** No answer within the attempt's timeout: the peer may be dead or partitioned. */
  | 'DEADLINE_EXCEEDED'
  /** Anything else (UNIMPLEMENTED, INTERNAL, a malformed answer): retrying will not help. */
  | 'RPC_FAILED';

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  readonly address: string;
  readonly grpcCode: number | undefined;

  constructor(code: TransportErrorCode, address: string, detail: string, extra: { grpcCode?: number; cause?: unknown } = {}) {
    super(`${address}: ${code}: ${detail}`, { cause: extra.cause });
    this.name = 'TransportError';
    this.code = code;
    this.address = address;
    this.grpcCode = extra.grpcCode;
  }

  /** Whether another peer (or the same one later) may answer. */
  get retryable(): boolean {
    return this.code !== 'RPC_FAILED';
  }
}
