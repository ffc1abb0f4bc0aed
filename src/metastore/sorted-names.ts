/**
 * The names of one directory in UTF-8 byte order, as a list of sorted chunks (a B+-tree
 * of height two): finding the position after a name costs O(log n), listing a page
 * O(page), inserting or removing a name O(CHUNK) plus O(n / CHUNK) on a split. A page
 * after `last` in a directory of millions never sorts anything.
 */
import { invariant } from '../raft/errors.ts';
import { compareNames } from './name-order.ts';

/**
 * Names per chunk before it splits in two: large enough that the chunk list stays
 * short (4k chunks for 1M names), small enough that a splice moves little memory.
 */
export const SORTED_NAMES_CHUNK = 512;

export class SortedNames {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Inserts `name`, which must not be present. */
  insert(name: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([name]);
      this.count = 1;
      return;
    }
    // Names mostly arrive in order (sequential creates, snapshot loads): append fast.
    const lastChunk = this.chunks[this.chunks.length - 1]!;
    const appends = compareNames(lastChunk[lastChunk.length - 1]!, name) < 0;
    const chunkIndex = appends ? this.chunks.length - 1 : this.chunkFor(name);
    const chunk = this.chunks[chunkIndex]!;
    const at = appends ? chunk.length : lowerBound(chunk, name);
    invariant(chunk[at] !== name, 'a directory holds each name once');
    chunk.splice(at, 0, name);
    this.count++;
    if (chunk.length > SORTED_NAMES_CHUNK) {
      const upper = chunk.splice(chunk.length >> 1);
      this.chunks.splice(chunkIndex + 1, 0, upper);
    }
  }

  /** The last name in order, or undefined when empty. */
  last(): string | undefined {
    const chunk = this.chunks[this.chunks.length - 1];
    return chunk === undefined ? undefined : chunk[chunk.length - 1];
  }

  /**
   * Adds `name`, which the caller has checked sorts after {@link last} (a snapshot load
   * in key order): a push, no search and no splice. Chunks fill to SORTED_NAMES_CHUNK.
   */
  append(name: string): void {
    const lastChunk = this.chunks[this.chunks.length - 1];
    if (lastChunk === undefined || lastChunk.length >= SORTED_NAMES_CHUNK) this.chunks.push([name]);
    else lastChunk.push(name);
    this.count++;
  }

  /** Removes `name`, which must be present. */
  remove(name: string): void {
    invariant(this.chunks.length > 0, 'removing a name from an empty directory');
    const chunkIndex = this.chunkFor(name);
    const chunk = this.chunks[chunkIndex]!;
    const at = lowerBound(chunk, name);
    invariant(chunk[at] === name, 'a removed name must be present');
    chunk.splice(at, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(chunkIndex, 1);
  }

  /**
   * Calls `visit` for names strictly after `after` (all names when undefined) in
   * order until it returns false.
   */
  forEachAfter(after: string | undefined, visit: (name: string) => boolean): void {
    let chunkIndex = 0;
    let at = 0;
    if (after !== undefined && this.chunks.length > 0) {
      chunkIndex = this.chunkFor(after);
      at = upperBound(this.chunks[chunkIndex]!, after);
    }
    for (; chunkIndex < this.chunks.length; chunkIndex++, at = 0) {
      const chunk = this.chunks[chunkIndex]!;
      for (; at < chunk.length; at++) if (!visit(chunk[at]!)) return;
    }
  }

  /** Up to `limit` names strictly after `after`, in order. */
  namesAfter(after: string | undefined, limit: number): string[] {
    const names: string[] = [];
    if (limit <= 0) return names;
    this.forEachAfter(after, (name) => {
      names.push(name);
      return names.length < limit;
    });
    return names;
  }

  /** The index of the chunk whose range holds `name`: the last chunk starting at or before it. */
  private chunkFor(name: string): number {
    let low = 0;
    let high = this.chunks.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (compareNames(this.chunks[middle]![0]!, name) <= 0) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/** The first position whose name is >= `name`. */
function lowerBound(chunk: readonly string[], name: string): number {
  let low = 0;
  let high = chunk.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compareNames(chunk[middle]!, name) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The first position whose name is > `name`. */
function upperBound(chunk: readonly string[], name: string): number {
  let low = 0;
  let high = chunk.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compareNames(chunk[middle]!, name) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
