/**
 * A small seeded pseudo-random generator (sfc32, seeded through splitmix32) for the
 * simulator and for each RaftNode's injected `random`. Everything random in a
 * simulation flows from one seed, so a seed replays a run exactly.
 */

const UINT32 = 0x1_0000_0000;

/** splitmix32: spreads a 32-bit seed into well-mixed words for the sfc32 state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over a string, used to turn a fork label into seed bits. */
function hashString(text: string, basis: number): number {
  let h = basis >>> 0 || 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Random {
  /** The seed this stream was built from (forks derive from it, not from draws). */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    this.seed = seed;
    // Fold both halves of a 53-bit seed into the 32-bit splitmix state.
    const mix = { s: (seed ^ Math.floor(seed / UINT32)) | 0 };
    this.a = splitmix32(mix);
    this.b = splitmix32(mix);
    this.c = splitmix32(mix);
    this.d = splitmix32(mix);
    // Discard the first outputs: sfc32 needs a few rounds to decorrelate the seed.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / UINT32;
  }

  /** An integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`int(${lo}, ${hi}): empty range`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A copy of `items` in random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /**
   * An independent stream named by `label`. It depends only on this stream's seed and
   * the label (not on how many draws were made), so adding a draw somewhere does not
   * shift every other component's randomness. The same label gives the same stream.
   */
  fork(label: string): Random {
    const hi = hashString(label, this.seed >>> 0);
    const lo = hashString(label, (Math.floor(this.seed / UINT32) ^ 0x5bd1e995) >>> 0);
    return new Random((hi & 0x1f_ffff) * UINT32 + lo);
  }

  /** This stream as the `() => number` a RaftConfig expects. */
  asFunction(): () => number {
    return () => this.next();
  }
}

/**
 * mulberry32 as a `() => number` in [0, 1): one word of state, and its first outputs are
 * well spread even for small seeds (1, 2, 3, ...), so nodes seeded by their ids draw
 * different election timeouts. For tests and benchmarks that need a bare function.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
