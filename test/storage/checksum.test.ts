import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NATIVE_CRC_MIN_BYTES, crc32c } from '../../src/storage/checksum.ts';

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the native implementation on both paths, also when continued', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: NATIVE_CRC_MIN_BYTES * 2 }), fc.nat(NATIVE_CRC_MIN_BYTES * 2), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        const whole = nativeCrc32c(bytes) >>> 0;
        expect(crc32c(bytes)).toBe(whole);
        expect(crc32c(bytes.subarray(at), crc32c(bytes.subarray(0, at)))).toBe(whole);
      }),
    );
  });
});
