/**
 * The ordered key-value store under the Raft log store: `level` in production
 * (log-store.ts), wrapped by a fault injector in tests (faulty-level.ts). Keys sort
 * bytewise; a write is atomic and, with `sync`, durable when it resolves.
 */
export type BackendOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export interface LogBackend {
  /** Applies every op or none; with `sync` it is on disk when this resolves (and so is every earlier write). */
  write(ops: readonly BackendOp[], options: { readonly sync: boolean }): Promise<void>;
  /** Current values of `keys` (undefined where absent), in order. */
  get(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** Pairs with gte <= key < lt in key order, in batches. */
  scan(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): AsyncIterable<ReadonlyArray<readonly [Uint8Array, Uint8Array]>>;
  close(): Promise<void>;
}
