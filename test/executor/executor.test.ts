/** Every executor call and the status codes it answers. */
import fc from 'fast-check';
import { beforeEach, describe, expect, test } from 'vitest';
import type { MetaMethod } from '../../src/executor/requests.ts';
import { MetaStatusCode as S } from '../../src/executor/status.ts';
import { MAX_XATTR_VALUE_BYTES } from '../../src/executor/validate.ts';
import { InvariantError } from '../../src/raft/errors.ts';
import { FsFileType, PartitionStatus } from '../../src/metastore/types.ts';
import { FS, routed, T0, TestCopyset } from './harness.ts';

const P = 1;
let c: TestCopyset;

function root() {
  return c.call('CreateRootInode', { ...routed(P), fsId: FS, uid: 0, gid: 0, mode: 0o40755, create: T0 });
}
function createInode(type: FsFileType = FsFileType.TYPE_FILE, extra: object = {}) {
  return c.call('CreateInode', { ...routed(P), fsId: FS, length: 0, uid: 1, gid: 2, mode: 0o644, type, parent: 1, create: T0, ...extra });
}
function createDentry(name: string, inodeId: number, type?: FsFileType, parentInodeId = 1) {
  return c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId, parentInodeId, name, type }, create: T0 });
}
function getInode(inodeId: number) {
  return c.call('GetInode', { ...routed(P), fsId: FS, inodeId });
}

beforeEach(() => {
  c = new TestCopyset();
  expect(c.createPartition(P, 0, 99).statusCode).toBe(S.OK);
});

describe('routing checks, in wire.md order', () => {
  test('PARTITION_NOT_FOUND, then PARTITION_ID_MISSMATCH (fsId, range), then PARTITION_DELETING', () => {
    expect(c.call('GetInode', { ...routed(9), fsId: 99, inodeId: 1000 }).statusCode).toBe(S.PARTITION_NOT_FOUND);
    expect(c.call('GetInode', { ...routed(P), fsId: 99, inodeId: 1 }).statusCode).toBe(S.PARTITION_ID_MISSMATCH);
    expect(c.call('GetInode', { ...routed(P), fsId: FS, inodeId: 100 }).statusCode).toBe(S.PARTITION_ID_MISSMATCH);
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 100, name: 'a' }).statusCode).toBe(S.PARTITION_ID_MISSMATCH);
    expect(c.call('CreateInode', { ...routed(9), fsId: FS, length: 0, uid: 1, gid: 1, mode: 0, type: 2, parent: 1 }).statusCode).toBe(S.PARTITION_NOT_FOUND);
    root();
    createDentry('x', 1, FsFileType.TYPE_DIRECTORY);
    expect(c.call('DeletePartition', routed(P)).statusCode).toBe(S.PARTITION_DELETING);
    expect(getInode(1).statusCode).toBe(S.PARTITION_DELETING);
    expect(c.call('GetInode', { ...routed(P), fsId: 99, inodeId: 1 }).statusCode).toBe(S.PARTITION_ID_MISSMATCH);
    expect(createInode().statusCode).toBe(S.PARTITION_DELETING);
  });

  test('every response carries the applied index', () => {
    const response = root();
    expect(response.appliedIndex).toBe(2);
    expect(getInode(1).appliedIndex).toBe(2);
    expect(getInode(50).appliedIndex).toBe(2);
  });
});

