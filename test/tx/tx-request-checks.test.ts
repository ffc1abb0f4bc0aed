import { describe, expect, it } from 'vitest';
import { FsFileType, type TxCreateRequest, type TxRoute } from '../../src/proto/index.ts';
import { areWellFormedRoutes, isWellFormedCreate, isWellFormedLink, isWellFormedRename, isWellFormedUnlink } from '../../src/tx/tx-request-checks.ts';

const ROUTES: TxRoute[] = [
  { poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 99, peers: ['127.0.0.1:6701:0'] },
  { poolId: 1, copysetId: 2, partitionId: 2, start: 100, end: 199, peers: [] },
];
const ENVELOPE = { poolId: 1, copysetId: 1, fsId: 1, txId: { clientId: 7, seq: 1 }, routes: ROUTES };
const NAME = { partitionId: 1, parentInodeId: 1, name: 'a' };
const CREATE: TxCreateRequest = { ...ENVELOPE, dst: NAME, inodePartitionId: 2, type: FsFileType.TYPE_FILE, mode: 0o100644, uid: 0, gid: 0 };

describe('TxService request checks', () => {
  it('accept well-formed calls of every kind', () => {
    expect(isWellFormedRename({ ...ENVELOPE, src: NAME, dst: { ...NAME, name: 'b' }, time: { sec: 1, nsec: 0 }, ackedBelow: 3 })).toBe(true);
    expect(isWellFormedLink({ ...ENVELOPE, inodeId: 150, dst: NAME })).toBe(true);
    expect(isWellFormedCreate(CREATE)).toBe(true);
    expect(isWellFormedCreate({ ...CREATE, type: FsFileType.TYPE_SYM_LINK, symlink: '/x' })).toBe(true);
    expect(isWellFormedUnlink({ ...ENVELOPE, name: NAME, directory: true })).toBe(true);
  });

  it('refuse each malformed field', () => {
    const bad: [string, Partial<TxCreateRequest> & Record<string, unknown>][] = [
      ['name "."', { dst: { ...NAME, name: '.' } }],
      ['name with a slash', { dst: { ...NAME, name: 'a/b' } }],
      ['no name', { dst: undefined }],
      ['negative parent', { dst: { ...NAME, parentInodeId: -1 } }],
      ['fractional fsId', { fsId: 1.5 }],
      ['poolId over 32 bits', { poolId: 2 ** 32 }],
      ['no txId', { txId: undefined }],
      ['negative seq', { txId: { clientId: 7, seq: -1 } }],
      ['nsec out of range', { time: { sec: 1, nsec: 1e9 } }],
      ['negative ackedBelow', { ackedBelow: -1 }],
      ['unknown file type', { type: 99 as FsFileType }],
      ['mode over 32 bits', { mode: 2 ** 32 }],
      ['inode partition not an id', { inodePartitionId: Number.NaN }],
      ['symlink target with NUL', { type: FsFileType.TYPE_SYM_LINK, symlink: 'a\0b' }],
    ];
    for (const [what, fields] of bad) expect(isWellFormedCreate({ ...CREATE, ...fields } as TxCreateRequest), what).toBe(false);
    expect(isWellFormedLink({ ...ENVELOPE, inodeId: -5, dst: NAME })).toBe(false);
    expect(isWellFormedUnlink({ ...ENVELOPE, name: NAME, directory: 'yes' as unknown as boolean })).toBe(false);
    expect(isWellFormedRename({ ...ENVELOPE, src: NAME, dst: { ...NAME, name: '..' } })).toBe(false);
  });

  it('refuse route tables that cannot describe a file system', () => {
    expect(areWellFormedRoutes(ROUTES)).toBe(true);
    expect(areWellFormedRoutes([])).toBe(false);
    expect(areWellFormedRoutes(undefined)).toBe(false);
    expect(areWellFormedRoutes([{ ...ROUTES[0]!, start: 100, end: 99 }])).toBe(false);
    expect(areWellFormedRoutes([ROUTES[0]!, { ...ROUTES[1]!, start: 99 }])).toBe(false);
    expect(areWellFormedRoutes([ROUTES[0]!, { ...ROUTES[1]!, partitionId: 1 }])).toBe(false);
    expect(areWellFormedRoutes([{ ...ROUTES[0]!, peers: [''] }])).toBe(false);
    // Ranges may come in any order and touch without overlapping.
    expect(areWellFormedRoutes([ROUTES[1]!, ROUTES[0]!])).toBe(true);
  });
});
