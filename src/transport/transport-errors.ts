/**
 * Operating errors of the gRPC transport (a broken invariant is an InvariantError
 * instead). Codes are API; messages may change.
 */

export type TransportErrorCode =
  /** An option is missing or out of range. */
  | 'BAD_CONFIG'
  /** No address is known for the node a snapshot was sent to. */
  | 'UNKNOWN_PEER'
  /** The snapshot stream to the peer failed before its answer came back. */
  | 'PEER_UNREACHABLE'
  /** The receiver answered the snapshot transfer with a refusal (its reason is the message). */
  | 'SNAPSHOT_REFUSED'
  /** The transport is closed (or not started). */
  | 'CLOSED';

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}
