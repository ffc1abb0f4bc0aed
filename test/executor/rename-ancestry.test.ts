/**
 * Rename's subtree check when the destination's ancestors leave the copyset: the move
 * cannot be proven cycle-free, so it must be refused (TX_FAILED), never accepted.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { MetaStatusCode as S } from '../../src/executor/status.ts';
import { FsFileType } from '../../src/metastore/types.ts';
import { FS, routed, T0, TestCopyset } from './harness.ts';

const P = 1;
/** An inode id no partition of this copyset holds (the test partition covers 0..99). */
const ELSEWHERE = 500;
let c: TestCopyset;

function createInode(type: FsFileType, parent: number) {
  return c.call('CreateInode', { ...routed(P), fsId: FS, length: 0, uid: 1, gid: 2, mode: 0o755, type, parent, create: T0 });
}
function createDentry(name: string, inodeId: number, type: FsFileType, parentInodeId: number) {
  return c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId, parentInodeId, name, type }, create: T0 });
}
function rename(srcParent: number, srcName: string, dstParent: number, dstName: string) {
  return c.call('Rename', { poolId: 1, copysetId: 1, fsId: FS, srcPartitionId: P, srcParentInodeId: srcParent, srcName, dstPartitionId: P, dstParentInodeId: dstParent, dstName, create: T0 });
}
function dentry(parentInodeId: number, name: string) {
  return c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId, name });
}

describe('rename: a destination whose ancestry leaves the copyset', () => {
  let moved: number;
  let foreignChild: number;

  beforeEach(() => {
    c = new TestCopyset();
    expect(c.createPartition(P, 0, 99).statusCode).toBe(S.OK);
    c.call('CreateRootInode', { ...routed(P), fsId: FS, uid: 0, gid: 0, mode: 0o40755, create: T0 });
    moved = createInode(FsFileType.TYPE_DIRECTORY, 1).inode!.inodeId;
    expect(createDentry('d', moved, FsFileType.TYPE_DIRECTORY, 1).statusCode).toBe(S.OK);
    // A directory held here whose parent (ELSEWHERE) lives in another copyset: it may well
    // sit below `d` (d/…/ELSEWHERE/foreignChild), which this copyset cannot see.
    foreignChild = createInode(FsFileType.TYPE_DIRECTORY, ELSEWHERE).inode!.inodeId;
  });

  test('a directory moved under it is refused with TX_FAILED and nothing changes', () => {
    const entries = c.log.length;
    expect(rename(1, 'd', foreignChild, 'd')).toMatchObject({ statusCode: S.TX_FAILED });
    expect(c.log.length).toBe(entries);
    expect(dentry(1, 'd').dentry?.inodeId).toBe(moved);
    expect(dentry(foreignChild, 'd').statusCode).toBe(S.NOT_FOUND);
  });

  test('also when the chain leaves the copyset a few levels up', () => {
    const middle = createInode(FsFileType.TYPE_DIRECTORY, foreignChild).inode!.inodeId;
    expect(createDentry('m', middle, FsFileType.TYPE_DIRECTORY, foreignChild).statusCode).toBe(S.OK);
    expect(rename(1, 'd', middle, 'd').statusCode).toBe(S.TX_FAILED);
  });

  test('a file may move there, a directory may be renamed within its parent, and a chain inside the copyset still works', () => {
    const file = createInode(FsFileType.TYPE_FILE, 1).inode!.inodeId;
    createDentry('f', file, FsFileType.TYPE_FILE, 1);
    expect(rename(1, 'f', foreignChild, 'f').statusCode).toBe(S.OK);
    const sub = createInode(FsFileType.TYPE_DIRECTORY, foreignChild).inode!.inodeId;
    createDentry('sub', sub, FsFileType.TYPE_DIRECTORY, foreignChild);
    expect(rename(foreignChild, 'sub', foreignChild, 'sub2').statusCode).toBe(S.OK);
    const other = createInode(FsFileType.TYPE_DIRECTORY, 1).inode!.inodeId;
    createDentry('o', other, FsFileType.TYPE_DIRECTORY, 1);
    expect(rename(1, 'd', other, 'd').statusCode).toBe(S.OK);
    expect(rename(1, 'o', moved, 'o').statusCode).toBe(S.PARAM_ERROR);
  });
});
