/** The metastore's parts: name order, sorted names, value codec, tables, apply, snapshot files. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DentryTable } from '../../src/metastore/dentry-table.ts';
import { InodeTable } from '../../src/metastore/inode-table.ts';
import { dentryKey, inodeKey, partitionInfoKey } from '../../src/metastore/keys.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import { compareNames } from '../../src/metastore/name-order.ts';
import { encodeRecordBatch } from '../../src/metastore/record-codec.ts';
import { dumpSnapshot, loadSnapshot } from '../../src/metastore/snapshot-io.ts';
import { SortedNames } from '../../src/metastore/sorted-names.ts';
import { FsFileType, PartitionStatus } from '../../src/metastore/types.ts';
import type { DentryValue, Inode } from '../../src/metastore/types.ts';
import { decodeDentryValue, decodeInode, decodePartitionInfo, encodeDentryValue, encodeInode, encodePartitionInfo, ValueFormatError } from '../../src/metastore/value-codec.ts';
import { InvariantError } from '../../src/raft/errors.ts';
import { SnapshotFileError } from '../../src/storage/snapshot-file.ts';

const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const u64 = fc.maxSafeNat();
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
  symlink: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
  rdev: fc.option(u64, { nil: undefined }),
  dtime: fc.option(u64, { nil: undefined }),
  openmpcount: fc.option(u32, { nil: undefined }),
  xattr: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 3 }),
  parent: fc.array(u64, { maxLength: 3 }),
});
const dentryValueArbitrary: fc.Arbitrary<DentryValue> = fc.record({
  inodeId: u64,
  type: fc.option(fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<FsFileType>, { nil: undefined }),
  flag: fc.option(u32, { nil: undefined }),
  txId: fc.option(u64, { nil: undefined }),
  txSequence: fc.option(u64, { nil: undefined }),
});

const utf8Compare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sign = (n: number) => Math.sign(n);

describe('name order', () => {
  test('equals the byte order of the UTF-8 encodings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => sign(compareNames(a, b)) === sign(utf8Compare(a, b))));
    expect(compareNames('\uFB01', '\u{1F600}')).toBeLessThan(0);
  });
});

describe('SortedNames', () => {
  test('matches a sorted array under inserts, removes and paged reads (differential)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 })), { maxLength: 3000 }),
        fc.string({ unit: 'grapheme', maxLength: 3 }),
        fc.integer({ min: 1, max: 700 }),
        (operations, after, limit) => {
          const names = new SortedNames();
          const reference = new Set<string>();
          for (const [insert, name] of operations) {
            if (insert && !reference.has(name)) {
              names.insert(name);
              reference.add(name);
            } else if (!insert && reference.has(name)) {
              names.remove(name);
              reference.delete(name);
            }
          }
          const sorted = [...reference].sort(compareNames);
          expect(names.size).toBe(sorted.length);
          expect(names.namesAfter(undefined, sorted.length + 1)).toEqual(sorted);
          const start = after === '' ? 0 : sorted.findIndex((n) => compareNames(n, after) > 0);
          expect(names.namesAfter(after === '' ? undefined : after, limit)).toEqual(start < 0 ? [] : sorted.slice(start, start + limit));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('splits into chunks on growth and stays ordered at 5,000 names', () => {
    const names = new SortedNames();
    const all = Array.from({ length: 5000 }, (_, i) => `n${(i * 7919) % 5000}`);
    for (const name of all) names.insert(name);
    expect(names.namesAfter(undefined, 10_000)).toEqual([...all].sort(compareNames));
    expect(() => names.insert('n1')).toThrow(InvariantError);
  });
});

describe('value codec', () => {
  test('inode, dentry value and partition info round-trip, and encode deterministically', () => {
    fc.assert(
      fc.property(inodeArbitrary, dentryValueArbitrary, (inode, dentry) => {
        const bytes = encodeInode(inode);
        const decoded = decodeInode(bytes);
        expect(decoded).toEqual({ ...inode, xattr: { ...inode.xattr } });
        expect(Buffer.from(encodeInode(decoded)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
        expect(decodeDentryValue(encodeDentryValue(dentry))).toEqual(dentry);
      }),
    );
    const info = { fsId: 1, poolId: 2, copysetId: 3, partitionId: 4, start: 0, end: 99, nextId: 5, status: PartitionStatus.READONLY };
    expect(decodePartitionInfo(encodePartitionInfo(info))).toEqual({ ...info, txId: undefined, manageFlag: undefined });
  });

  test('an inode of 16-byte-name scale is about 60 bytes', () => {
    const inode: Inode = { inodeId: 1_048_579, fsId: 1, length: 4096, ctime: 1.7e9, ctime_ns: 123456789, mtime: 1.7e9, mtime_ns: 123456789, atime: 1.7e9, atime_ns: 123456789, uid: 1000, gid: 1000, mode: 0o100644, nlink: 1, type: 2, xattr: {}, parent: [1_048_577] };
    expect(encodeInode(inode).length).toBeLessThanOrEqual(68);
  });

  test('refuses what it did not write', () => {
    expect(() => decodeInode(Uint8Array.of(0xc1))).toThrow(ValueFormatError);
    expect(() => decodeInode(encodeDentryValue({ inodeId: 1 }))).toThrow(ValueFormatError);
    expect(() => decodeDentryValue(Uint8Array.of(0x96, 0x02, 1, 0xc0, 0xc0, 0xc0, 0xc0))).toThrow(/version/);
  });
});

describe('tables', () => {
  test('InodeTable stores every field exactly, including sparse and large ids', () => {
    fc.assert(
      fc.property(fc.array(inodeArbitrary, { maxLength: 20 }), (inodes) => {
        const table = new InodeTable();
        const reference = new Map<number, Inode>();
        for (const inode of inodes) {
          table.set(inode);
          reference.set(inode.inodeId, inode);
        }
        expect(table.size).toBe(reference.size);
        for (const [id, inode] of reference) expect(table.get(id)).toEqual({ ...inode, xattr: { ...inode.xattr } });
        for (const id of reference.keys()) table.delete(id);
        expect(table.size).toBe(0);
        expect([...table.ids()]).toEqual([]);
      }),
    );
  });

  test('DentryTable packs small values and keeps unusual ones whole', () => {
    fc.assert(
      fc.property(dentryValueArbitrary, (value) => {
        const table = new DentryTable();
        table.set(1, 5, 'x', value);
        expect(table.get(5, 'x')).toEqual({ fsId: 1, parentInodeId: 5, name: 'x', ...value });
        expect(table.delete(5, 'x')).toEqual(value);
        expect(table.childCount(5)).toBe(0);
      }),
    );
  });
});

describe('apply', () => {
  const info = { fsId: 1, poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 99, nextId: 3, status: PartitionStatus.READWRITE };
  const inode: Inode = { inodeId: 5, fsId: 1, length: 0, ctime: 1, ctime_ns: 0, mtime: 1, mtime_ns: 0, atime: 1, atime_ns: 0, uid: 0, gid: 0, mode: 0, nlink: 0, type: 2, dtime: 10, xattr: {}, parent: [1] };

  test('SET and DEL in log order; the trash follows nlink 0 + dtime; indexes must increase', () => {
    const store = new MetaStore();
    store.applyEntry(1, encodeRecordBatch([
      { type: 'set', key: partitionInfoKey(1), value: encodePartitionInfo(info) },
      { type: 'set', key: inodeKey(1, 1, 5), value: encodeInode(inode) },
      { type: 'set', key: dentryKey(1, 1, 1, 'a'), value: encodeDentryValue({ inodeId: 5, type: 2 }) },
    ]));
    expect(store.trashSize()).toBe(1);
    expect(store.expiredTrash(20, 10, 5)).toEqual([{ partitionId: 1, fsId: 1, inodeId: 5, dtime: 10 }]);
    expect(store.expiredTrash(19, 10, 5)).toEqual([]);
    store.applyEntry(2, encodeRecordBatch([{ type: 'set', key: inodeKey(1, 1, 5), value: encodeInode({ ...inode, nlink: 1 }) }, { type: 'del', key: dentryKey(1, 1, 1, 'a') }]));
    expect(store.trashSize()).toBe(0);
    expect(store.getDentry(1, 1, 'a')).toBeUndefined();
    expect(store.partitionInfo(1)).toMatchObject({ inodeNum: 1, dentryNum: 0 });
    expect(() => store.applyEntry(2, encodeRecordBatch([]))).toThrow(InvariantError);
    expect(() => store.applyRecord({ type: 'del', key: Uint8Array.of(9, 0, 0, 0, 1) })).toThrow(InvariantError);
    store.skipEntry(3);
    expect(store.appliedIndex).toBe(3);
  });

  test('trash and pending-transaction keys are kept raw and survive a snapshot', async () => {
    const store = new MetaStore();
    const raw = Uint8Array.of(0x04, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9);
    store.applyRecords(1, [{ type: 'set', key: raw, value: Uint8Array.of(1, 2) }]);
    const loaded = await MetaStore.fromPairs(1, store.pairs());
    expect(loaded.stateHash()).toBe(store.stateHash());
    store.applyRecords(2, [{ type: 'del', key: raw }]);
    expect(loaded.stateHash()).not.toBe(store.stateHash());
  });
});

describe('snapshot files', () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'metastore-test-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  function sampleStore(): MetaStore {
    const store = new MetaStore();
    const info = { fsId: 1, poolId: 1, copysetId: 1, partitionId: 3, start: 0, end: 999, nextId: 3, status: PartitionStatus.READWRITE };
    const records = [{ type: 'set' as const, key: partitionInfoKey(3), value: encodePartitionInfo(info) }];
    for (let i = 3; i < 600; i++) {
      const inode: Inode = { inodeId: i, fsId: 1, length: i, ctime: 1, ctime_ns: 0, mtime: 1, mtime_ns: 0, atime: 1, atime_ns: 0, uid: 0, gid: 0, mode: 0, nlink: i % 7 === 0 ? 0 : 1, dtime: i % 7 === 0 ? 5 : undefined, type: FsFileType.TYPE_FILE, xattr: {}, parent: [1] };
      records.push({ type: 'set', key: inodeKey(3, 1, i), value: encodeInode(inode) });
      records.push({ type: 'set', key: dentryKey(3, 1, 1 + (i % 5), `n${i}`), value: encodeDentryValue({ inodeId: i, type: 2 }) });
    }
    store.applyRecords(7, records);
    return store;
  }

  test('dump then load rebuilds the same state, index and trash', async () => {
    const store = sampleStore();
    const path = join(folder, 'snap');
    const info = await dumpSnapshot(store, path, { term: 2, config: { voters: [1, 2, 3], learners: [], epoch: 1 } });
    expect(info.metadata.index).toBe(7);
    expect(info.pairCount).toBe(1 + 2 * 597);
    const { store: loaded } = await loadSnapshot(path);
    expect(loaded.appliedIndex).toBe(7);
    expect(loaded.stateHash()).toBe(store.stateHash());
    expect(loaded.trashSize()).toBe(store.trashSize());
    expect(loaded.trashSize()).toBeGreaterThan(0);
  });

  test('a corrupt file is refused and the target store is untouched', async () => {
    const store = sampleStore();
    const path = join(folder, 'snap');
    await dumpSnapshot(store, path, { term: 2, config: { voters: [1], learners: [], epoch: 0 } });
    const bytes = await readFile(path);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(path, bytes);
    const target = new MetaStore();
    const before = target.stateHash();
    await expect(loadSnapshot(path).then(({ store: loaded }) => target.replaceWith(loaded))).rejects.toThrow(SnapshotFileError);
    expect(target.stateHash()).toBe(before);
  });
});
