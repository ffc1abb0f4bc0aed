/**
 * The order of names in a directory: the byte order of their UTF-8 encodings (the order
 * of dentry keys, docs/wire.md "ListDentry"), computed on JS strings without encoding.
 *
 * UTF-8 byte order equals code point order. UTF-16 code unit order (JS `<`) agrees with
 * it except that surrogates (0xD800–0xDFFF, the halves of code points ≥ 0x10000) sort
 * below 0xE000–0xFFFF in UTF-16 but above them in UTF-8; the fix-up below moves them up.
 */

const SURROGATE_FIRST = 0xd800;
const AFTER_SURROGATES = 0xe000;
/** Code units where UTF-16 and UTF-8 orders can disagree. */
const HIGH_UNITS = /[\uD800-\uFFFF]/;

/** Negative, zero or positive as `a` sorts before, equal to or after `b` by UTF-8 bytes. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  // When either name has no unit ≥ 0xD800, the first differing units cannot both be
  // high, and the engine's native code-unit order is the byte order.
  if (!HIGH_UNITS.test(a) || !HIGH_UNITS.test(b)) return a < b ? -1 : 1;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca >= SURROGATE_FIRST && cb >= SURROGATE_FIRST) return byteRank(ca) - byteRank(cb);
      return ca - cb;
    }
  }
  return a.length - b.length;
}

/** Code units ≥ 0xD800 ranked as their UTF-8 lead bytes order them. */
function byteRank(unit: number): number {
  return unit >= AFTER_SURROGATES ? unit - 0x800 : unit + 0x2000;
}
