import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/raft/errors.ts';
import {
  KeyFormatError,
  decodeKey,
  dentryKey,
  dentryPrefix,
  inodeKey,
  keyPartitionId,
  keyTableTag,
  partitionInfoKey,
  trashKey,
  txKey,
} from '../../src/metastore/keys.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const id = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeInteger().map((n) => Math.abs(n)));
const name = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function expectKeyError(bytes: Uint8Array, code: string): void {
  try {
    decodeKey(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(KeyFormatError);
    expect((error as KeyFormatError).code).toBe(code);
    return;
  }
  expect.unreachable(`decodeKey accepted ${Buffer.from(bytes).toString('hex')}`);
}

describe('metastore keys', () => {
  it('lays out an inode key byte by byte: tag, partition BE, fsId BE, inode id as two BE u32', () => {
    const key = inodeKey(0x01020304, 7, 2 ** 32 + 5);
    expect(Buffer.from(key).toString('hex')).toBe('02' + '01020304' + '00000007' + '00000001' + '00000005');
    expect(Buffer.from(partitionInfoKey(1)).toString('hex')).toBe('0100000001');
    expect(Buffer.from(trashKey(1, 2, 3)).toString('hex')).toBe('04' + '00000001' + '00000002' + '0000000000000003');
    expect(Buffer.from(dentryKey(1, 2, 3, 'é')).toString('hex')).toBe('03' + '00000001' + '00000002' + '0000000000000003' + 'c3a9');
    expect(Buffer.from(txKey(9, new Uint8Array([0xaa, 0xbb]))).toString('hex')).toBe('0500000009aabb');
  });

  it('round-trips every table', () => {
    fc.assert(
      fc.property(u32, u32, id, name, fc.uint8Array({ maxLength: 20 }), (pid, fsId, inodeId, n, tx) => {
        expect(decodeKey(partitionInfoKey(pid))).toEqual({ table: 'partition-info', partitionId: pid });
        expect(decodeKey(inodeKey(pid, fsId, inodeId))).toEqual({ table: 'inode', partitionId: pid, fsId, inodeId });
        expect(decodeKey(trashKey(pid, fsId, inodeId))).toEqual({ table: 'trash', partitionId: pid, fsId, inodeId });
        expect(decodeKey(dentryKey(pid, fsId, inodeId, n))).toEqual({ table: 'dentry', partitionId: pid, fsId, parentInodeId: inodeId, name: n });
        const decodedTx = decodeKey(txKey(pid, tx));
        expect(decodedTx.table).toBe('pending-tx');
        expect(decodedTx.table === 'pending-tx' && Array.from(decodedTx.txKey)).toEqual(Array.from(tx));
        expect(keyPartitionId(inodeKey(pid, fsId, inodeId))).toBe(pid);
        expect(keyTableTag(dentryKey(pid, fsId, inodeId, n))).toBe(0x03);
      }),
    );
  });

  it('sorts bytewise in numeric order of (table, partition, fsId, id)', () => {
    fc.assert(
      fc.property(fc.tuple(u32, u32, id), fc.tuple(u32, u32, id), ([p1, f1, i1], [p2, f2, i2]) => {
        const byBytes = Math.sign(compareBytes(inodeKey(p1, f1, i1), inodeKey(p2, f2, i2)));
        const byNumbers = Math.sign(p1 - p2 || f1 - f2 || i1 - i2);
        expect(byBytes).toBe(byNumbers);
      }),
    );
    // Every key of a partition sorts between its partition-info key and the next partition's.
    expect(compareBytes(inodeKey(5, 0, 0), inodeKey(6, 0, 0))).toBeLessThan(0);
  });

  it('gives one directory a common prefix that no other directory shares', () => {
    const prefix = Buffer.from(dentryPrefix(1, 2, 3));
    expect(Buffer.from(dentryKey(1, 2, 3, 'a')).subarray(0, prefix.length).equals(prefix)).toBe(true);
    expect(Buffer.from(dentryKey(1, 2, 4, 'a')).subarray(0, prefix.length).equals(prefix)).toBe(false);
  });

  it('refuses unsafe ids, non-u32 ids and empty names when encoding (a caller bug)', () => {
    expect(() => inodeKey(1, 1, 2 ** 53)).toThrow(InvariantError);
    expect(() => inodeKey(1, 1, -1)).toThrow(InvariantError);
    expect(() => inodeKey(1, 1, 1.5)).toThrow(InvariantError);
    expect(() => inodeKey(2 ** 32, 1, 1)).toThrow(InvariantError);
    expect(() => dentryKey(1, 1, 1, '')).toThrow(InvariantError);
  });

  it('refuses malformed keys with a typed error', () => {
    expectKeyError(new Uint8Array([]), 'KEY_TOO_SHORT');
    expectKeyError(new Uint8Array([2, 0, 0, 0]), 'KEY_TOO_SHORT');
    expectKeyError(new Uint8Array([0x06, 0, 0, 0, 1]), 'KEY_UNKNOWN_TABLE');
    expectKeyError(new Uint8Array([0x00, 0, 0, 0, 1]), 'KEY_UNKNOWN_TABLE');
    expectKeyError(new Uint8Array([...partitionInfoKey(1), 0]), 'KEY_BAD_LENGTH');
    expectKeyError(inodeKey(1, 1, 1).subarray(0, 16), 'KEY_BAD_LENGTH');
    expectKeyError(new Uint8Array([...inodeKey(1, 1, 1), 0]), 'KEY_BAD_LENGTH');
    expectKeyError(trashKey(1, 1, 1).subarray(0, 10), 'KEY_BAD_LENGTH');
    expectKeyError(dentryPrefix(1, 1, 1), 'KEY_BAD_LENGTH');
    expectKeyError(new Uint8Array([...dentryPrefix(1, 1, 1), 0xff]), 'KEY_BAD_NAME');
    const unsafe = inodeKey(1, 1, 1);
    unsafe[9] = 0x00;
    unsafe[10] = 0x20; // high word 0x00200000: 2^53
    expectKeyError(unsafe, 'KEY_BAD_ID');
    expect(() => keyPartitionId(new Uint8Array(3))).toThrow(KeyFormatError);
  });
});
