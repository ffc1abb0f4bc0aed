/**
 * The replicated tx vocabulary (src/metastore/tx-records.ts): codecs refuse what this
 * code did not write, keys round-trip, and the conflict table of docs/transactions.md §5
 * holds cell by cell.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import {
  TxFormatError,
  compareAttempts,
  conflictingLocks,
  decodeIntent,
  decodePart,
  decodeRecord,
  deltaLock,
  dirmoveLock,
  encodeTx,
  linksLock,
  locksOfPart,
  nameLock,
  parseTxKeyBytes,
  sealLock,
  txKeyBytes,
  underLock,
} from '../../src/metastore/tx-records.ts';
import type { TxIntent, TxPart, TxRecord } from '../../src/metastore/tx-records.ts';
import { FsFileType } from '../../src/metastore/types.ts';

const part: TxPart = {
  time: { sec: 10, nsec: 5 },
  conditions: [
    { c: 'dentry', partitionId: 1, parent: 9, name: 'a', inodeId: null },
    { c: 'empty', partitionId: 1, inodeId: 12 },
  ],
  effects: [
    { e: 'putDentry', partitionId: 1, parent: 9, name: 'a', inodeId: 2 ** 40, type: FsFileType.TYPE_FILE, flag: 1 },
    { e: 'touchDir', partitionId: 1, inodeId: 9, nlinkDelta: -1 },
  ],
};
const intent: TxIntent = { v: 1, txId: { clientId: 2 ** 52, seq: 3 }, attempt: [4, 5], stamp: 77, coordinator: { poolId: 1, copysetId: 2, partitionId: 3, peers: ['1.2.3.4:5:0'] }, fsId: 8, part };
const record: TxRecord = {
  v: 1,
  txId: { clientId: 1, seq: 2 },
  attempt: [1, 1],
  kind: 'rename',
  decidedAtMs: 123,
  digest: 'ab',
  participants: [{ poolId: 1, copysetId: 2, stamp: 9, peers: [] }],
  reply: { statusCode: 0 },
};

describe('codecs', () => {
  it('round-trip parts, intents and records', () => {
    expect(decodePart(encodeTx(part))).toEqual(part);
    expect(decodeIntent(encodeTx(intent))).toEqual(intent);
    expect(decodeRecord(encodeTx(record))).toEqual(record);
  });

  it('refuse an unknown version, a wrong shape and undecodable bytes with a TxFormatError code', () => {
    const packr = new Packr({ useRecords: false, mapsAsObjects: true });
    const expectCode = (fn: () => unknown, code: string) => {
      try {
        fn();
        expect.unreachable('decoding should fail');
      } catch (error) {
        expect(error).toBeInstanceOf(TxFormatError);
        expect((error as TxFormatError).code).toBe(code);
      }
    };
    expectCode(() => decodeIntent(packr.pack({ ...intent, v: 2 })), 'TX_BAD_VERSION');
    expectCode(() => decodeRecord(packr.pack({ ...record, v: 0 })), 'TX_BAD_VERSION');
    expectCode(() => decodeIntent(packr.pack({ v: 1, txId: intent.txId })), 'TX_BAD_SHAPE');
    expectCode(() => decodePart(packr.pack([1, 2])), 'TX_BAD_SHAPE');
    expectCode(() => decodePart(packr.pack({ ...part, effects: [{ e: 'newInode' }] })), 'TX_BAD_SHAPE');
    expectCode(() => decodePart(packr.pack({ ...part, conditions: [{ c: 'teleport' }] })), 'TX_BAD_SHAPE');
    expectCode(() => decodePart(new Uint8Array([0x85, 0xa1])), 'TX_UNDECODABLE');
  });

  it('keys carry sub-kind, clientId and seq exactly (any u53 ids), and refuse other shapes', () => {
    fc.assert(
      fc.property(fc.constantFrom('record' as const, 'intent' as const), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (kind, clientId, seq) => {
        expect(parseTxKeyBytes(txKeyBytes(kind, { clientId, seq }))).toEqual({ kind, txId: { clientId, seq } });
      }),
    );
    expect(parseTxKeyBytes(new Uint8Array(16))).toBeUndefined();
    expect(parseTxKeyBytes(new Uint8Array(17).fill(3))).toBeUndefined();
  });
});

describe('locks', () => {
  it('a part holds a name (and under) lock per dentry, a seal per emptied directory, a delta per touched parent', () => {
    expect(locksOfPart(part).sort()).toEqual([nameLock(1, 9, 'a'), sealLock(1, 12), underLock(1, 9), deltaLock(1, 9)].sort());
  });

  it('conflict table (§5): names and links exclusive, deltas commute, seals exclude the directory and names under it, one dirmove per fs', () => {
    const conflicts = (a: string, b: string) => conflictingLocks(a).includes(b) || conflictingLocks(b).includes(a);
    expect(conflicts(nameLock(1, 2, 'x'), nameLock(1, 2, 'x'))).toBe(true);
    expect(conflicts(nameLock(1, 2, 'x'), nameLock(1, 2, 'y'))).toBe(false);
    expect(conflicts(linksLock(1, 5), linksLock(1, 5))).toBe(true);
    expect(conflicts(linksLock(1, 5), linksLock(1, 6))).toBe(false);
    expect(conflicts(linksLock(1, 5), deltaLock(1, 5))).toBe(true);
    expect(conflicts(deltaLock(1, 5), deltaLock(1, 5))).toBe(false);
    expect(conflicts(sealLock(1, 5), deltaLock(1, 5))).toBe(true);
    expect(conflicts(sealLock(1, 5), underLock(1, 5))).toBe(true);
    expect(conflicts(sealLock(1, 5), underLock(1, 6))).toBe(false);
    expect(conflicts(underLock(1, 5), underLock(1, 5))).toBe(false);
    expect(conflicts(dirmoveLock(3), dirmoveLock(3))).toBe(true);
    expect(conflicts(dirmoveLock(3), dirmoveLock(4))).toBe(false);
    expect(() => conflictingLocks('z:1')).toThrow(TxFormatError);
  });

  it('attempts order by term, then counter', () => {
    expect(compareAttempts([2, 1], [1, 9])).toBeGreaterThan(0);
    expect(compareAttempts([1, 2], [1, 3])).toBeLessThan(0);
    expect(compareAttempts([1, 2], [1, 2])).toBe(0);
  });
});
