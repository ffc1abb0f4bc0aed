import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kvModel, type KvInput, type KvOperation, type KvOutput } from '../../src/testing/kv-model.ts';
import { HistoryError, ModelError, checkOperations, type Model, type Operation } from '../../src/testing/linearizability.ts';

const UNKNOWN = Number.POSITIVE_INFINITY;

function get(clientId: number, key: string, value: string, call: number, ret: number): KvOperation {
  return { clientId, input: { op: 'get', key, value: '' }, output: { value }, call, return: ret };
}
function put(clientId: number, key: string, value: string, call: number, ret: number): KvOperation {
  return { clientId, input: { op: 'put', key, value }, output: { value: '' }, call, return: ret };
}
function append(clientId: number, key: string, value: string, call: number, ret: number): KvOperation {
  return { clientId, input: { op: 'append', key, value }, output: { value: '' }, call, return: ret };
}

function check(history: KvOperation[]): string {
  return checkOperations(kvModel, history).result;
}

describe('checkOperations on hand-written key-value histories', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(check([])).toBe('ok');
    expect(check([put(1, 'x', 'a', 0, 1), get(1, 'x', 'a', 2, 3), append(1, 'x', 'b', 4, 5), get(2, 'x', 'ab', 6, 7)])).toBe('ok');
  });

  it('rejects a stale read after a completed write', () => {
    const outcome = checkOperations(kvModel, [put(1, 'x', '1', 0, 10), get(2, 'x', '', 11, 12)]);
    expect(outcome.result).toBe('illegal');
    expect(outcome.info).toContain('key "x"');
    expect(outcome.info).toContain('client 2: get("x") -> ""');
  });

  it('rejects a read of a value never written, and a read from before the write was called', () => {
    expect(check([put(1, 'x', '1', 0, 10), get(2, 'x', '2', 5, 12)])).toBe('illegal');
    expect(check([get(2, 'x', '1', 0, 4), put(1, 'x', '1', 5, 10)])).toBe('illegal');
  });

  it('lets a read concurrent with a write see either value', () => {
    expect(check([put(1, 'x', '1', 0, 10), get(2, 'x', '', 2, 3)])).toBe('ok');
    expect(check([put(1, 'x', '1', 0, 10), get(2, 'x', '1', 2, 3)])).toBe('ok');
    // Touching intervals count as concurrent.
    expect(check([put(1, 'x', '1', 0, 10), get(2, 'x', '1', 10, 12)])).toBe('ok');
    expect(check([get(2, 'x', '1', 0, 10), put(1, 'x', '1', 10, 12)])).toBe('ok');
  });

  it('rejects a value flipping back once the newer one has been read', () => {
    const history = [put(1, 'x', '1', 0, 10), get(2, 'x', '1', 2, 3), get(2, 'x', '', 4, 5)];
    expect(check(history)).toBe('illegal');
  });

  it('rejects two concurrent writes read in opposite orders by two readers', () => {
    const writes = [put(1, 'x', 'a', 0, 100), put(2, 'x', 'b', 0, 100)];
    const sameOrder = [...writes, get(3, 'x', 'a', 1, 2), get(3, 'x', 'b', 3, 4), get(4, 'x', 'a', 1, 2), get(4, 'x', 'b', 3, 4)];
    expect(check(sameOrder)).toBe('ok');
    const opposite = [...writes, get(3, 'x', 'a', 1, 2), get(3, 'x', 'b', 3, 4), get(4, 'x', 'b', 1, 2), get(4, 'x', 'a', 3, 4)];
    const outcome = checkOperations(kvModel, opposite);
    expect(outcome.result).toBe('illegal');
    expect(outcome.info).toMatch(/Longest linearizable prefix: \d+ of 6 operations/);
  });

  it('checks append sequences', () => {
    const appends = [append(1, 'x', '1', 0, 10), append(2, 'x', '2', 0, 10)];
    expect(check([...appends, get(3, 'x', '12', 11, 12)])).toBe('ok');
    expect(check([...appends, get(3, 'x', '21', 11, 12)])).toBe('ok');
    expect(check([...appends, get(3, 'x', '2', 5, 6), get(3, 'x', '21', 11, 12)])).toBe('ok');
    expect(check([...appends, get(3, 'x', '1', 11, 12)])).toBe('illegal');
    expect(check([...appends, get(3, 'x', '12', 11, 12), get(4, 'x', '21', 13, 14)])).toBe('illegal');
    expect(check([...appends, get(3, 'x', '2', 5, 6), get(4, 'x', '12', 11, 12)])).toBe('illegal');
    expect(check([append(1, 'x', '1', 0, 1), append(1, 'x', '1', 2, 3), get(2, 'x', '11', 4, 5)])).toBe('ok');
  });

  it('treats an unknown-outcome write as optional: seen, not seen, seen late', () => {
    const lost = put(1, 'x', '1', 0, UNKNOWN);
    expect(check([lost, get(2, 'x', '1', 5, 6)])).toBe('ok');
    expect(check([lost, get(2, 'x', '', 5, 6)])).toBe('ok');
    expect(check([lost, get(2, 'x', '', 5, 6), get(2, 'x', '1', 1000, 1001)])).toBe('ok');
    expect(check([lost, get(2, 'x', '1', 5, 6), get(2, 'x', '', 7, 8)])).toBe('illegal');
    // It cannot take effect before it was called.
    expect(check([get(2, 'x', '1', 0, 4), put(1, 'x', '1', 5, UNKNOWN)])).toBe('illegal');
    // Nor twice: one unknown append shows at most once.
    expect(check([append(1, 'x', 'a', 0, UNKNOWN), get(2, 'x', 'aa', 5, 6)])).toBe('illegal');
  });

  it('ignores a read whose outcome is unknown, whatever output it carries', () => {
    expect(check([put(1, 'x', '1', 0, 1), get(2, 'x', 'garbage', 2, UNKNOWN), get(3, 'x', '1', 5, 6)])).toBe('ok');
  });

  it('lets an unknown-outcome operation that could never take effect simply not happen', () => {
    // A compare-and-set register: cas(7 -> 1) claimed success but the value was never 7.
    // A checker that forced every operation in (at the end, as porcupine does) would reject this.
    type CasInput = { kind: 'cas'; from: number; to: number } | { kind: 'read' };
    const casModel: Model<number, CasInput, boolean | number> = {
      init: () => 0,
      step: (state, input, output) =>
        input.kind === 'read' ? [output === state, state] : state === input.from ? [output === true, input.to] : [output === false, state],
    };
    const history: Operation<CasInput, boolean | number>[] = [
      { clientId: 1, input: { kind: 'cas', from: 7, to: 1 }, output: true, call: 0, return: UNKNOWN },
      { clientId: 2, input: { kind: 'read' }, output: 0, call: 5, return: 6 },
    ];
    expect(checkOperations(casModel, history).result).toBe('ok');
    // The same operation with a known return time must be placed, and cannot be.
    history[0]!.return = 3;
    expect(checkOperations(casModel, history).result).toBe('illegal');
  });

  it('checks keys independently and names the failing key', () => {
    const history = [
      put(1, 'x', '1', 0, 1),
      put(1, 'y', '2', 2, 3),
      get(2, 'x', '1', 4, 5),
      get(2, 'y', '', 6, 7), // stale on y only
    ];
    const outcome = checkOperations(kvModel, history);
    expect(outcome.result).toBe('illegal');
    expect(outcome.info).toContain('key "y"');
    expect(outcome.info).not.toContain('key "x"');
    expect(outcome.info).toContain('Longest linearizable prefix: 1 of 2 operations');
    expect(outcome.info).toContain('State after that prefix: 2');
    // Without partitioning, a get on y must not be confused by writes to x.
    expect(check([put(1, 'x', '1', 0, 1), get(2, 'y', '', 2, 3)])).toBe('ok');
  });

  it('uses the model equality and hash for memoization', () => {
    // A state that is a fresh object after every step: memoization must go through equal/hash.
    const objectModel: Model<{ v: string }, KvInput, KvOutput> = {
      init: () => ({ v: '' }),
      step: (s, input, output) => {
        const [ok, next] = kvModel.step(s.v, input, output);
        return [ok, { v: next }];
      },
      equal: (a, b) => a.v === b.v,
      hash: (s) => s.v,
    };
    const writes = Array.from({ length: 12 }, (_, i) => put(i, 'x', String(i % 2), 0, 100));
    expect(checkOperations(objectModel, [...writes, get(99, 'x', '1', 101, 102)]).result).toBe('ok');
    expect(checkOperations(objectModel, [...writes, get(99, 'x', '2', 101, 102)]).result).toBe('illegal');
  });

  it('answers unknown when out of time', () => {
    expect(checkOperations(kvModel, [put(1, 'x', '1', 0, 1)], { timeoutMs: 0 }).result).toBe('unknown');
  });

  it('refuses a malformed history', () => {
    expect(() => check([put(1, 'x', '1', 5, 4)])).toThrow(HistoryError);
    expect(() => check([put(1, 'x', '1', Number.NaN, 4)])).toThrow(HistoryError);
  });

  it('refuses a model whose object states could not be memoized', () => {
    const noHash: Model<{ v: string }, KvInput, KvOutput> = {
      init: () => ({ v: '' }),
      step: (s, input, output) => [kvModel.step(s.v, input, output)[0], { v: s.v }],
    };
    expect(() => checkOperations(noHash, [put(1, 'x', '1', 0, 1)])).toThrow(ModelError);
    expect(() => checkOperations(noHash, [put(1, 'x', '1', 0, 1)])).toThrow(/hash\(\) and equal\(\)/);
  });

  it('handles a long concurrent history quickly thanks to memoization', () => {
    // 10 clients, 400 operations, every value read is the latest: linearizable.
    const history: KvOperation[] = [];
    let value = '';
    for (let i = 0; i < 400; i++) {
      const t = i * 10;
      const client = i % 10;
      if (i % 3 === 0) {
        value = String(i);
        history.push(put(client, 'x', value, t - 45, t + 45));
      } else {
        history.push(get(client, 'x', value, t - 45, t + 45));
      }
    }
    expect(check(history)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------------
// Differential testing against a brute-force checker.

/** The whole store as one state, no partitioning: an independent reference model. */
const wholeStoreModel: Model<ReadonlyMap<string, string>, KvInput, KvOutput> = {
  init: () => new Map(),
  step(state, input, output) {
    const current = state.get(input.key) ?? '';
    if (input.op === 'get') return [output.value === current, state];
    const next = new Map(state);
    next.set(input.key, input.op === 'put' ? input.value : current + input.value);
    return [true, next];
  },
  // Without these every state would hash as "[object Map]" and memoization would never hit.
  hash: (s) => JSON.stringify([...s].sort(([a], [b]) => a.localeCompare(b))),
  equal: (a, b) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v),
};

/**
 * Tries every order that respects real time (a before b when a returned strictly before
 * b was called); operations with unknown outcome may also be left out.
 */
function bruteForceLinearizable<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[]): boolean {
  const explore = (remaining: Operation<I, O>[], state: S): boolean => {
    if (remaining.every((op) => op.return === UNKNOWN)) return true;
    return remaining.some((candidate, i) => {
      if (remaining.some((other) => other.return < candidate.call)) return false;
      const [ok, next] = model.step(state, candidate.input, candidate.output);
      return ok && explore([...remaining.slice(0, i), ...remaining.slice(i + 1)], next);
    });
  };
  return explore(history, model.init());
}

const KEYS = ['a', 'b'];

interface PlannedOperation {
  clientId: number;
  op: KvInput['op'];
  key: string;
  value: string;
  callBefore: number;
  returnAfter: number;
  unknownOutcome: boolean;
  /** An unknown-outcome operation that in truth never happened. */
  lost: boolean;
}

const plannedOperation = fc.record({
  clientId: fc.integer({ min: 1, max: 4 }),
  op: fc.constantFrom<KvInput['op']>('get', 'put', 'append'),
  key: fc.constantFrom(...KEYS),
  value: fc.constantFrom('1', '2', '3'),
  callBefore: fc.integer({ min: 0, max: 25 }),
  returnAfter: fc.integer({ min: 0, max: 25 }),
  // About one operation in five has an unknown outcome.
  unknownOutcome: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  lost: fc.boolean(),
});

/**
 * Executes the operations one after the other on a real map (operation k takes effect
 * at time 10k), then gives each an interval around that point: a linearizable history.
 */
function executeSequentially(plan: PlannedOperation[]): KvOperation[] {
  const store = new Map<string, string>();
  return plan.map((p, k) => {
    const at = 10 * k;
    const current = store.get(p.key) ?? '';
    const takesEffect = !(p.unknownOutcome && p.lost);
    if (takesEffect && p.op === 'put') store.set(p.key, p.value);
    if (takesEffect && p.op === 'append') store.set(p.key, current + p.value);
    return {
      clientId: p.clientId,
      input: { op: p.op, key: p.key, value: p.op === 'get' ? '' : p.value },
      output: { value: p.op === 'get' ? (takesEffect ? current : 'lost') : '' },
      call: at - p.callBefore,
      return: p.unknownOutcome ? UNKNOWN : at + p.returnAfter,
    };
  });
}

type Mutation =
  | { kind: 'read-value'; target: number; value: string }
  | { kind: 'shift'; target: number; by: number }
  | { kind: 'swap-outputs'; target: number; other: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('read-value' as const), target: fc.nat(), value: fc.constantFrom('', '1', '2', '12', '21', '3') }),
  fc.record({ kind: fc.constant('shift' as const), target: fc.nat(), by: fc.integer({ min: -40, max: 40 }) }),
  fc.record({ kind: fc.constant('swap-outputs' as const), target: fc.nat(), other: fc.nat() }),
);