describe('CreateRootInode / CreateManageInode', () => {
  test('root: a directory, nlink 2, owner from the request, times from create; again INODE_EXIST', () => {
    expect(root().statusCode).toBe(S.OK);
    const inode = getInode(1).inode!;
    expect(inode).toMatchObject({ inodeId: 1, type: FsFileType.TYPE_DIRECTORY, nlink: 2, mode: 0o40755, ctime: T0.sec, mtime_ns: T0.nsec, atime: T0.sec });
    expect(root().statusCode).toBe(S.INODE_EXIST);
  });

  test('root: times from the injected clock when the request has none; PARAM_ERROR on a missing owner', () => {
    expect(c.call('CreateRootInode', { ...routed(P), fsId: FS, uid: 0, gid: 0 } as never).statusCode).toBe(S.PARAM_ERROR);
    expect(c.call('CreateRootInode', { ...routed(P), fsId: FS, uid: 0, gid: 0, mode: 0o755 }).statusCode).toBe(S.OK);
    expect(getInode(1).inode!.ctime).toBe(c.now.sec);
  });

  test('root outside the partition range: PARTITION_ID_MISSMATCH', () => {
    c.createPartition(2, 100, 199);
    expect(c.call('CreateRootInode', { ...routed(2), fsId: FS, uid: 0, gid: 0, mode: 0 }).statusCode).toBe(S.PARTITION_ID_MISSMATCH);
  });

  test('recycle: inode 2 named .recycle under the root, root nlink + 1', () => {
    const manage = { ...routed(P), fsId: FS, uid: 0, gid: 0, mode: 0o40700, manageType: 1 as const };
    expect(c.call('CreateManageInode', manage).statusCode).toBe(S.NOT_FOUND);
    root();
    const created = c.call('CreateManageInode', manage);
    expect(created.statusCode).toBe(S.OK);
    expect(created.inode).toMatchObject({ inodeId: 2, type: FsFileType.TYPE_DIRECTORY, parent: [1] });
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: '.recycle' }).dentry!.inodeId).toBe(2);
    expect(getInode(1).inode!.nlink).toBe(3);
    expect(c.call('CreateManageInode', manage).statusCode).toBe(S.INODE_EXIST);
    expect(c.call('CreateManageInode', { ...manage, manageType: 0 }).statusCode).toBe(S.PARAM_ERROR);
  });

  test('recycle: a name already taken is DENTRY_EXIST; a partition without ids 1 and 2 is PARTITION_ID_MISSMATCH', () => {
    const manage = { ...routed(P), fsId: FS, uid: 0, gid: 0, mode: 0o40700, manageType: 1 as const };
    root();
    createDentry('.recycle', 1, FsFileType.TYPE_DIRECTORY);
    expect(c.call('CreateManageInode', manage).statusCode).toBe(S.DENTRY_EXIST);
    c.createPartition(2, 100, 199);
    expect(c.call('CreateManageInode', { ...manage, ...routed(2) }).statusCode).toBe(S.PARTITION_ID_MISSMATCH);
  });
});

describe('CreateInode', () => {
  test('ids from nextId = max(3, start), nlink 2 for a directory and 1 otherwise, parent list, whole inode returned', () => {
    root();
    const dir = createInode(FsFileType.TYPE_DIRECTORY);
    const file = createInode(FsFileType.TYPE_FILE, { rdev: 7 });
    expect(dir.inode).toMatchObject({ inodeId: 3, nlink: 2, parent: [1], uid: 1, gid: 2, ctime: T0.sec });
    expect(file.inode).toMatchObject({ inodeId: 4, nlink: 1, rdev: 7 });
    expect(getInode(4).inode).toEqual(file.inode);
    expect(c.store.partitionInfo(P)).toMatchObject({ nextId: 5, inodeNum: 3, fileType2inodeNum: { 1: 2, 2: 1 } });
  });

  test('a symlink needs its target (SYM_LINK_EMPTY), and keeps it', () => {
    expect(createInode(FsFileType.TYPE_SYM_LINK).statusCode).toBe(S.SYM_LINK_EMPTY);
    expect(createInode(FsFileType.TYPE_SYM_LINK, { symlink: '' }).statusCode).toBe(S.SYM_LINK_EMPTY);
    const link = createInode(FsFileType.TYPE_SYM_LINK, { symlink: '../target' });
    expect(getInode(link.inode!.inodeId).inode!.symlink).toBe('../target');
    // readlink returns a C string: a target with NUL could not come back whole.
    expect(createInode(FsFileType.TYPE_SYM_LINK, { symlink: 'a\0b' }).statusCode).toBe(S.PARAM_ERROR);
  });

  test('bad input is PARAM_ERROR and changes nothing', () => {
    const before = c.store.stateHash();
    for (const bad of [{ type: 9 }, { uid: -1 }, { length: 2 ** 53 }, { mode: 'x' }, { parent: undefined }, { create: { sec: 1, nsec: 2e9 } }]) {
      expect(createInode(FsFileType.TYPE_FILE, bad).statusCode).toBe(S.PARAM_ERROR);
    }
    expect(c.store.stateHash()).toBe(before);
    expect(c.log.length).toBe(1);
  });

  test('the last id turns the partition READONLY; then PARTITION_ALLOC_ID_FAIL', () => {
    c.createPartition(2, 100, 101);
    const make = () => c.call('CreateInode', { ...routed(2), fsId: FS, length: 0, uid: 1, gid: 1, mode: 0, type: 2, parent: 1 });
    expect(make().inode!.inodeId).toBe(100);
    expect(make().inode!.inodeId).toBe(101);
    expect(c.store.partitionInfo(2)!.status).toBe(PartitionStatus.READONLY);
    expect(make().statusCode).toBe(S.PARTITION_ALLOC_ID_FAIL);
  });
});

