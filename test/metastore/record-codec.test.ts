import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/storage/checksum.ts';
import {
  type MetaRecord,
  RecordFormatError,
  decodeRecordBatch,
  encodeRecordBatch,
  encodedBatchBytes,
  peekEntryKind,
} from '../../src/metastore/record-codec.ts';

const recordArb: fc.Arbitrary<MetaRecord> = fc.oneof(
  fc.record({ type: fc.constant('set' as const), key: fc.uint8Array({ minLength: 1, maxLength: 30 }), value: fc.uint8Array({ maxLength: 80 }) }),
  fc.record({ type: fc.constant('del' as const), key: fc.uint8Array({ minLength: 1, maxLength: 30 }) }),
);

function plain(records: readonly MetaRecord[]): unknown[] {
  return records.map((r) => (r.type === 'set' ? { type: 'set', key: Array.from(r.key), value: Array.from(r.value) } : { type: 'del', key: Array.from(r.key) }));
}

/** Re-seals a hand-edited batch with a correct checksum so the parser behind it is reached. */
function reseal(bytes: Uint8Array): Uint8Array {
  const out = Buffer.from(bytes);
  out.writeUInt32LE(crc32c(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

function codeOf(bytes: Uint8Array): string {
  try {
    decodeRecordBatch(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(RecordFormatError);
    return (error as RecordFormatError).code;
  }
  return 'accepted';
}

describe('record batch codec', () => {
  it('lays out a batch byte by byte', () => {
    const bytes = encodeRecordBatch([
      { type: 'set', key: new Uint8Array([0xaa]), value: new Uint8Array([0xbb, 0xcc]) },
      { type: 'del', key: new Uint8Array([0xdd]) },
    ]);
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex.slice(0, -8)).toBe('01' + '01' + '02000000' + '01' + '01000000' + 'aa' + '02000000' + 'bbcc' + '02' + '01000000' + 'dd');
    expect(Buffer.from(bytes).readUInt32LE(bytes.length - 4)).toBe(crc32c(bytes.subarray(0, bytes.length - 4)));
  });

  it('round-trips any batch and predicts its size', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 20 }), (records) => {
        const bytes = encodeRecordBatch(records);
        expect(bytes.length).toBe(encodedBatchBytes(records));
        expect(plain(decodeRecordBatch(bytes))).toEqual(plain(records));
        expect(peekEntryKind(bytes)).toBe(0x01);
      }),
    );
  });

  it('decodes from a subarray at a non-zero offset', () => {
    const bytes = encodeRecordBatch([{ type: 'set', key: new Uint8Array([1, 2]), value: new Uint8Array([3]) }]);
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 3);
    expect(plain(decodeRecordBatch(padded.subarray(3, 3 + bytes.length)))).toEqual([{ type: 'set', key: [1, 2], value: [3] }]);
  });

  it('refuses every truncation and every single bit flip', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(7), (records, at, bit) => {
        const bytes = encodeRecordBatch(records);
        const cut = at % bytes.length;
        expect(codeOf(bytes.subarray(0, cut))).not.toBe('accepted');
        const flipped = Buffer.from(bytes);
        flipped[cut]! ^= 1 << bit;
        expect(codeOf(flipped)).not.toBe('accepted');
      }),
    );
  });

  it('names the cause of each malformation', () => {
    const good = encodeRecordBatch([{ type: 'set', key: new Uint8Array([7]), value: new Uint8Array([8]) }]);
    expect(codeOf(good.subarray(0, 9))).toBe('BATCH_TOO_SHORT');
    const badVersion = Buffer.from(good);
    badVersion[0] = 2;
    expect(codeOf(reseal(badVersion))).toBe('BATCH_BAD_VERSION');
    const badKind = Buffer.from(good);
    badKind[1] = 9;
    expect(codeOf(reseal(badKind))).toBe('BATCH_BAD_KIND');
    expect(peekEntryKind(reseal(badKind))).toBe(9);
    const badSum = Buffer.from(good);
    badSum[badSum.length - 1]! ^= 0xff;
    expect(codeOf(badSum)).toBe('BATCH_BAD_CHECKSUM');
    const badType = Buffer.from(good);
    badType[6] = 3;
    expect(codeOf(reseal(badType))).toBe('RECORD_BAD_TYPE');
    const hugeCount = Buffer.from(good);
    hugeCount.writeUInt32LE(0xffff_ffff, 2);
    expect(codeOf(reseal(hugeCount))).toBe('BATCH_BAD_COUNT');
    const longKey = Buffer.from(good);
    longKey.writeUInt32LE(100, 7);
    expect(codeOf(reseal(longKey))).toBe('BATCH_TRUNCATED');
    const emptyKey = reseal(Buffer.from('010101000000' + '02' + '00000000' + '00000000', 'hex'));
    expect(codeOf(emptyKey)).toBe('RECORD_EMPTY_KEY');
    const fewer = Buffer.from(good);
    fewer.writeUInt32LE(0, 2);
    expect(codeOf(reseal(fewer))).toBe('BATCH_TRAILING_BYTES');
    try {
      decodeRecordBatch(reseal(longKey));
    } catch (error) {
      expect((error as RecordFormatError).offset).toBe(7);
      expect((error as Error).message).toMatch(/offset 7/);
    }
  });

  it('encodes an empty batch that decodes to no records', () => {
    expect(decodeRecordBatch(encodeRecordBatch([]))).toEqual([]);
  });
});
