/**
 * The in-place forms a snapshot dump and load use (write at an offset, read from a
 * range, fill a reused object) against the allocating forms they replace: the same
 * bytes, the same values, the same refusals.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DentryTable } from '../../src/metastore/dentry-table.ts';
import { InodeTable } from '../../src/metastore/inode-table.ts';
import { dentryKey, inodeKey, KeyFormatError, partitionInfoKey, readNameAt, writeDentryKeyAt, writeInodeKeyAt } from '../../src/metastore/keys.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import { dumpSnapshot, loadSnapshot, SnapshotLoadError, SNAPSHOT_USER_DATA } from '../../src/metastore/snapshot-io.ts';
import { SortedNames } from '../../src/metastore/sorted-names.ts';
import { FsFileType, PartitionStatus } from '../../src/metastore/types.ts';
import type { DentryValue, Inode } from '../../src/metastore/types.ts';
import {
  decodeDentryValue,
  decodeDentryValueInto,
  decodeInode,
  decodeInodeInto,
  encodeDentryValue,
  encodeInode,
  encodePartitionInfo,
  newMutableDentryValue,
  newMutableInode,
  ValueFormatError,
  writeDentryValueAt,
  writeInodeValueAt,
} from '../../src/metastore/value-codec.ts';
import { InvariantError } from '../../src/raft/errors.ts';
import { crc32c } from '../../src/storage/checksum.ts';
import { readSnapshotPairs, SnapshotFileError, writeSnapshotFile } from '../../src/storage/snapshot-file.ts';
import type { SnapshotPairSource } from '../../src/storage/snapshot-file.ts';

/** Small and large numbers alike: small ones take the straight-line forms, large ones the general ones. */
const u32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const u64 = fc.oneof(u32, fc.maxSafeNat());
const inodeArbitrary: fc.Arbitrary<Inode> = fc.record({
  inodeId: u64,
  fsId: u32,
  length: u64,
  ctime: u64,
  ctime_ns: u32,
  mtime: u64,
  mtime_ns: u32,
  atime: u64,
  atime_ns: u32,
  uid: u32,
  gid: u32,
  mode: u32,
  nlink: u32,
  type: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<FsFileType>,
  symlink: fc.option(fc.string({ minLength: 1 }), { nil: undefined, freq: 4 }),
  rdev: fc.option(u64, { nil: undefined }),
  dtime: fc.option(u64, { nil: undefined }),
  openmpcount: fc.option(u32, { nil: undefined }),
  xattr: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 3 })),
  parent: fc.array(u64, { maxLength: 20 }),
});
const dentryValueArbitrary: fc.Arbitrary<DentryValue> = fc.record({
  inodeId: u64,
  type: fc.option(fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<FsFileType>, { nil: undefined }),
  flag: fc.option(u32, { nil: undefined }),
  txId: fc.option(u64, { nil: undefined }),
  txSequence: fc.option(u64, { nil: undefined }),
});
const nameArbitrary = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
  fc.string({ minLength: 1, maxLength: 300, unit: 'binary' }),
);

const GARBAGE = 0xa5;

