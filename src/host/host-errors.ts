/**
 * Operating errors of the host (a broken invariant is an InvariantError instead). Codes
 * are API; messages may change. Not-leader answers use the core's NotLeaderError.
 */
import type { GroupId } from '../raft/types.ts';

export type HostErrorCode =
  | 'OVERLOAD'
  | 'TIMEOUT'
  | 'OUTCOME_UNKNOWN'
  | 'NO_SUCH_GROUP'
  | 'GROUP_EXISTS'
  | 'GROUP_LOADING'
  | 'HOST_STOPPED'
  | 'HOST_FAILED'
  | 'SNAPSHOT_BUSY'
  | 'SNAPSHOT_REFUSED';

export class HostError extends Error {
  readonly code: HostErrorCode;
  readonly group: GroupId | undefined;
  constructor(code: HostErrorCode, message: string, options: { group?: GroupId; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HostError';
    this.code = code;
    this.group = options.group;
  }
}

/** More requests in flight on this host than its limit (CurveFS answers OVERLOAD). */
export class OverloadError extends HostError {
  readonly limit: number;
  constructor(limit: number) {
    super('OVERLOAD', `more than ${limit} requests in flight on this host`);
    this.name = 'OverloadError';
    this.limit = limit;
  }
}

/** A proposal or read did not complete before its deadline; a proposal's outcome is unknown. */
export class RequestTimeoutError extends HostError {
  constructor(group: GroupId, what: string, timeoutMs: number) {
    super('TIMEOUT', `group ${group}: ${what} did not complete within ${timeoutMs} ms`, { group });
    this.name = 'RequestTimeoutError';
  }
}
