/**
 * A linearizability checker for histories of client operations.
 *
 * The search is Wing & Gong's, with Lowe's "just-in-time" refinement and the
 * memoization of the porcupine checker: the history becomes a list of call and return
 * events ordered by time; the search walks the list, tentatively linearizing an
 * operation at its call event (if the sequential model accepts it) and backtracking when
 * it reaches the return event of an operation not yet linearized. A configuration
 * (set of linearized operations, model state) already explored is never explored again,
 * which turns the exponential search into one that is usually fast in practice.
 *
 * Each partition (for a key-value store: each key) is checked on its own, since a
 * history is linearizable iff each of its independent parts is (Herlihy & Wing's
 * locality).
 *
 * Operations whose outcome is unknown (`return === Infinity`: the client gave up) are
 * optional: they may take effect at any point after their call, or never.
 */

/** One client operation. `return === Infinity`: outcome unknown (may or may not have taken effect). */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  output: O;
  call: number;
  return: number;
}

/** The sequential specification the history is checked against. */
export interface Model<S, I, O> {
  init(): S;
  /**
   * Applies `input` to `state`; ok is false if the sequential object could not have
   * answered `output`. Must not mutate `state`: the search backtracks to it.
   */
  step(state: S, input: I, output: O): [ok: boolean, next: S];
  /** Splits a history into independent parts (by default: one part). */
  partition?(history: Operation<I, O>[]): Operation<I, O>[][];
  /** Default: `===`. */
  equal?(a: S, b: S): boolean;
  /** For memoization; equal states must hash equally. Default: `String(s)`. */
  hash?(s: S): string;
  describeOperation?(input: I, output: O): string;
  /** Names a partition in reports (for a key-value store: its key). Default: its position. */
  describePartition?(partition: Operation<I, O>[]): string;
}

export type CheckResult = 'ok' | 'illegal' | 'unknown';

export interface CheckOutcome {
  result: CheckResult;
  /** On 'illegal': the partition, the longest linearizable prefix and the operation that could not be placed. */
  info?: string;
}

export interface CheckOptions {
  /** Give up (result 'unknown') after this long. Default: no limit. */
  timeoutMs?: number;
}

/** The history itself is malformed (not a failure of linearizability). */
export class HistoryError extends Error {
  readonly code = 'BAD_HISTORY';
  constructor(message: string) {
    super(message);
    this.name = 'HistoryError';
  }
}

/** The model cannot be used for the search (not a failure of linearizability). */
export class ModelError extends Error {
  readonly code = 'BAD_MODEL';
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Reading the clock on every search step would cost more than the step itself. */
const DEADLINE_CHECK_INTERVAL_STEPS = 1024;
/** Reports list at most this many operations of a prefix, so a failure stays readable. */
const MAX_REPORTED_PREFIX_OPERATIONS = 40;
const NONE = -1;

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: Operation<I, O>[],
  options: CheckOptions = {},
): CheckOutcome {
  history.forEach(validateOperation);
  validateModel(model);
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const partitions = model.partition ? model.partition(history) : [history];
  for (let p = 0; p < partitions.length; p++) {
    const partition = partitions[p]!;
    const name = model.describePartition ? model.describePartition(partition) : `partition #${p}`;
    if (Date.now() >= deadline) return { result: 'unknown', info: `timed out before checking ${name}` };
    const outcome = searchPartition(model, partition, deadline);
    if (outcome.kind === 'timeout') return { result: 'unknown', info: `timed out while checking ${name}` };
    if (outcome.kind === 'illegal') return { result: 'illegal', info: describeFailure(model, partition, name, outcome) };
  }
  return { result: 'ok' };
}

function validateOperation<I, O>(op: Operation<I, O>, position: number): void {
  if (!Number.isFinite(op.call)) throw new HistoryError(`operation #${position}: call time must be finite, got ${op.call}`);
  if (Number.isNaN(op.return) || op.return < op.call) {
    throw new HistoryError(`operation #${position}: return time ${op.return} precedes call time ${op.call}`);
  }
}