describe('GetInode / UpdateInode / DeleteInode / Batch*', () => {
  beforeEach(() => {
    root();
    createInode();
  });

  test('GetInode: NOT_FOUND, PARAM_ERROR', () => {
    expect(getInode(50).statusCode).toBe(S.NOT_FOUND);
    expect(c.call('GetInode', { ...routed(P), fsId: FS, inodeId: -3 }).statusCode).toBe(S.PARAM_ERROR);
    expect(c.call('GetInode', { ...routed(P), fsId: FS } as never).statusCode).toBe(S.PARAM_ERROR);
  });

  test('UpdateInode: present fields overwrite, parent and xattr lists replace', () => {
    const xattr = { 'user.a': Uint8Array.of(1, 2) };
    const update = { ...routed(P), fsId: FS, inodeId: 3, length: 4096, mtime: 5, mtime_ns: 6, uid: 9, parent: [1, 1], xattr };
    expect(c.call('UpdateInode', update).statusCode).toBe(S.OK);
    const inode = getInode(3).inode!;
    expect(inode).toMatchObject({ length: 4096, mtime: 5, mtime_ns: 6, uid: 9, gid: 2, parent: [1, 1], ctime: T0.sec });
    expect(inode.xattr).toEqual(xattr);
    expect(c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 3, parent: [], xattr: {} }).statusCode).toBe(S.OK);
    expect(getInode(3).inode!.parent).toEqual([1, 1]);
    expect(c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 50 }).statusCode).toBe(S.NOT_FOUND);
  });

  test('UpdateInode: xattr caps and bad fields are PARAM_ERROR', () => {
    const call = (extra: object) => c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 3, ...extra });
    expect(call({ xattr: { a: new Uint8Array(MAX_XATTR_VALUE_BYTES + 1) } }).statusCode).toBe(S.PARAM_ERROR);
    expect(call({ xattr: { ['n'.repeat(256)]: Uint8Array.of(1) } }).statusCode).toBe(S.PARAM_ERROR);
    expect(call({ xattr: { a: 'text' } }).statusCode).toBe(S.PARAM_ERROR);
    expect(call({ nlink: 2 ** 32 }).statusCode).toBe(S.PARAM_ERROR);
    expect(call({ parent: [-1] }).statusCode).toBe(S.PARAM_ERROR);
    expect(call({ inodeOpenStatusChange: 5 }).statusCode).toBe(S.PARAM_ERROR);
  });

  test('nlink reaching 0 sets dtime and puts the inode in the trash; open inodes are not reclaimed', () => {
    c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 3, inodeOpenStatusChange: 1 });
    expect(c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 3, nlink: 0 }).statusCode).toBe(S.OK);
    expect(getInode(3).inode).toMatchObject({ nlink: 0, dtime: c.now.sec, openmpcount: 1 });
    expect(c.store.trashSize()).toBe(1);
    expect(c.executor.expiredTrash(c.now.sec + 10, 0, 10)).toEqual([]);
    c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 3, inodeOpenStatusChange: 2 });
    expect(c.executor.expiredTrash(c.now.sec + 5, 10, 10)).toEqual([]);
    const expired = c.executor.expiredTrash(c.now.sec + 10, 10, 10);
    expect(expired).toEqual([{ poolId: 1, copysetId: 1, partitionId: P, fsId: FS, inodeId: 3 }]);
    expect(c.call('DeleteInode', expired[0]!).statusCode).toBe(S.OK);
    expect(c.store.trashSize()).toBe(0);
    expect(getInode(3).statusCode).toBe(S.NOT_FOUND);
  });

  test('DeleteInode of a missing inode is OK and proposes nothing', () => {
    const entries = c.log.length;
    expect(c.call('DeleteInode', { ...routed(P), fsId: FS, inodeId: 50 }).statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries);
  });

  test('BatchGetInodeAttr / BatchGetXAttr: all or nothing', () => {
    const batch = (inodeId: number[]) => c.call('BatchGetInodeAttr', { ...routed(P), fsId: FS, inodeId });
    expect(batch([1, 3]).attr.map((a) => a.inodeId)).toEqual([1, 3]);
    expect(batch([1, 50, 3])).toMatchObject({ statusCode: S.NOT_FOUND, attr: [] });
    expect(batch([1, 500])).toMatchObject({ statusCode: S.PARTITION_ID_MISSMATCH, attr: [] });
    expect(batch([1.5]).statusCode).toBe(S.PARAM_ERROR);
    c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: 3, xattr: { k: Uint8Array.of(7) } });
    const xattrs = c.call('BatchGetXAttr', { ...routed(P), fsId: FS, inodeId: [3] });
    expect(xattrs).toMatchObject({ statusCode: S.OK, xattr: [{ inodeId: 3, fsId: FS, xAttrInfos: { k: Uint8Array.of(7) } }] });
    expect(c.call('BatchGetXAttr', { ...routed(P), fsId: FS, inodeId: [9] })).toMatchObject({ statusCode: S.NOT_FOUND, xattr: [] });
  });
});

