/**
 * The one checksum of every metaraft format: CRC32C (Castagnoli), as CurveFS's dumpfile
 * uses. This module is the only importer of the native implementation, so swapping it
 * touches one file.
 *
 * A native call costs about half a microsecond however short its input, more than a
 * table lookup per byte for short inputs (keys, record batches, log values); so inputs
 * below a threshold take a JavaScript slicing-by-4 path and longer ones the native one.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** Below this many bytes the JavaScript path is faster than a native call (measured: about 64 bytes). */
export const NATIVE_CRC_MIN_BYTES = 64;

/** Reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;
const TABLES = buildTables();

/** CRC32C of `bytes`, continuing from `previous` (0 to start). An unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  if (bytes.length >= NATIVE_CRC_MIN_BYTES) return nativeCrc32c(bytes, previous) >>> 0;
  return crc32cSmall(bytes, previous);
}

function crc32cSmall(bytes: Uint8Array, previous: number): number {
  const t0 = TABLES[0]!;
  const t1 = TABLES[1]!;
  const t2 = TABLES[2]!;
  const t3 = TABLES[3]!;
  let crc = ~previous;
  let i = 0;
  const fourEnd = bytes.length & ~3;
  for (; i < fourEnd; i += 4) {
    crc ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    crc = t3[crc & 0xff]! ^ t2[(crc >>> 8) & 0xff]! ^ t1[(crc >>> 16) & 0xff]! ^ t0[crc >>> 24]!;
  }
  for (; i < bytes.length; i++) crc = t0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

function buildTables(): Int32Array[] {
  const tables = Array.from({ length: 4 }, () => new Int32Array(256));
  const t0 = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) {
      const previous = tables[k - 1]![n]!;
      tables[k]![n] = (previous >>> 8) ^ t0[previous & 0xff]!;
    }
  }
  return tables;
}
