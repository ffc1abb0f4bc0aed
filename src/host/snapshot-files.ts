/**
 * Where a host keeps its groups' snapshot files, and how a file travels: the core's
 * Snapshot.data holds only the file's name (a small descriptor); a sender reads the
 * file's bytes to stream them, and a receiver stores them under its own name before
 * the core sees the snapshot.
 *
 * Layout: `<snapshotDir>/<groupId>/snapshot-<index>-<term>.snap`. The name follows from
 * the snapshot mark in the log store, so a restart finds the file without a catalog.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { GroupId, Index, Term } from '../raft/types.ts';

const SNAPSHOT_FILE_PATTERN = /^snapshot-(\d+)-(\d+)\.snap$/;

export class SnapshotFiles {
  constructor(private readonly root: string) {}

  groupDir(group: GroupId): string {
    return join(this.root, String(group));
  }

  fileName(index: Index, term: Term): string {
    return `snapshot-${index}-${term}.snap`;
  }

  path(group: GroupId, index: Index, term: Term): string {
    return join(this.groupDir(group), this.fileName(index, term));
  }

  /** The descriptor the core carries in Snapshot.data. */
  descriptor(index: Index, term: Term): Uint8Array {
    return Buffer.from(this.fileName(index, term), 'utf8');
  }

  async ensureGroupDir(group: GroupId): Promise<void> {
    await mkdir(this.groupDir(group), { recursive: true });
  }

  /** The bytes of a published snapshot file, to stream to a follower. */
  read(group: GroupId, index: Index, term: Term): Promise<Buffer> {
    return readFile(this.path(group, index, term));
  }

  /** Stores a received snapshot durably (temp name, fsync, rename, folder fsync); returns its path. */
  async store(group: GroupId, index: Index, term: Term, bytes: Uint8Array): Promise<string> {
    await this.ensureGroupDir(group);
    const path = this.path(group, index, term);
    const tmp = `${path}.recv`;
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    const dir = await open(this.groupDir(group), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return path;
  }

  /** Deletes the group's snapshot files other than `keep` (older snapshots, refused transfers). */
  async removeAllBut(group: GroupId, keep: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.groupDir(group));
    } catch {
      return;
    }
    for (const name of names) {
      if (!SNAPSHOT_FILE_PATTERN.test(name) || keep.has(name)) continue;
      await unlink(join(this.groupDir(group), name)).catch(() => undefined);
    }
  }
}
