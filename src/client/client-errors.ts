/**
 * The errors of the client library. Codes are API; messages may change.
 *
 * - {@link MetaClientError}: the metaserver answered, with a MetaStatusCode other than
 *   OK that the client does not handle itself (REDIRECTED, OVERLOAD and
 *   COPYSET_NOTEXIST are retried, never surfaced while time is left).
 * - {@link ClientCallError}: no answer could be had: deadline, closed client, a gRPC
 *   failure that retrying cannot fix.
 * - {@link RoutingError}: the partition table cannot place the request.
 * - {@link FsError}: a file-system operation refused on the client side (POSIX errno-like).
 */

import { MetaStatusCode } from '../proto/index.ts';

export type MetaStatusName = keyof typeof MetaStatusCode;

const STATUS_NAMES: ReadonlyMap<number, MetaStatusName> = new Map(
  (Object.entries(MetaStatusCode) as [MetaStatusName, number][]).map(([name, value]) => [value, name]),
);

/** The name of a MetaStatusCode number; unknown numbers read as UNKNOWN_ERROR. */
export function metaStatusName(status: number): MetaStatusName {
  return STATUS_NAMES.get(status) ?? 'UNKNOWN_ERROR';
}

export class MetaClientError extends Error {
  /** The MetaStatusCode name, e.g. `NOT_FOUND`. */
  readonly code: MetaStatusName;
  /** The MetaStatusCode number as received. */
  readonly status: number;
  /** The RPC that answered it, e.g. `GetInode`. */
  readonly method: string;

  constructor(method: string, status: number, options?: { cause?: unknown }) {
    const code = metaStatusName(status);
    super(`${method}: ${code} (${status})`, options);
    this.name = 'MetaClientError';
    this.code = code;
    this.status = status;
    this.method = method;
  }
}

/** True when `error` is a MetaClientError with one of the given codes. */
export function isMetaError(error: unknown, ...codes: MetaStatusName[]): error is MetaClientError {
  return error instanceof MetaClientError && (codes.length === 0 || codes.includes(error.code));
}

export type ClientCallErrorCode =
  /** The operation's deadline passed before any peer gave a final answer. */
  | 'DEADLINE_EXCEEDED'
  /** The client was closed. */
  | 'CLIENT_CLOSED'
  /** A gRPC failure that retrying would not fix (UNIMPLEMENTED, INTERNAL, a malformed answer...). */
  | 'RPC_FAILED';

export class ClientCallError extends Error {
  readonly code: ClientCallErrorCode;
  readonly method: string;
  /** Attempts made (RPCs of the method itself, not GetLeader probes). */
  readonly attempts: number;
  /** The gRPC status number when the failure came from gRPC. */
  readonly grpcCode: number | undefined;

  constructor(
    code: ClientCallErrorCode,
    method: string,
    detail: string,
    extra: { attempts?: number; grpcCode?: number; cause?: unknown } = {},
  ) {
    super(`${method}: ${code}: ${detail}`, { cause: extra.cause });
    this.name = 'ClientCallError';
    this.code = code;
    this.method = method;
    this.attempts = extra.attempts ?? 0;
    this.grpcCode = extra.grpcCode;
  }
}

export type RoutingErrorCode =
  /** No partition of the file system holds the inode id. */
  | 'NO_PARTITION'
  /** No READWRITE partition of the file system has ids left for a new inode. */
  | 'NO_WRITABLE_PARTITION'
  /** The copyset is not in the partition table. */
  | 'UNKNOWN_COPYSET'
  /** The partition table given is inconsistent (overlap, bad range, bad peer address). */
  | 'INVALID_TABLE';

export class RoutingError extends Error {
  readonly code: RoutingErrorCode;
  constructor(code: RoutingErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RoutingError';
    this.code = code;
  }
}

export type FsErrorCode =
  /** rmdir, or rename over a directory, that still has entries (ENOTEMPTY). */
  | 'NOT_EMPTY'
  /** rmdir of a non-directory, or a directory operation on a file (ENOTDIR). */
  | 'NOT_DIRECTORY'
  /** unlink or link of a directory (EISDIR / EPERM). */
  | 'IS_DIRECTORY'
  /** CurveFS's rename protocol: the two parents live in different partitions (EXDEV). */
  | 'CROSS_PARTITION'
  /** No longer thrown: metaraft renames across copysets through TxService. Kept so that callers matching on it still compile. */
  | 'CROSS_COPYSET';

export class FsError extends Error {
  readonly code: FsErrorCode;
  constructor(code: FsErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'FsError';
    this.code = code;
  }
}