describe('dentries', () => {
  beforeEach(() => {
    root();
    createInode(FsFileType.TYPE_DIRECTORY); // 3
    createInode(FsFileType.TYPE_FILE); // 4
  });

  test('CreateDentry: OK, same inode again OK (nothing proposed), another inode DENTRY_EXIST', () => {
    expect(createDentry('d', 3, FsFileType.TYPE_DIRECTORY).statusCode).toBe(S.OK);
    const entries = c.log.length;
    expect(createDentry('d', 3, FsFileType.TYPE_DIRECTORY).statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries);
    expect(createDentry('d', 4, FsFileType.TYPE_FILE).statusCode).toBe(S.DENTRY_EXIST);
  });

  test('CreateDentry / DeleteDentry keep the parent: nlink ± 1 for a directory, mtime/ctime := create', () => {
    const later = { sec: T0.sec + 100, nsec: 1 };
    c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: 3, parentInodeId: 1, name: 'd', type: 1 }, create: later });
    expect(getInode(1).inode).toMatchObject({ nlink: 3, mtime: later.sec, ctime: later.sec, atime: T0.sec });
    createDentry('f', 4, FsFileType.TYPE_FILE);
    expect(getInode(1).inode!.nlink).toBe(3);
    expect(c.call('DeleteDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'd' }).statusCode).toBe(S.OK);
    expect(getInode(1).inode!.nlink).toBe(2);
    expect(c.call('DeleteDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'd' }).statusCode).toBe(S.NOT_FOUND);
    expect(c.call('DeleteDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'f', type: 8 as FsFileType }).statusCode).toBe(S.PARAM_ERROR);
    expect(c.call('DeleteDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: '' }).statusCode).toBe(S.PARAM_ERROR);
  });

  test('CreateDentry: the parent must exist (NOT_FOUND) and be a directory (PARAM_ERROR)', () => {
    expect(createDentry('x', 4, FsFileType.TYPE_FILE, 50).statusCode).toBe(S.NOT_FOUND);
    expect(createDentry('x', 3, FsFileType.TYPE_FILE, 4).statusCode).toBe(S.PARAM_ERROR);
  });

  test('names: empty, "." or "..", too long, with / or NUL, lone surrogates are PARAM_ERROR; 255 bytes is fine', () => {
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256), 'é'.repeat(128), '\uD800x', undefined]) {
      expect(createDentry(name as string, 4, FsFileType.TYPE_FILE).statusCode).toBe(S.PARAM_ERROR);
    }
    expect(createDentry('é'.repeat(127) + 'x', 4, FsFileType.TYPE_FILE).statusCode).toBe(S.OK);
    for (const name of ['...', '.a', 'a.']) expect(createDentry(name, 4, FsFileType.TYPE_FILE).statusCode).toBe(S.OK);
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'a/b' }).statusCode).toBe(S.PARAM_ERROR);
  });

  test('GetDentry and ListDentry: byte order, paging after last, count, onlyDir, empty directory', () => {
    const names = ['b', 'a', '\u{1F600}', '\uFB01', 'aa', 'B'];
    names.forEach((name, i) => createDentry(name, i === 0 ? 3 : 4, i === 0 ? FsFileType.TYPE_DIRECTORY : FsFileType.TYPE_FILE));
    const list = (extra: object) => c.call('ListDentry', { ...routed(P), fsId: FS, dirInodeId: 1, ...extra });
    expect(list({}).dentrys.map((d) => d.name)).toEqual(['B', 'a', 'aa', 'b', '\uFB01', '\u{1F600}']);
    expect(list({ last: 'aa', count: 2 }).dentrys.map((d) => d.name)).toEqual(['b', '\uFB01']);
    expect(list({ last: 'ab', count: 0 }).dentrys.map((d) => d.name)).toEqual(['b', '\uFB01', '\u{1F600}']);
    expect(list({ onlyDir: true }).dentrys.map((d) => d.name)).toEqual(['b']);
    expect(c.call('ListDentry', { ...routed(P), fsId: FS, dirInodeId: 3 })).toMatchObject({ statusCode: S.OK, dentrys: [] });
    expect(list({ last: 'a/b' }).statusCode).toBe(S.PARAM_ERROR);
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'b' }).dentry).toMatchObject({ inodeId: 3, type: 1, fsId: FS, parentInodeId: 1 });
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'zz' }).statusCode).toBe(S.NOT_FOUND);
  });

  test('flags, txId and txSequence round-trip', () => {
    c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: 4, parentInodeId: 1, name: 'f', type: 2, flag: 1 } });
    c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: 4, parentInodeId: 1, name: 'g', txId: 5, txSequence: 9, flag: 4 } });
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'f' }).dentry).toMatchObject({ flag: 1, type: 2 });
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'g' }).dentry).toMatchObject({ flag: 4, txId: 5, txSequence: 9 });
  });
});

