/**
 * When and how long the client waits before retrying: capped exponential backoff with
 * jitter, bounded by a per-operation deadline. Time and randomness are injected
 * ({@link ClientClock}, `random`) so that tests replay a schedule exactly.
 */

export interface RetryPolicy {
  /** Wait before the first retry (before jitter). */
  readonly initialBackoffMs: number;
  /** Cap on any one wait: a long outage is probed at least this often. */
  readonly maxBackoffMs: number;
  /** Growth of the wait per retry. */
  readonly backoffMultiplier: number;
  /**
   * Share of each wait that is random, in [0, 1]: the wait lies in
   * [base·(1 − jitter), base]. Jitter keeps many clients that failed together from
   * retrying together.
   */
  readonly jitter: number;
  /** Time one operation may take in all, retries and leader look-ups included. */
  readonly operationTimeoutMs: number;
  /** Time one RPC attempt may take (capped by what is left of the operation's time). */
  readonly rpcTimeoutMs: number;
}

/**
 * Defaults: CurveFS's client starts retrying after 50 ms and caps the RPC timeout at a
 * few seconds; an election takes about one election timeout (1 s), so a 15 s operation
 * deadline rides out several failed elections.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialBackoffMs: 50,
  maxBackoffMs: 1_000,
  backoffMultiplier: 2,
  jitter: 0.5,
  operationTimeoutMs: 15_000,
  rpcTimeoutMs: 2_000,
};

/** Exponents above this change nothing (the cap is reached long before) and risk overflow. */
const MAX_BACKOFF_EXPONENT = 30;

/** The wait before retry number `retry` (0 for the first retry); `random()` in [0, 1). */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const exponent = Math.min(Math.max(retry, 0), MAX_BACKOFF_EXPONENT);
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** exponent);
  const jitter = Math.min(Math.max(policy.jitter, 0), 1);
  return base * (1 - jitter * random());
}

export function checkRetryPolicy(policy: RetryPolicy): void {
  const positive = [policy.initialBackoffMs, policy.maxBackoffMs, policy.operationTimeoutMs, policy.rpcTimeoutMs];
  if (!positive.every((value) => Number.isFinite(value) && value > 0)) {
    throw new RangeError('retry policy: backoffs and timeouts must be positive and finite');
  }
  if (!(policy.backoffMultiplier >= 1) || !(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new RangeError('retry policy: backoffMultiplier must be >= 1 and jitter in [0, 1]');
  }
  if (policy.initialBackoffMs > policy.maxBackoffMs) {
    throw new RangeError('retry policy: initialBackoffMs must not exceed maxBackoffMs');
  }
}

/** The client's view of time: a monotonic clock in milliseconds and a way to wait. */
export interface ClientClock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: ClientClock = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
