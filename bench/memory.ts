/**
 * `memory`: bytes per file (an inode plus its dentry, 16-byte names) held by the
 * metastore at N files, against the same data as plain objects in Maps. Measured as
 * V8 heap used plus ArrayBuffer memory (the metastore keeps inode rows in typed
 * arrays, outside the JS heap proper), after full collections, minus the same figure
 * before building.
 */
import type { Dentry, Inode } from '../src/metastore/types.ts';
import { collectGarbage, garbageCollector, progress } from './harness.ts';
import type { Suite, SuiteContext } from './harness.ts';
import { buildStore, fixtureFiles } from './lookup.ts';

function usedBytes(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function measure(build: () => unknown): number {
  const before = usedBytes();
  const held = build();
  const after = usedBytes();
  if (held === null) progress('unreachable');
  return after - before;
}

async function run({ sizes, report }: SuiteContext): Promise<void> {
  const files = sizes.files!;
  if (garbageCollector() === null) progress('warning: no access to the garbage collector; figures include garbage');
  report.measured(`${files.toLocaleString('en-US')} files (inode + dentry, 16-byte names) in directories of 1000; heapUsed + arrayBuffers after gc`);
  const storeBytes = measure(() => buildStore(files));
  const baselineBytes = measure(() => {
    const fixture = fixtureFiles(files);
    const inodes = new Map<number, Inode>();
    const directories = new Map<number, Map<string, Dentry>>();
    for (let i = 0; i < files; i++) {
      const { inode, dentry } = fixture.files(i);
      inodes.set(inode.inodeId, inode);
      let names = directories.get(dentry.parentInodeId);
      if (names === undefined) directories.set(dentry.parentInodeId, (names = new Map()));
      names.set(dentry.name, dentry);
    }
    return [inodes, directories];
  });
  const baseline = { name: 'plain objects in Maps', value: baselineBytes / files };
  report.figure({ name: 'metastore bytes per file', value: storeBytes / files, unit: 'B/file', baseline, target: { op: '<=', value: 300 } });
  report.figure({ name: 'metastore bytes per file (goal)', value: storeBytes / files, unit: 'B/file', target: { op: '<=', value: 150 } });
}

const suite: Suite = {
  name: 'memory',
  description: 'heap bytes per file (inode + dentry, 16-byte names) at 1M files vs plain objects and Maps',
  flags: { files: { description: 'files held', default: 1_000_000, quick: 100_000 } },
  run,
};
export default suite;
