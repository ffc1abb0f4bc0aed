/**
 * A fault-injecting LogBackend for tests: it models a machine that loses power.
 *
 * Every write reaches the wrapped backend at once (so reads see it), but the pre-images
 * of the keys an unsynced write touched are kept; `crash()` restores them, newest first,
 * which is exactly "unsynced writes vanish". A synced write makes it and every earlier
 * write durable (LevelDB writes one log file in order, and its sync flushes it all).
 *
 * A real level batch is atomic, so a torn write is modelled as a whole batch lost: a
 * write can be held in flight (`holdWrites`) and a crash then drops it, or lands it
 * whole (`crash({ inFlight: 'applied' })`). Damage that a batch cannot produce but a
 * disk can (a flipped byte, a missing key) is injected with `corruptValue`/`deleteKey`.
 */
import type { BackendOp, LogBackend } from './log-backend.ts';

interface UndoRecord {
  readonly key: Uint8Array;
  readonly previous: Uint8Array | undefined;
}

export class FaultyLogBackend implements LogBackend {
  private undo: UndoRecord[][] = [];
  private held: Array<{ ops: readonly BackendOp[]; sync: boolean; resolve: () => void; reject: (error: Error) => void }> = [];
  private holding = false;
  private crashed = false;
  /** Writes acknowledged so far, by whether they were synced (for test models). */
  syncedWrites = 0;
  unsyncedWrites = 0;

  constructor(private readonly inner: LogBackend) {}

  async write(ops: readonly BackendOp[], options: { readonly sync: boolean }): Promise<void> {
    if (this.crashed) throw new Error('simulated crash: the process is gone');
    if (this.holding) {
      await new Promise<void>((resolve, reject) => this.held.push({ ops, sync: options.sync, resolve, reject }));
      return;
    }
    await this.apply(ops, options.sync);
  }

  get(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return this.inner.get(keys);
  }

  scan(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): AsyncIterable<ReadonlyArray<readonly [Uint8Array, Uint8Array]>> {
    return this.inner.scan(range);
  }

  async close(): Promise<void> {
    if (!this.crashed) await this.inner.close();
  }

  /** From now on, writes wait (in flight) until `releaseWrites` or a crash. */
  holdWrites(): void {
    this.holding = true;
  }

  /** Lets held writes complete in order. */
  async releaseWrites(): Promise<void> {
    this.holding = false;
    for (const write of this.held.splice(0)) {
      await this.apply(write.ops, write.sync);
      write.resolve();
    }
  }

  get heldWrites(): number {
    return this.held.length;
  }

  /**
   * Power loss: writes in flight are lost (or, with inFlight 'applied', land whole but
   * unsynced-and-kept), unsynced writes are undone, and the backend is closed. Pending
   * write promises reject. Reopen the directory to see what survived.
   */
  async crash(options: { readonly inFlight?: 'lost' | 'applied' } = {}): Promise<void> {
    const held = this.held.splice(0);
    if (options.inFlight === 'applied') {
      // Landed whole and then synced by the disk before power went: durable.
      for (const write of held) await this.apply(write.ops, true);
    }
    for (const write of held) write.reject(new Error('simulated crash: write in flight was lost'));
    for (const batch of this.undo.reverse()) {
      const restore: BackendOp[] = batch
        .slice()
        .reverse()
        .map(({ key, previous }) => (previous === undefined ? { type: 'del', key } : { type: 'put', key, value: previous }));
      await this.inner.write(restore, { sync: false });
    }
    this.undo = [];
    this.crashed = true;
    await this.inner.write([], { sync: true });
    await this.inner.close();
  }

  /** Replaces a stored value by a damaged copy (`damage` edits it in place), durably. */
  async corruptValue(key: Uint8Array, damage: (value: Uint8Array) => void): Promise<void> {
    const [value] = await this.inner.get([key]);
    if (value === undefined) throw new Error('corruptValue: no such key');
    const copy = Uint8Array.from(value);
    damage(copy);
    await this.inner.write([{ type: 'put', key, value: copy }], { sync: true });
  }

  /** Deletes a key behind the store's back, durably (a lost record). */
  async deleteKey(key: Uint8Array): Promise<void> {
    await this.inner.write([{ type: 'del', key }], { sync: true });
  }

  /** Writes a raw pair behind the store's back, durably. */
  async putRaw(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.inner.write([{ type: 'put', key, value }], { sync: true });
  }

  private async apply(ops: readonly BackendOp[], sync: boolean): Promise<void> {
    if (sync) {
      await this.inner.write(ops, { sync: true });
      this.undo = [];
      this.syncedWrites++;
      return;
    }
    const previous = await this.inner.get(ops.map((op) => op.key));
    // Later ops on the same key must restore the value before the batch: keep the first pre-image.
    const seen = new Set<string>();
    const records: UndoRecord[] = [];
    ops.forEach((op, i) => {
      const id = Buffer.from(op.key).toString('hex');
      if (seen.has(id)) return;
      seen.add(id);
      records.push({ key: op.key, previous: previous[i] });
    });
    await this.inner.write(ops, { sync: false });
    this.undo.push(records);
    this.unsyncedWrites++;
  }
}