describe('values in place', () => {
  test('writeInodeValueAt writes encodeInode\'s bytes, or -1 without room; decodeInodeInto reads them from a range', () => {
    fc.assert(
      fc.property(inodeArbitrary, fc.nat(7), (inode, offset) => {
        const expected = encodeInode(inode);
        const out = Buffer.alloc(offset + expected.length + 200, GARBAGE);
        const end = writeInodeValueAt(out, offset, out.length, inode);
        expect(Buffer.from(out.subarray(offset, end)).equals(Buffer.from(expected))).toBe(true);
        expect(writeInodeValueAt(out, offset, offset + expected.length - 1, inode)).toBe(-1);
        // Garbage after the range must not be read into the value.
        const target = newMutableInode();
        decodeInodeInto(out, offset, end, target);
        expect(target).toEqual(decodeInode(expected));
        expect(() => decodeInodeInto(out, offset, end - 1, newMutableInode())).toThrow(ValueFormatError);
        expect(() => decodeInodeInto(out, offset, end + 1, newMutableInode())).toThrow(ValueFormatError);
      }),
      { numRuns: 300 },
    );
  });

  test('writeDentryValueAt / decodeDentryValueInto match encodeDentryValue / decodeDentryValue', () => {
    fc.assert(
      fc.property(dentryValueArbitrary, fc.nat(7), (value, offset) => {
        const expected = encodeDentryValue(value);
        const out = Buffer.alloc(offset + 64, GARBAGE);
        const end = writeDentryValueAt(out, offset, value);
        expect(Buffer.from(out.subarray(offset, end)).equals(Buffer.from(expected))).toBe(true);
        const target = newMutableDentryValue();
        decodeDentryValueInto(out, offset, end, target);
        expect(target).toEqual(decodeDentryValue(expected));
        expect(() => decodeDentryValueInto(out, offset, end - 1, target)).toThrow(ValueFormatError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('keys in place', () => {
  test('writeInodeKeyAt and writeDentryKeyAt write inodeKey\'s and dentryKey\'s bytes; readNameAt reads the name back', () => {
    fc.assert(
      fc.property(u32, u32, u64, nameArbitrary, fc.nat(5), (partitionId, fsId, id, name, offset) => {
        const out = Buffer.alloc(offset + 17 + 3 * name.length + 8, GARBAGE);
        const inodeEnd = writeInodeKeyAt(out, offset, partitionId, fsId, id);
        expect(Buffer.from(out.subarray(offset, inodeEnd)).equals(Buffer.from(inodeKey(partitionId, fsId, id)))).toBe(true);
        const dentryEnd = writeDentryKeyAt(out, offset, partitionId, fsId, id, name);
        const expected = dentryKey(partitionId, fsId, id, name);
        expect(Buffer.from(out.subarray(offset, dentryEnd)).equals(Buffer.from(expected))).toBe(true);
        expect(readNameAt(out, offset + 17, dentryEnd)).toBe(Buffer.from(expected.subarray(17)).toString('utf8'));
      }),
      { numRuns: 500 },
    );
  });

  test('readNameAt refuses invalid UTF-8 as decodeKey does', () => {
    for (const bad of [[0x61, 0xff], [0xc3], [0xed, 0xa0, 0x80], [0x80, 0x61]]) {
      const bytes = Uint8Array.of(9, ...bad, 9);
      expect(() => readNameAt(bytes, 1, 1 + bad.length)).toThrow(KeyFormatError);
    }
    expect(readNameAt(Uint8Array.of(9, 0x61, 0xc3, 0xa9, 9), 1, 4)).toBe('aé');
  });
});

describe('tables without allocation', () => {
  test('InodeTable.readInto fills what get() returns, and says false for absent ids', () => {
    fc.assert(
      fc.property(fc.array(inodeArbitrary.map((inode) => ({ ...inode, ctime: inode.ctime % 2 ** 40 })), { maxLength: 20 }), (inodes) => {
        const table = new InodeTable();
        for (const inode of inodes) table.set({ ...inode, inodeId: inode.inodeId % 5000 });
        const target = newMutableInode();
        for (const inode of inodes) {
          const id = inode.inodeId % 5000;
          expect(table.readInto(id, target)).toBe(true);
          expect(target).toEqual(table.get(id));
        }
        expect(table.readInto(9999, target)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  test('Directory.valueInto fills what value() returns (packed and whole values)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(nameArbitrary, dentryValueArbitrary), { maxLength: 20 }), (entries) => {
        const table = new DentryTable();
        for (const [name, value] of entries) table.set(1, 5, name, value);
        const directory = table.directory(5);
        const target = newMutableDentryValue();
        for (const [name] of entries) {
          expect(directory!.valueInto(name, target)).toBe(true);
          expect(target).toEqual(directory!.value(name));
        }
        expect(directory?.valueInto('\u0000absent', target) ?? false).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  test('setInOrder builds the same directory as set(), in or out of order, and copies reused values', () => {
    fc.assert(
      fc.property(fc.uniqueArray(nameArbitrary, { maxLength: 1200 }), fc.boolean(), (names, sorted) => {
        const order = sorted ? [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) : names;
        const general = new DentryTable();
        const fast = new DentryTable();
        const reused = newMutableDentryValue();
        order.forEach((name, i) => {
          const value = { inodeId: i, type: FsFileType.TYPE_FILE, flag: undefined, txId: i % 3 === 0 ? i : undefined, txSequence: undefined };
          general.set(1, 7, name, value);
          Object.assign(reused, value);
          fast.setInOrder(1, 7, name, reused);
        });
        reused.inodeId = -1;
        expect(fast.size).toBe(general.size);
        expect(fast.list(7, undefined, 0, false)).toEqual(general.list(7, undefined, 0, false));
        if (order.length > 2) expect(fast.list(7, order[1], 5, false)).toEqual(general.list(7, order[1], 5, false));
      }),
      { numRuns: 60 },
    );
  });

  test('SortedNames.append fills chunks and keeps inserts and removes working', () => {
    const names = new SortedNames();
    expect(names.last()).toBeUndefined();
    for (let i = 0; i < 2000; i++) names.append(`n${String(i).padStart(5, '0')}`);
    expect(names.last()).toBe('n01999');
    names.insert('n00500a');
    names.remove('n00010');
    const all = names.namesAfter(undefined, 5000);
    expect(all.length).toBe(2000);
    expect(all).toEqual([...all].sort());
    expect(names.namesAfter('n00500', 2)).toEqual(['n00500a', 'n00501']);
  });
});

describe('snapshot files through the fast paths', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'snapshot-fast-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });
  const metadata = { index: 4, term: 1, config: { voters: [1], learners: [], epoch: 0 }, userData: SNAPSHOT_USER_DATA };

  /** A source writing the given framed pairs one fill at a time (what a view does). */
  function sourceOf(pairs: readonly (readonly [Uint8Array, Uint8Array])[]): SnapshotPairSource {
    let next = 0;
    return {
      get done() {
        return next === pairs.length;
      },
      fill(out, at, maxPairs) {
        for (let n = 0; n < maxPairs && next < pairs.length; n++, next++) {
          const [key, value] = pairs[next]!;
          if (at + 8 + key.length + value.length > out.length) break;
          out.writeUInt32LE(key.length, at);
          out.set(key, at + 4);
          out.writeUInt32LE(value.length, at + 4 + key.length);
          out.set(value, at + 8 + key.length);
          at += 8 + key.length + value.length;
        }
        return at;
      },
    };
  }

  test('a source\'s pairs, one larger than the write buffers, are written as given', async () => {
    const pairs = [
      [Uint8Array.of(1), Uint8Array.of(2)],
      [Uint8Array.of(3), new Uint8Array(3 << 20).fill(7)],
      [Uint8Array.of(4, 5), new Uint8Array(0)],
    ] as const;
    const path = join(folder, 'source');
    const info = await writeSnapshotFile(path, metadata, sourceOf(pairs));
    expect(info.pairCount).toBe(3);
    const read = await readSnapshotPairs(path);
    expect(read.pairs.map(([k, v]) => [Buffer.from(k).toString('hex'), v.length, v[0]])).toEqual([['01', 1, 2], ['03', 3 << 20, 7], ['0405', 0, undefined]]);
  });

  test('a source that frames an empty key is refused before anything is published', async () => {
    const path = join(folder, 'bad-source');
    await expect(writeSnapshotFile(path, metadata, sourceOf([[new Uint8Array(0), Uint8Array.of(1)]]))).rejects.toThrow(InvariantError);
    await expect(readFile(path)).rejects.toThrow();
  });

  test('a file whose directory entries are out of order loads to the same state', async () => {
    const store = new MetaStore();
    const info = { fsId: 1, poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 9999, nextId: 3, status: PartitionStatus.READWRITE };
    const records = [{ type: 'set' as const, key: partitionInfoKey(1), value: encodePartitionInfo(info) }];
    for (let i = 0; i < 700; i++) records.push({ type: 'set', key: dentryKey(1, 1, 1 + (i % 3), `é${(i * 7919) % 1000}`), value: encodeDentryValue({ inodeId: 10 + i, type: 2 }) });
    store.applyRecords(4, records);
    const pairs = [...store.pairs()];
    const shuffled = [pairs[0]!, ...pairs.slice(1).reverse()];
    const path = join(folder, 'shuffled');
    await writeSnapshotFile(path, metadata, shuffled);
    const { store: loaded } = await loadSnapshot(path);
    expect(loaded.stateHash()).toBe(store.stateHash());
    expect(loaded.listDentries(1, 2, undefined, 0, false).map((d) => d.name)).toEqual(store.listDentries(1, 2, undefined, 0, false).map((d) => d.name));
  });

  test('a checksummed file with an unloadable pair is SNAPSHOT_BAD_RECORD; a damaged one is a SnapshotFileError', async () => {
    const badInode = encodeInode({ inodeId: 8, fsId: 1, length: 0, ctime: 0, ctime_ns: 0, mtime: 0, mtime_ns: 0, atime: 0, atime_ns: 0, uid: 0, gid: 0, mode: 0, nlink: 1, type: 2, xattr: {}, parent: [] });
    const path = join(folder, 'bad-record');
    await writeSnapshotFile(path, metadata, [[inodeKey(1, 1, 9), badInode]]); // the value names inode 8
    await expect(loadSnapshot(path)).rejects.toMatchObject({ name: 'SnapshotLoadError', code: 'SNAPSHOT_BAD_RECORD' });
    await expect(loadSnapshot(path)).rejects.toBeInstanceOf(SnapshotLoadError);
    // Damage the value so the pair cannot load, without fixing the checksum: the damage is what is reported.
    const bytes = await readFile(path);
    bytes[bytes.length - 12] = 0xc1;
    await writeFile(path, bytes);
    await expect(loadSnapshot(path)).rejects.toBeInstanceOf(SnapshotFileError);
    // The same damage with the checksum fixed: the pair is at fault.
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
    await writeFile(path, bytes);
    await expect(loadSnapshot(path)).rejects.toMatchObject({ code: 'SNAPSHOT_BAD_RECORD' });
  });

  test('a dump of a directory larger than one fill round-trips', async () => {
    const store = new MetaStore();
    const records = [];
    for (let i = 0; i < 3000; i++) records.push({ type: 'set' as const, key: dentryKey(2, 1, 5, `f${i}`), value: encodeDentryValue({ inodeId: 100 + i, type: 2 }) });
    store.applyRecords(1, records);
    const path = join(folder, 'big-dir');
    const info = await dumpSnapshot(store, path, { term: 1, config: metadata.config });
    expect(info.pairCount).toBe(3000);
    const { store: loaded } = await loadSnapshot(path);
    expect(loaded.stateHash()).toBe(store.stateHash());
  });
});
