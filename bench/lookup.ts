/**
 * `lookup`: GetInode and GetDentry on a partition of N files (in process, no Raft)
 * against raw Maps holding the same objects, and ListDentry pages over one huge
 * directory against the same pages over a small one (a page must cost O(page)).
 *
 * Also exports the fixture the memory and snapshot suites share.
 */
import { MetaExecutor, responseOf } from '../src/executor/executor.ts';
import { dentryKey, inodeKey, partitionInfoKey } from '../src/metastore/keys.ts';
import { MetaStore } from '../src/metastore/metastore.ts';
import { FsFileType, PartitionStatus } from '../src/metastore/types.ts';
import type { Dentry, Inode } from '../src/metastore/types.ts';
import { encodeDentryValue, encodeInode, encodePartitionInfo } from '../src/metastore/value-codec.ts';
import { mulberry32 } from '../src/testing/random.ts';
import { measureRate, Progress, progress } from './harness.ts';
import type { Suite, SuiteContext } from './harness.ts';

export const FS_ID = 1;
export const PARTITION_ID = 1;
/** Entries per directory in the fixture (files are spread over directories of this size). */
export const FILES_PER_DIRECTORY = 1000;

/** A 16-byte name, as the benchmark contract says. */
export function fileName(i: number): string {
  return `file-${i.toString().padStart(11, '0')}`;
}

export interface FixtureFile {
  readonly inode: Inode;
  readonly dentry: Dentry;
}

/** The i-th file of the fixture: directory inodes come first, then files in directories of FILES_PER_DIRECTORY. */
export function fixtureFiles(files: number, perDirectory = FILES_PER_DIRECTORY): { directories: Inode[]; files: (i: number) => FixtureFile } {
  const random = mulberry32(42);
  const directoryCount = Math.ceil(files / perDirectory);
  const firstFileId = 3 + directoryCount;
  const time = 1_700_000_000;
  const base = (inodeId: number, type: FsFileType, parent: number): Inode => ({
    inodeId,
    fsId: FS_ID,
    length: type === FsFileType.TYPE_FILE ? Math.floor(random() * 1_000_000) : 0,
    ctime: time,
    ctime_ns: Math.floor(random() * 1e9),
    mtime: time,
    mtime_ns: Math.floor(random() * 1e9),
    atime: time,
    atime_ns: Math.floor(random() * 1e9),
    uid: 1000,
    gid: 1000,
    mode: type === FsFileType.TYPE_DIRECTORY ? 0o40755 : 0o100644,
    nlink: type === FsFileType.TYPE_DIRECTORY ? 2 : 1,
    type,
    xattr: {},
    parent: [parent],
  });
  const directories: Inode[] = [];
  for (let d = 0; d < directoryCount; d++) directories.push(base(3 + d, FsFileType.TYPE_DIRECTORY, 1));
  return {
    directories,
    files: (i) => {
      const parent = 3 + Math.floor(i / perDirectory);
      const inode = base(firstFileId + i, FsFileType.TYPE_FILE, parent);
      return { inode, dentry: { fsId: FS_ID, inodeId: inode.inodeId, parentInodeId: parent, name: fileName(i), type: FsFileType.TYPE_FILE } };
    },
  };
}

/** A store holding one partition with `files` files (SET records applied raw, as a snapshot load does). */
export function buildStore(files: number, perDirectory = FILES_PER_DIRECTORY, label = 'building'): MetaStore {
  const store = new MetaStore();
  const end = 2 ** 40;
  store.applyRecord({
    type: 'set',
    key: partitionInfoKey(PARTITION_ID),
    value: encodePartitionInfo({ fsId: FS_ID, poolId: 1, copysetId: 1, partitionId: PARTITION_ID, start: 0, end, nextId: 3, status: PartitionStatus.READWRITE }),
  });
  const fixture = fixtureFiles(files, perDirectory);
  const setInode = (inode: Inode) => store.applyRecord({ type: 'set', key: inodeKey(PARTITION_ID, FS_ID, inode.inodeId), value: encodeInode(inode) });
  setInode({ ...fixture.directories[0]!, inodeId: 1, parent: [] });
  for (const directory of fixture.directories) setInode(directory);
  const bar = new Progress(label);
  for (let i = 0; i < files; i++) {
    const { inode, dentry } = fixture.files(i);
    setInode(inode);
    store.applyRecord({
      type: 'set',
      key: dentryKey(PARTITION_ID, FS_ID, dentry.parentInodeId, dentry.name),
      value: encodeDentryValue({ inodeId: dentry.inodeId, type: dentry.type }),
    });
    bar.tick(() => `${i.toLocaleString('en-US')} of ${files.toLocaleString('en-US')} files`);
  }
  store.skipEntry(1);
  return store;
}

const LOOKUPS_PER_STEP = 1000;
/** Alternating measurement rounds per lookup figure. */
const ROUNDS = 4;

