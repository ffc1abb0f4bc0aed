import type { Model, Operation } from './linearizability.ts';

/**
 * The sequential specification of a key-value store, for checking client histories
 * with {@link checkOperations}. Keys are independent, so the history is partitioned by
 * key and each key's state is just its value ('' when absent).
 */

export interface KvInput {
  op: 'get' | 'put' | 'append';
  key: string;
  /** The value written (put) or appended (append); '' for get. */
  value: string;
}

export interface KvOutput {
  /** get: the value read, '' if absent; put and append: ''. */
  value: string;
}

export type KvOperation = Operation<KvInput, KvOutput>;

export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',

  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return [output.value === state, state];
      case 'put':
        return [true, input.value];
      case 'append':
        return [true, state + input.value];
    }
  },

  partition(history) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of history) {
      const ops = byKey.get(op.input.key);
      if (ops === undefined) byKey.set(op.input.key, [op]);
      else ops.push(op);
    }
    return [...byKey.values()];
  },

  hash: (value) => value,

  describeOperation(input, output) {
    const key = JSON.stringify(input.key);
    if (input.op === 'get') return `get(${key}) -> ${JSON.stringify(output.value)}`;
    return `${input.op}(${key}, ${JSON.stringify(input.value)})`;
  },

  describePartition: (ops) => `key ${JSON.stringify(ops[0]?.input.key ?? '')}`,
};
