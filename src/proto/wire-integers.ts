/**
 * 64-bit integers at the wire gate. Inside metaraft every id, index and time is a JS
 * number, exact only up to Number.MAX_SAFE_INTEGER (2^53 - 1); a larger value on the
 * wire is refused, never rounded.
 */

/** 2^32: the weight of the high word of a 64-bit integer. */
const TWO_POW_32 = 4_294_967_296;
/** The largest high word whose value still fits a safe integer (2^53 - 1 = 0x1FFFFF_FFFFFFFF). */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/** The shape protobufjs gives a decoded 64-bit integer (a `Long`, or its bits). */
export interface LongBits {
  readonly low: number;
  readonly high: number;
  readonly unsigned?: boolean;
}

/**
 * The exact number a decoded 64-bit value stands for, or null when it is not a safe
 * integer (or is negative while `unsigned`).
 */
export function longToSafeNumber(value: number | LongBits, unsigned: boolean): number | null {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return null;
    return unsigned && value < 0 ? null : value;
  }
  const low = value.low >>> 0;
  if (unsigned) {
    const high = value.high >>> 0;
    return high > MAX_SAFE_HIGH_WORD ? null : high * TWO_POW_32 + low;
  }
  const high = value.high | 0;
  // Below -2^21 the product would already exceed the safe range (and lose exactness).
  if (high > MAX_SAFE_HIGH_WORD || high < -MAX_SAFE_HIGH_WORD - 1) return null;
  const result = high * TWO_POW_32 + low;
  return Number.isSafeInteger(result) ? result : null;
}

const UINT32_MAX = 0xffff_ffff;
const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/** Whether `value` fits the protobuf integer type `kind` exactly. */
export function fitsIntegerKind(value: number, kind: 'uint32' | 'int32' | 'uint64' | 'int64'): boolean {
  switch (kind) {
    case 'uint32':
      return Number.isInteger(value) && value >= 0 && value <= UINT32_MAX;
    case 'int32':
      return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
    case 'uint64':
      return Number.isSafeInteger(value) && value >= 0;
    case 'int64':
      return Number.isSafeInteger(value);
  }
}