describe('partitions', () => {
  test('CreatePartition: idempotent, PARAM_ERROR on a bad range', () => {
    const entries = c.log.length;
    expect(c.createPartition(P, 0, 99).statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries);
    expect(c.createPartition(5, 10, 9).statusCode).toBe(S.PARAM_ERROR);
    expect(c.call('CreatePartition', {} as never).statusCode).toBe(S.PARAM_ERROR);
    expect(c.createPartition(6, 2 ** 20, 2 ** 21 - 1).statusCode).toBe(S.OK);
    expect(c.store.partitionInfo(6)).toMatchObject({ nextId: 2 ** 20, status: PartitionStatus.READWRITE, inodeNum: 0, dentryNum: 0 });
  });

  test('DeletePartition: absent NOT_FOUND, empty removed at once', () => {
    expect(c.call('DeletePartition', routed(9)).statusCode).toBe(S.PARTITION_NOT_FOUND);
    expect(c.call('DeletePartition', routed(P)).statusCode).toBe(S.OK);
    expect(c.store.partitionInfo(P)).toBeUndefined();
  });

  test('DeletePartition: two-phase through DELETING, dentries dropped, inodes reclaimed through the log', () => {
    root();
    for (let i = 0; i < 5; i++) createDentry(`f${i}`, createInode().inode!.inodeId, FsFileType.TYPE_FILE);
    expect(c.call('DeletePartition', routed(P)).statusCode).toBe(S.PARTITION_DELETING);
    expect(c.store.partitionInfo(P)).toMatchObject({ status: PartitionStatus.DELETING, dentryNum: 0, inodeNum: 6 });
    expect(c.executor.deletingPartitions()).toEqual([P]);
    expect(c.call('DeletePartition', routed(P)).statusCode).toBe(S.PARTITION_DELETING);
    let steps = 0;
    while (c.call('ReclaimPartition', { partitionId: P, maxRecords: 4 }).deleted > 0) steps++;
    expect(steps).toBe(2);
    expect(c.call('DeletePartition', routed(P)).statusCode).toBe(S.OK);
    expect(c.store.partitionIds()).toEqual([]);
    expect(c.call('ReclaimPartition', { partitionId: P }).statusCode).toBe(S.PARTITION_NOT_FOUND);
  });

  test('ReclaimPartition runs only on a DELETING partition', () => {
    expect(c.call('ReclaimPartition', { partitionId: P }).statusCode).toBe(S.PARAM_ERROR);
    expect(c.call('ReclaimPartition', { partitionId: P, maxRecords: 0 }).statusCode).toBe(S.PARAM_ERROR);
  });
});

