/**
 * Two kinds of failure (see docs/architecture.md): a broken invariant is a bug and
 * throws InvariantError; an operating condition (not leader, compacted, ...) is a
 * RaftError with a stable `code`. Codes are API; messages may change.
 */

export type RaftErrorCode =
  | 'NOT_LEADER'
  | 'PROPOSAL_DROPPED'
  | 'COMPACTED'
  | 'UNAVAILABLE'
  | 'CONFIG_CHANGE_REFUSED'
  | 'TRANSFER_REFUSED'
  | 'READ_REFUSED'
  | 'BAD_CONFIG';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RaftError';
    this.code = code;
  }
}

/** The replica is not the leader; `leaderHint` is the leader it knows of (0: none). */
export class NotLeaderError extends RaftError {
  readonly leaderHint: number;
  constructor(leaderHint: number) {
    super('NOT_LEADER', `not the leader (leader hint: ${leaderHint || 'none'})`);
    this.name = 'NotLeaderError';
    this.leaderHint = leaderHint;
  }
}

/** The requested index is below the first index kept in the log. */
export class CompactedError extends RaftError {
  constructor(index: number, firstIndex: number) {
    super('COMPACTED', `index ${index} is compacted (first index ${firstIndex})`);
    this.name = 'CompactedError';
  }
}

/** The requested index is above the last index of the log. */
export class UnavailableError extends RaftError {
  constructor(index: number, lastIndex: number) {
    super('UNAVAILABLE', `index ${index} is beyond the last index ${lastIndex}`);
    this.name = 'UnavailableError';
  }
}

/** A rule of Raft or of the design was broken: a bug. Never caught to continue. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

/** Asserts an invariant; the message should cite the rule (paper section) it checks. */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'function' ? message() : message);
}

export function assertIndex(value: number, what: string): void {
  invariant(Number.isSafeInteger(value) && value >= 0, () => `${what} must be a non-negative safe integer, got ${value}`);
}