/**
 * Object states hashed by the default `String(s)` all look alike ("[object Object]") and
 * compare by identity, so memoization would never hit and the search would go exponential
 * on histories it otherwise checks in milliseconds: refuse such a model up front.
 */
function validateModel<S, I, O>(model: Model<S, I, O>): void {
  if (model.hash !== undefined) return;
  const initial = model.init();
  if ((typeof initial === 'object' && initial !== null) || typeof initial === 'function') {
    throw new ModelError('the model\'s states are objects: give it hash() and equal() so explored configurations can be recognised');
  }
}

type SearchOutcome =
  | { kind: 'ok' }
  | { kind: 'timeout' }
  | { kind: 'illegal'; longestPrefix: number[]; blockedOperation: number };

/**
 * The event list as a doubly linked list in typed arrays. Event 0 is the head sentinel.
 * Linearizing an operation unlinks its call and return events ("lift"); backtracking
 * relinks them in the reverse order (dancing links), so the list is restored exactly.
 */
class EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation an event belongs to. */
  readonly operation: Int32Array;
  /** For a call event: its return event, or NONE when the outcome is unknown. 0 marks a return event. */
  readonly matchingReturn: Int32Array;

  constructor(calls: readonly number[], returns: readonly number[]) {
    const events: { time: number; isCall: boolean; operation: number }[] = [];
    for (let i = 0; i < calls.length; i++) {
      events.push({ time: calls[i]!, isCall: true, operation: i });
      if (returns[i]! !== Number.POSITIVE_INFINITY) events.push({ time: returns[i]!, isCall: false, operation: i });
    }
    // At equal times calls come first: operations that merely touch are concurrent.
    events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.operation - b.operation);
    const size = events.length + 1;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.operation = new Int32Array(size).fill(NONE);
    this.matchingReturn = new Int32Array(size);
    const callEvent = new Int32Array(calls.length);
    for (let e = 0; e < size; e++) {
      this.next[e] = e + 1 < size ? e + 1 : NONE;
      this.prev[e] = e - 1;
    }
    events.forEach((event, k) => {
      const e = k + 1;
      this.operation[e] = event.operation;
      if (event.isCall) {
        callEvent[event.operation] = e;
        this.matchingReturn[e] = NONE;
      } else {
        this.matchingReturn[callEvent[event.operation]!] = e;
      }
    });
  }

  isCall(e: number): boolean {
    return this.matchingReturn[e] !== 0;
  }

  lift(call: number): void {
    this.unlink(call);
    const ret = this.matchingReturn[call]!;
    if (ret !== NONE) this.unlink(ret);
  }

  unlift(call: number): void {
    const ret = this.matchingReturn[call]!;
    if (ret !== NONE) this.relink(ret);
    this.relink(call);
  }

  private unlink(e: number): void {
    const before = this.prev[e]!;
    const after = this.next[e]!;
    this.next[before] = after;
    if (after !== NONE) this.prev[after] = before;
  }

  private relink(e: number): void {
    const before = this.prev[e]!;
    const after = this.next[e]!;
    this.next[before] = e;
    if (after !== NONE) this.prev[after] = e;
  }
}

/**
 * The set of linearized operations, with an incrementally maintained Zobrist hash
 * (one random 2x32-bit key per operation, XORed in and out) so hashing a configuration
 * costs O(1) instead of O(operations).
 */
class OperationSet {
  readonly words: Uint32Array;
  hashLow = 0;
  hashHigh = 0;
  private readonly keys: Uint32Array;

  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
    this.keys = new Uint32Array(size * 2);
    let seed = 0x9e3779b9;
    for (let k = 0; k < this.keys.length; k++) {
      // xorshift32: deterministic keys, so a search is replayable.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      this.keys[k] = seed >>> 0;
    }
  }

  toggle(i: number): void {
    this.words[i >>> 5]! ^= 1 << (i & 31);
    this.hashLow ^= this.keys[2 * i]!;
    this.hashHigh ^= this.keys[2 * i + 1]!;
  }

  sameAs(other: Uint32Array): boolean {
    for (let w = 0; w < other.length; w++) if (this.words[w] !== other[w]) return false;
    return true;
  }
}

interface CacheEntry<S> {
  readonly linearized: Uint32Array;
  readonly state: S;
}