function mutate(history: KvOperation[], mutations: Mutation[]): KvOperation[] {
  const out = history.map((op) => ({ ...op, output: { ...op.output } }));
  for (const m of mutations) {
    const target = out[m.target % out.length]!;
    if (m.kind === 'read-value' && target.input.op === 'get') target.output.value = m.value;
    if (m.kind === 'shift') {
      target.call += m.by;
      if (target.return !== UNKNOWN) target.return += m.by;
    }
    if (m.kind === 'swap-outputs') {
      const other = out[m.other % out.length]!;
      [target.output, other.output] = [other.output, target.output];
    }
  }
  return out;
}

/**
 * Each of these histories checks in milliseconds; a search that blows up answers 'unknown'
 * and fails the property with its seed and path, instead of hanging the run (a synchronous
 * property cannot be interrupted by the test's timeout).
 */
const BOUNDED = { timeoutMs: 10_000 };

describe('checkOperations against a brute-force checker', () => {
  it('accepts every history recorded from a real sequential execution with overlapping intervals', () => {
    fc.assert(
      fc.property(fc.array(plannedOperation, { minLength: 1, maxLength: 30 }), (plan) => {
        const history = executeSequentially(plan);
        expect(checkOperations(kvModel, history, BOUNDED).result).toBe('ok');
        expect(checkOperations(wholeStoreModel, history, BOUNDED).result).toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with brute force on mutated small histories', () => {
    let illegal = 0;
    fc.assert(
      fc.property(fc.array(plannedOperation, { minLength: 1, maxLength: 7 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (plan, mutations) => {
        const history = mutate(executeSequentially(plan), mutations);
        const expected = bruteForceLinearizable(wholeStoreModel, history) ? 'ok' : 'illegal';
        if (expected === 'illegal') illegal++;
        expect(checkOperations(kvModel, history, BOUNDED).result).toBe(expected);
        expect(checkOperations(wholeStoreModel, history, BOUNDED).result).toBe(expected);
      }),
      { numRuns: 600 },
    );
    // The mutations must actually produce non-linearizable histories for the test to mean anything.
    expect(illegal).toBeGreaterThan(50);
  });

  it('agrees with brute force on random histories of one key', () => {
    const randomOperation = fc.record({
      clientId: fc.integer({ min: 1, max: 3 }),
      input: fc.record({ op: fc.constantFrom<KvInput['op']>('get', 'put', 'append'), key: fc.constant('k'), value: fc.constantFrom('x', 'y') }),
      output: fc.record({ value: fc.constantFrom('', 'x', 'y', 'xy', 'yx', 'xx') }),
      call: fc.integer({ min: 0, max: 20 }),
      length: fc.integer({ min: 0, max: 10 }),
      unknownOutcome: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(randomOperation, { minLength: 1, maxLength: 7 }), (ops) => {
        const history: KvOperation[] = ops.map((o) => ({
          clientId: o.clientId,
          input: o.input,
          output: o.output,
          call: o.call,
          return: o.unknownOutcome === 0 ? UNKNOWN : o.call + o.length,
        }));
        const expected = bruteForceLinearizable(kvModel, history) ? 'ok' : 'illegal';
        expect(checkOperations(kvModel, history, BOUNDED).result).toBe(expected);
      }),
      { numRuns: 600 },
    );
  });
});