describe('rename', () => {
  const rename = (srcParent: number, srcName: string, dstParent: number, dstName: string) =>
    c.call('Rename', { poolId: 1, copysetId: 1, fsId: FS, srcPartitionId: P, srcParentInodeId: srcParent, srcName, dstPartitionId: P, dstParentInodeId: dstParent, dstName, create: T0 });

  beforeEach(() => {
    root();
    createDentry('d', createInode(FsFileType.TYPE_DIRECTORY).inode!.inodeId, FsFileType.TYPE_DIRECTORY); // 3
    createDentry('e', createInode(FsFileType.TYPE_DIRECTORY).inode!.inodeId, FsFileType.TYPE_DIRECTORY); // 4
    createDentry('f', createInode().inode!.inodeId, FsFileType.TYPE_FILE); // 5
    createDentry('g', createInode().inode!.inodeId, FsFileType.TYPE_FILE); // 6
  });

  test('missing source NOT_FOUND; same name OK', () => {
    expect(rename(1, 'nope', 1, 'x').statusCode).toBe(S.NOT_FOUND);
    const entries = c.log.length;
    expect(rename(1, 'f', 1, 'f').statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries);
  });

  test('over a file: one entry, the replaced file loses a link and goes to the trash', () => {
    const entries = c.log.length;
    expect(rename(1, 'f', 1, 'g').statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries + 1);
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'g' }).dentry!.inodeId).toBe(5);
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: 1, name: 'f' }).statusCode).toBe(S.NOT_FOUND);
    expect(getInode(6).inode).toMatchObject({ nlink: 0, dtime: c.now.sec });
    expect(c.store.trashSize()).toBe(1);
  });

  test('directories: into another directory moves nlink and parent; over an empty one; refused non-empty and own subtree', () => {
    expect(rename(1, 'd', 4, 'd2').statusCode).toBe(S.OK);
    expect(getInode(1).inode!.nlink).toBe(3);
    expect(getInode(4).inode!.nlink).toBe(3);
    expect(getInode(3).inode!.parent).toEqual([4]);
    expect(rename(1, 'e', 4, 'x').statusCode).toBe(S.PARAM_ERROR);
    expect(rename(4, 'd2', 3, 'x').statusCode).toBe(S.PARAM_ERROR);
    expect(rename(1, 'f', 1, 'e').statusCode).toBe(S.PARAM_ERROR);
    expect(rename(1, 'e', 1, 'f').statusCode).toBe(S.PARAM_ERROR);
    createDentry('inner', 6, FsFileType.TYPE_FILE, 3);
    const emptyDir = createInode(FsFileType.TYPE_DIRECTORY).inode!.inodeId;
    createDentry('empty', emptyDir, FsFileType.TYPE_DIRECTORY);
    expect(rename(1, 'empty', 4, 'd2').statusCode).toBe(S.TARGET_DIRECTORY_EXIST);
    c.call('DeleteDentry', { ...routed(P), fsId: FS, parentInodeId: 3, name: 'inner' });
    expect(rename(1, 'empty', 4, 'd2').statusCode).toBe(S.OK);
    expect(getInode(3).inode).toMatchObject({ nlink: 0 });
    expect(getInode(4).inode!.nlink).toBe(3);
    expect(getInode(1).inode!.nlink).toBe(3);
  });
});

