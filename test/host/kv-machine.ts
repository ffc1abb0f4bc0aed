/**
 * A small key-value state machine for host tests: entries are `key=value` (UTF-8),
 * snapshots are real snapshot files (snapshot-file.ts) of the map at exactly the
 * applied index, taken from a copy made synchronously when asked.
 */
import { invariant } from '../../src/raft/errors.ts';
import type { Entry, Index } from '../../src/raft/types.ts';
import type { SnapshotSource, SnapshotTarget, StateMachine } from '../../src/host/interfaces.ts';
import { readSnapshotPairs, writeSnapshotFile } from '../../src/storage/snapshot-file.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function encodePut(key: string, value: string): Uint8Array {
  invariant(!key.includes('='), 'test keys have no "="');
  return encoder.encode(`${key}=${value}`);
}

export class KvMachine {
  private applied: Index = 0;
  private map = new Map<string, string>();
  /** Every entry index applied, to check each applies once and in order. */
  readonly appliedLog: Index[] = [];
  restores = 0;

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): Map<string, string> {
    return new Map(this.map);
  }

  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      invariant(entry.index === this.applied + 1, `entry ${entry.index} applied after ${this.applied}`);
      this.applied = entry.index;
      this.appliedLog.push(entry.index);
      if (entry.type !== 'normal' || entry.data.length === 0) continue;
      const text = decoder.decode(entry.data);
      const at = text.indexOf('=');
      this.map.set(text.slice(0, at), text.slice(at + 1));
    }
  }

  appliedIndex(): Index {
    return this.applied;
  }

  async takeSnapshot(target: SnapshotTarget): Promise<void> {
    invariant(target.index === this.applied, `snapshot asked at ${target.index}, applied ${this.applied}`);
    const frozen = [...this.map].map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as const);
    await writeSnapshotFile(target.path, { index: target.index, term: target.term, config: target.config, userData: new Uint8Array(0) }, frozen);
  }

  async restoreSnapshot(source: SnapshotSource): Promise<void> {
    const { info, pairs } = await readSnapshotPairs(source.path);
    invariant(info.metadata.index === source.index && info.metadata.term === source.term, 'the snapshot file holds the index and term asked for');
    const map = new Map<string, string>();
    for (const [k, v] of pairs) map.set(decoder.decode(k), decoder.decode(v));
    this.map = map;
    this.applied = source.index;
    this.restores++;
  }
}

// Compile-time check that the test machine implements the interface.
const _check: StateMachine = new KvMachine();
void _check;