async function run({ sizes, report, quick }: SuiteContext): Promise<void> {
  const files = sizes.files!;
  const durationMs = quick ? 300 : 2000;
  const warmupMs = quick ? 100 : 500;
  report.measured(`${files.toLocaleString('en-US')} files in directories of ${FILES_PER_DIRECTORY}, one partition, in process, no Raft; random ids; ${durationMs} ms per figure`);
  const store = buildStore(files);
  const fixture = fixtureFiles(files);
  progress('building the baseline maps');
  const inodeMap = new Map<number, Inode>();
  const dentryMaps = new Map<number, Map<string, Dentry>>();
  for (let i = 0; i < files; i++) {
    const { inode, dentry } = fixture.files(i);
    inodeMap.set(inode.inodeId, inode);
    let names = dentryMaps.get(dentry.parentInodeId);
    if (names === undefined) dentryMaps.set(dentry.parentInodeId, (names = new Map()));
    names.set(dentry.name, dentry);
  }
  const random = mulberry32(7);
  const probes = Array.from({ length: 1 << 16 }, () => Math.floor(random() * files));
  const probeFiles = probes.map((i) => fixture.files(i).dentry);
  let sink = 0;
  let cursor = 0;
  const stepOver = (visit: (probe: Dentry) => number) => () => {
    for (let k = 0; k < LOOKUPS_PER_STEP; k++) sink += visit(probeFiles[cursor++ & 0xffff]!);
    return LOOKUPS_PER_STEP;
  };
  // Rounds alternate between the baseline and the metastore and keep each one's best, so
  // that a burst of load on a shared machine does not land on one side only.
  const best = (visits: readonly ((probe: Dentry) => number)[]): number[] => {
    const rates = visits.map(() => 0);
    for (let round = 0; round < ROUNDS; round++) {
      visits.forEach((visit, i) => {
        rates[i] = Math.max(rates[i]!, measureRate({ warmupMs, durationMs: durationMs / ROUNDS, step: stepOver(visit) }).perSecond);
      });
    }
    return rates;
  };
  const executor = new MetaExecutor(store);
  const [inodeBaseline, inodeStore, inodeCall] = best([
    (d) => inodeMap.get(d.inodeId)!.mode,
    (d) => store.getInode(PARTITION_ID, d.inodeId)!.mode,
    (d) => responseOf(executor.execute('GetInode', { poolId: 1, copysetId: 1, partitionId: PARTITION_ID, fsId: FS_ID, inodeId: d.inodeId })).statusCode,
  ]) as [number, number, number];
  const baseline = { name: 'Map.get(inodeId) of inode objects', value: inodeBaseline };
  report.figure({ name: 'GetInode (metastore)', value: inodeStore, unit: 'lookups/s', baseline, target: { op: '>=', value: inodeBaseline * 0.5 } });
  report.figure({ name: 'GetInode (executor call)', value: inodeCall, unit: 'lookups/s', baseline });

  const [dentryBaseline, dentryStore, dentryCall] = best([
    (d) => dentryMaps.get(d.parentInodeId)!.get(d.name)!.inodeId,
    (d) => store.getDentry(PARTITION_ID, d.parentInodeId, d.name)!.inodeId,
    (d) =>
      responseOf(executor.execute('GetDentry', { poolId: 1, copysetId: 1, partitionId: PARTITION_ID, fsId: FS_ID, parentInodeId: d.parentInodeId, name: d.name }))
        .statusCode,
  ]) as [number, number, number];
  const dentryBase = { name: 'Map<parent, Map<name, dentry>> get', value: dentryBaseline };
  report.figure({ name: 'GetDentry (metastore)', value: dentryStore, unit: 'lookups/s', baseline: dentryBase, target: { op: '>=', value: dentryBaseline * 0.5 } });
  report.figure({ name: 'GetDentry (executor call)', value: dentryCall, unit: 'lookups/s', baseline: dentryBase });

  // ListDentry: pages of 100 after a random name, in one directory of `files` entries vs
  // one ten times smaller: O(page + log n) means about the same rate (caches aside).
  const smallEntries = Math.max(1000, Math.floor(files / 10));
  const pageRate = (entries: number, label: string) => {
    const big = buildStore(entries, entries, label);
    const listing = new MetaExecutor(big);
    const lasts = Array.from({ length: 4096 }, () => fileName(Math.floor(random() * entries)));
    let at = 0;
    return measureRate({
      warmupMs,
      durationMs,
      step: () => {
        for (let k = 0; k < 10; k++) {
          const last = lasts[at++ & 4095]!;
          const result = listing.execute('ListDentry', { poolId: 1, copysetId: 1, partitionId: PARTITION_ID, fsId: FS_ID, dirInodeId: 3, last, count: 100 });
          sink += responseOf(result).dentrys.length;
        }
        return 10;
      },
    }).perSecond;
  };
  const smallPages = pageRate(smallEntries, 'building a small directory');
  const hugePages = pageRate(files, 'building one huge directory');
  report.figure({
    name: `ListDentry page of 100 in a ${files.toLocaleString('en-US')}-entry directory`,
    value: hugePages,
    unit: 'pages/s',
    baseline: { name: `same in a ${smallEntries.toLocaleString('en-US')}-entry directory`, value: smallPages },
    target: { op: '>=', value: smallPages * 0.5 },
  });
  if (sink === 0.5) progress('unreachable');
}

const suite: Suite = {
  name: 'lookup',
  description: 'GetInode/GetDentry on a partition of 1M files vs raw Maps; ListDentry pages of 100 in a 1M-entry directory',
  flags: { files: { description: 'files in the partition', default: 1_000_000, quick: 100_000 } },
  run,
};
export default suite;