/** The memo of explored configurations (linearized set, model state). */
class ConfigurationCache<S> {
  private readonly buckets = new Map<string, CacheEntry<S>[]>();

  constructor(
    private readonly hash: (s: S) => string,
    private readonly equal: (a: S, b: S) => boolean,
  ) {}

  /** Records the configuration; false if it was already explored. */
  add(set: OperationSet, state: S): boolean {
    const key = `${set.hashLow}:${set.hashHigh}:${this.hash(state)}`;
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, [{ linearized: set.words.slice(), state }]);
      return true;
    }
    for (const seen of bucket) if (set.sameAs(seen.linearized) && this.equal(seen.state, state)) return false;
    bucket.push({ linearized: set.words.slice(), state });
    return true;
  }
}

function searchPartition<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], deadline: number): SearchOutcome {
  const list = new EventList(
    ops.map((op) => op.call),
    ops.map((op) => op.return),
  );
  const linearized = new OperationSet(ops.length);
  const cache = new ConfigurationCache<S>(model.hash ?? String, model.equal ?? ((a, b) => a === b));
  const stack: { call: number; stateBefore: S }[] = [];
  let state = model.init();
  let longestPrefix: number[] = [];
  let blockedOperation = NONE;
  let steps = 0;
  let event = list.next[0]!;
  // Reaching the end of the list means every operation with a known outcome is linearized;
  // calls left unvisited belong to unknown-outcome operations that never took effect.
  while (event !== NONE) {
    if (++steps % DEADLINE_CHECK_INTERVAL_STEPS === 0 && Date.now() >= deadline) return { kind: 'timeout' };
    const operation = list.operation[event]!;
    if (list.isCall(event)) {
      const op = ops[operation]!;
      const [ok, nextState] = model.step(state, op.input, op.output);
      if (ok) {
        linearized.toggle(operation);
        if (cache.add(linearized, nextState)) {
          stack.push({ call: event, stateBefore: state });
          state = nextState;
          list.lift(event);
          event = list.next[0]!;
          continue;
        }
        linearized.toggle(operation);
      }
      event = list.next[event]!;
      continue;
    }
    // A return event of an operation not yet linearized: no order of the remaining
    // candidates lets it take effect in time; undo the latest choice.
    if (stack.length > longestPrefix.length || blockedOperation === NONE) {
      longestPrefix = stack.map((s) => list.operation[s.call]!);
      blockedOperation = operation;
    }
    const top = stack.pop();
    if (top === undefined) return { kind: 'illegal', longestPrefix, blockedOperation };
    linearized.toggle(list.operation[top.call]!);
    state = top.stateBefore;
    list.unlift(top.call);
    event = list.next[top.call]!;
  }
  return { kind: 'ok' };
}

function describeFailure<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  partitionName: string,
  failure: { longestPrefix: number[]; blockedOperation: number },
): string {
  const describe = (i: number): string => describeOperation(model, ops[i]!);
  const prefix = failure.longestPrefix;
  let state = model.init();
  for (const i of prefix) state = model.step(state, ops[i]!.input, ops[i]!.output)[1];
  const shown = prefix.slice(-MAX_REPORTED_PREFIX_OPERATIONS);
  const lines = [
    `${partitionName} (${ops.length} operations) is not linearizable.`,
    `Longest linearizable prefix: ${prefix.length} of ${ops.length} operations` +
      (shown.length < prefix.length ? ` (the last ${shown.length} shown):` : ':'),
    ...shown.map((i, k) => `  ${prefix.length - shown.length + k + 1}. ${describe(i)}`),
    `State after that prefix: ${(model.hash ?? String)(state)}`,
    `Operation that could not be placed next: ${describe(failure.blockedOperation)}`,
  ];
  return lines.join('\n');
}

function describeOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  const what = model.describeOperation
    ? model.describeOperation(op.input, op.output)
    : `${safeJson(op.input)} -> ${safeJson(op.output)}`;
  const end = op.return === Number.POSITIVE_INFINITY ? 'unknown outcome' : String(op.return);
  return `client ${op.clientId}: ${what} @[${op.call}, ${end}]`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