describe('the leader view', () => {
  test('a write sees earlier unapplied writes; reads see only applied state; apply drops the overlay', () => {
    root();
    c.hold();
    const first = createInode().inode!.inodeId;
    const second = createInode().inode!.inodeId;
    expect(second).toBe(first + 1);
    expect(createDentry('x', first, FsFileType.TYPE_FILE).statusCode).toBe(S.OK);
    expect(createDentry('x', second, FsFileType.TYPE_FILE).statusCode).toBe(S.DENTRY_EXIST);
    expect(getInode(first).statusCode).toBe(S.NOT_FOUND);
    expect(c.executor.view.overlaySize).toBeGreaterThan(0);
    c.applyAll();
    expect(c.executor.view.overlaySize).toBe(0);
    expect(getInode(first).statusCode).toBe(S.OK);
  });

  test('an overlay entry stays until the last entry that wrote its key is applied', () => {
    root();
    c.hold();
    const first = createInode();
    const second = createInode();
    c.applyUpTo(first.appliedIndex!);
    // The partition info (nextId) was rewritten by the second entry, still unapplied.
    expect(createInode().inode!.inodeId).toBe(second.inode!.inodeId + 1);
    c.applyUpTo(second.appliedIndex!);
    expect(createDentry('late', second.inode!.inodeId, FsFileType.TYPE_FILE).statusCode).toBe(S.OK);
    c.applyAll();
    expect(c.executor.view.overlaySize).toBe(0);
    expect(c.store.partitionInfo(P)!.nextId).toBe(second.inode!.inodeId + 2);
  });

  test('leadership lost drops the overlay; a failed proposal takes its effects back', () => {
    root();
    const result = c.executor.execute('CreateInode', { ...routed(P), fsId: FS, length: 0, uid: 1, gid: 1, mode: 0, type: 2, parent: 1 });
    expect(result.kind).toBe('write');
    expect(() => c.executor.execute('GetInode', { ...routed(P), fsId: FS, inodeId: 1 })).toThrow(InvariantError);
    c.executor.onProposeFailed();
    expect(c.executor.view.overlaySize).toBe(0);
    c.hold();
    expect(createInode().inode!.inodeId).toBe(3);
    expect(createInode().inode!.inodeId).toBe(4);
    c.executor.onLeadershipLost();
    expect(c.executor.view.overlaySize).toBe(0);
    expect(c.executor.view.partition(P)!.nextId).toBe(3);
  });
});

describe('robustness', () => {
  const methods: MetaMethod[] = [
    'GetDentry', 'ListDentry', 'CreateDentry', 'DeleteDentry', 'GetInode', 'CreateInode', 'CreateRootInode', 'CreateManageInode',
    'UpdateInode', 'DeleteInode', 'BatchGetInodeAttr', 'BatchGetXAttr', 'CreatePartition', 'DeletePartition', 'Rename', 'ReclaimPartition',
  ];

  test('any request shape gets a status code, never an exception; a failure changes nothing', () => {
    root();
    fc.assert(
      fc.property(fc.constantFrom(...methods), fc.anything({ withNullPrototype: true, withTypedArray: true }), fc.boolean(), (method, junk, routedJunk) => {
        const request = routedJunk && typeof junk === 'object' && junk !== null ? { ...routed(P), fsId: FS, ...junk } : junk;
        const before = c.store.stateHash();
        const result = c.executor.execute(method, request as never);
        // No intents exist here: nothing can be blocked.
        if (result.kind === 'blocked') throw new Error(`${method} blocked without any intent`);
        expect(typeof result.response.statusCode).toBe('number');
        if (result.kind === 'write') {
          c.log.push(result.batch);
          c.executor.onProposed(c.log.length);
          c.applyAll();
        } else if (result.response.statusCode !== S.OK) {
          expect(c.store.stateHash()).toBe(before);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
