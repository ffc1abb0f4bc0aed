/**
 * The one error a malformed wire message produces. The service layer maps it to
 * MetaStatusCode.PARAM_ERROR; the Raft transport drops the batch that carried it.
 * Codes are API; messages may change.
 */

export type WireFormatErrorCode =
  /** A `required` field is absent. */
  | 'MISSING_REQUIRED_FIELD'
  /** A 64-bit integer lies outside ±Number.MAX_SAFE_INTEGER (or is negative where unsigned). */
  | 'UNSAFE_INTEGER'
  /** An enum field holds a value its enum does not define. */
  | 'UNKNOWN_ENUM'
  /** A value has the wrong JavaScript type or range for its field (encoding side). */
  | 'INVALID_FIELD'
  /** The bytes are not a protobuf message of the expected type (truncated, bad wire type...). */
  | 'MALFORMED';

export class WireFormatError extends Error {
  readonly code: WireFormatErrorCode;
  /** The fully-qualified protobuf message type being encoded or decoded. */
  readonly messageType: string;
  /** Where in the message, e.g. `inode.parent[2]`; empty for the message as a whole. */
  readonly fieldPath: string;

  constructor(
    code: WireFormatErrorCode,
    messageType: string,
    fieldPath: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${messageType}${fieldPath ? `.${fieldPath}` : ''}: ${detail}`, options);
    this.name = 'WireFormatError';
    this.code = code;
    this.messageType = messageType;
    this.fieldPath = fieldPath;
  }
}
