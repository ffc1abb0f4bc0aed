/**
 * Targeted races across copysets (docs/transactions.md §18, item 4). Each race builds
 * fresh directories under its own folder, runs two or three operations at once from
 * different FsClients (seeded delays decide who starts first, a seeded leadership
 * transfer sometimes runs alongside), then checks what every client saw and what the
 * namespace holds, by linearizable reads. The caller runs fsck after the iterations.
 *
 * A race throws RaceFailure with what went wrong; the caller adds the seed.
 */
import { ROOT_INODE_ID, type FsClient } from '../../src/client/index.ts';
import { Random } from '../../src/testing/random.ts';
import { sleep } from '../service/harness.ts';
import type { TxCluster } from './tx-cluster.ts';
import { NEW_INODE_COPYSET, injectFault, perform } from './concurrent-harness.ts';
import type { NsOutput } from './concurrent-model.ts';

/** Seeded start delays: enough spread for either operation to commit first. */
const MAX_START_DELAY_MS = 4;
/** A seeded leadership transfer runs beside the operations this often. */
const TRANSFER_CHANCE = Number(process.env.TX_RACE_TRANSFER ?? 0.2);
/** Directory moves walk at most this many levels in the reachability check (the tree here is shallow). */
const MAX_WALK = 32;
/** Copysets for the destination parents of the crossing moves (1 holds the anchor). */
const CROSSING_MOVE_COPYSETS = [1, 2, 3] as const;
/** Copysets for the replaced directory t (the create inside it is a TxService.Create: its 'parent' condition meets the seal). */
const REPLACED_DIRECTORY_COPYSETS = [1, 2, 3] as const;
/** The restart starts this many ms at most after the rename: before, during or after its commit point. */
const CRASH_DELAY_MAX_MS = 12;
/** The reader keeps reading this many rounds after the rename answered. */
const READS_AFTER_RENAME = 3;

export class RaceFailure extends Error {
  readonly code = 'RACE_FAILURE';
  constructor(message: string) {
    super(message);
    this.name = 'RaceFailure';
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaceFailure(message);
}

export interface RaceContext {
  readonly cluster: TxCluster;
  /** Clients whose new inodes go to copyset 1 (every namespace change crosses copysets). */
  readonly crossing: readonly FsClient[];
  /** A client with the default placement (new inodes next to their parent's entries). */
  readonly plain: FsClient;
  /** A folder under the root for this iteration. */
  readonly folder: number;
}

export type Race = (ctx: RaceContext, rnd: Random) => Promise<void>;

let folders = 0;

/** A fresh folder under the root for one iteration of one race. */
export async function raceFolder(cluster: TxCluster, race: string): Promise<number> {
  return (await cluster.mkdirIn(ROOT_INODE_ID, `${race}-${++folders}`, NEW_INODE_COPYSET)).inodeId;
}

/** Runs the operations at once, each after a seeded delay, with maybe a leadership transfer beside them. */
async function together<T extends readonly (() => Promise<unknown>)[]>(ctx: RaceContext, rnd: Random, ...ops: T): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const delays = ops.map(() => rnd.int(0, MAX_START_DELAY_MS));
  const transfer = rnd.chance(TRANSFER_CHANCE) ? { copysetId: rnd.int(1, 3), to: rnd.int(0, 2), afterMs: rnd.int(0, MAX_START_DELAY_MS) } : undefined;
  const running = ops.map(async (op, i) => {
    await sleep(delays[i]!);
    return op();
  });
  const faults = transfer === undefined ? Promise.resolve() : sleep(transfer.afterMs).then(() => injectFault(ctx.cluster, { kind: 'transfer', copysetId: transfer.copysetId, to: transfer.to }));
  const [results] = await Promise.all([Promise.all(running), faults]);
  return results as { [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

const show = (output: NsOutput): string => (output.status === 'ok' ? 'ok' : output.status === 'error' ? output.errno : `unknown (${output.detail ?? '?'})`);
const isOk = (output: NsOutput): boolean => output.status === 'ok';
const failedWith = (output: NsOutput, ...errnos: string[]): boolean => output.status === 'error' && errnos.includes(output.errno);

async function lookupId(fs: FsClient, dir: number, name: string): Promise<number | undefined> {
  const found = await perform(fs, { op: 'lookup', dir, name });
  check(found.status !== 'unknown', `lookup(${dir}/${name}) gave no answer`);
  return found.status === 'ok' ? found.id : undefined;
}

/** nlink of an inode; 0 when it is gone (reclaimed from the trash). */
async function nlinkOf(fs: FsClient, id: number): Promise<number> {
  const stat = await perform(fs, { op: 'stat', id });
  check(stat.status !== 'unknown', `stat(${id}) gave no answer`);
  return stat.status === 'ok' ? stat.nlink! : 0;
}

async function namesIn(fs: FsClient, dir: number): Promise<string[]> {
  const listed = await perform(fs, { op: 'readdir', dir });
  check(listed.status === 'ok', `readdir(${dir}) → ${show(listed)}`);
  return (listed.entries ?? []).map(([name]) => name);
}

/** Follows first parents from `id` up to the root: a directory left out of the tree (a cycle) never gets there. */
async function reachesRoot(fs: FsClient, id: number): Promise<boolean> {
  let at = id;
  for (let level = 0; level < MAX_WALK; level++) {
    if (at === ROOT_INODE_ID) return true;
    const inode = await fs.getattr(at);
    if (inode.nlink === 0) return false;
    const up = inode.parent[0];
    if (up === undefined) return false;
    at = up;
  }
  return false;
}

/**
 * `mv /a/x /b/y/x` and `mv /b/y /a/x/y` at once (§8): each alone is legal, both would
 * make x and y each other's ancestor. At most one may succeed (the other answers the
 * cycle refusal), and both directories stay reachable from the root.
 */
export const crossingDirectoryMoves: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const a = await cluster.mkdirIn(folder, 'a', 2);
  const b = await cluster.mkdirIn(folder, 'b', 3);
  const x = await cluster.mkdirIn(a.inodeId, 'x', rnd.pick(CROSSING_MOVE_COPYSETS));
  const y = await cluster.mkdirIn(b.inodeId, 'y', rnd.pick(CROSSING_MOVE_COPYSETS));
  const [fs0, fs1, reader] = ctx.crossing;
  const [first, second] = await together(
    ctx,
    rnd,
    () => perform(fs0!, { op: 'rename', srcDir: a.inodeId, srcName: 'x', dstDir: y.inodeId, dstName: 'x' }),
    () => perform(fs1!, { op: 'rename', srcDir: b.inodeId, srcName: 'y', dstDir: x.inodeId, dstName: 'y' }),
  );
  const outcome = `mv a/x b/y/x → ${show(first)}, mv b/y a/x/y → ${show(second)}`;
  check(!(isOk(first) && isOk(second)), `both crossing directory moves succeeded: ${outcome}`);
  for (const result of [first, second]) check(isOk(result) || failedWith(result, 'EWRONGTYPE', 'EBUSY'), `unexpected answer: ${outcome}`);
  check(isOk(first) || isOk(second) || failedWith(first, 'EBUSY') || failedWith(second, 'EBUSY'), `neither move succeeded without a lock timeout: ${outcome}`);
  check((await reachesRoot(reader!, x.inodeId)) && (await reachesRoot(reader!, y.inodeId)), `a moved directory left the tree: ${outcome}`);
  if (isOk(first)) {
    check((await lookupId(reader!, y.inodeId, 'x')) === x.inodeId && (await lookupId(reader!, a.inodeId, 'x')) === undefined, `x is not (only) under y: ${outcome}`);
  }
  if (isOk(second)) {
    check((await lookupId(reader!, x.inodeId, 'y')) === y.inodeId && (await lookupId(reader!, b.inodeId, 'y')) === undefined, `y is not (only) under x: ${outcome}`);
  }
};

/**
 * rename of an empty directory over another empty directory t, racing a create inside
 * t (§5 seal): never both. Either t was replaced while empty (the create answers
 * ENOENT, t has no entries and nlink 0) or the create won and the rename answered
 * ENOTEMPTY. The create is one TxService.Create, whose 'parent' condition meets the
 * seal (one entry when t's entries share copyset 1 with the new inode).
 */
export const renameOverDirectoryVersusCreate: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const src = await cluster.mkdirIn(folder, 'src', 2);
  const dst = await cluster.mkdirIn(folder, 'dst', 3);
  const moved = await cluster.mkdirIn(src.inodeId, 'd', rnd.pick([1, 3]));
  const targetCopyset: number = rnd.pick(REPLACED_DIRECTORY_COPYSETS);
  const target = await cluster.mkdirIn(dst.inodeId, 't', targetCopyset);
  const creator = targetCopyset === NEW_INODE_COPYSET ? ctx.plain : ctx.crossing[1]!;
  const [renamed, created] = await together(
    ctx,
    rnd,
    () => perform(ctx.crossing[0]!, { op: 'rename', srcDir: src.inodeId, srcName: 'd', dstDir: dst.inodeId, dstName: 't' }),
    () => perform(creator, { op: 'create', tag: 0, dir: target.inodeId, name: 'f', kind: 'file' }),
  );
  const outcome = `rename src/d over dst/t (t in copyset ${targetCopyset}) → ${show(renamed)}, create t/f → ${show(created)}`;
  check(!(isOk(renamed) && isOk(created)), `a non-empty directory was replaced: ${outcome}`);
  check(isOk(renamed) || failedWith(renamed, 'ENOTEMPTY', 'EBUSY'), `unexpected rename answer: ${outcome}`);
  check(isOk(created) || failedWith(created, 'ENOENT', 'EBUSY'), `unexpected create answer: ${outcome}`);
  const reader = ctx.crossing[2]!;
  const atT = await lookupId(reader, dst.inodeId, 't');
  const entriesOfTarget = await namesIn(reader, target.inodeId);
  if (isOk(renamed)) {
    check(atT === moved.inodeId, `dst/t is not the moved directory: ${outcome}`);
    check(entriesOfTarget.length === 0, `the replaced directory holds [${entriesOfTarget.join(', ')}]: ${outcome}`);
    check((await nlinkOf(reader, target.inodeId)) === 0, `the replaced directory is still linked: ${outcome}`);
  } else {
    check(atT === target.inodeId && (await lookupId(reader, src.inodeId, 'd')) === moved.inodeId, `a failed rename changed the names: ${outcome}`);
  }
  if (isOk(created)) {
    check(entriesOfTarget.length === 1 && entriesOfTarget[0] === 'f' && (await nlinkOf(reader, created.status === 'ok' ? created.id! : 0)) === 1, `the created file is not in t: ${outcome}`);
  }
};

/**
 * rmdir of an empty directory racing a create inside it (§5 seal on the directory, the
 * create's name lock under it): never both. The directory's entries live in another
 * copyset than its parent's, so the rmdir goes through TxService.Unlink, and the new
 * inode in copyset 1, so the create goes through TxService.Create.
 */
export const rmdirVersusCreate: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const [parentCopyset, dirCopyset] = rnd.pick([
    [2, 3],
    [3, 2],
  ] as const);
  const p = await cluster.mkdirIn(folder, 'p', parentCopyset);
  const d = await cluster.mkdirIn(p.inodeId, 'd', dirCopyset);
  const [removed, created] = await together(
    ctx,
    rnd,
    () => perform(ctx.crossing[0]!, { op: 'rmdir', dir: p.inodeId, name: 'd' }),
    () => perform(ctx.crossing[1]!, { op: 'create', tag: 0, dir: d.inodeId, name: 'f', kind: 'file' }),
  );
  const outcome = `rmdir p/d → ${show(removed)}, create d/f → ${show(created)}`;
  check(!(isOk(removed) && isOk(created)), `a non-empty directory was removed: ${outcome}`);
  check(isOk(removed) || failedWith(removed, 'ENOTEMPTY', 'EBUSY'), `unexpected rmdir answer: ${outcome}`);
  check(isOk(created) || failedWith(created, 'ENOENT', 'EBUSY'), `unexpected create answer: ${outcome}`);
  const reader = ctx.crossing[2]!;
  const entries = await namesIn(reader, d.inodeId);
  const nlink = await nlinkOf(reader, d.inodeId);
  const named = await lookupId(reader, p.inodeId, 'd');
  if (isOk(removed)) check(entries.length === 0 && nlink === 0 && named === undefined, `removed directory: entries [${entries.join(', ')}], nlink ${nlink}, name ${named ?? 'gone'}: ${outcome}`);
  else check(named === d.inodeId && nlink === 2 && entries.join(',') === (isOk(created) ? 'f' : ''), `kept directory: entries [${entries.join(', ')}], nlink ${nlink}: ${outcome}`);
};

/**
 * Two unlinks of one name (entries in copyset 2 or 3, the file in copyset 1) with
 * readers looking the name up meanwhile: exactly one unlink succeeds (the other answers
 * ENOENT), and once a client saw the name gone — by a lookup or by its own unlink's
 * ENOENT — it never sees it again.
 */
export const twoUnlinksWithReaders: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const p = await cluster.mkdirIn(folder, 'p', rnd.pick([2, 3]));
  const file = await cluster.createIn(p.inodeId, 'x', NEW_INODE_COPYSET);
  const seen: string[] = [];
  let unlinksDone = 0;
  const unlinkThenLook = async (fs: FsClient, label: string) => {
    const result = await perform(fs, { op: 'unlink', dir: p.inodeId, name: 'x' });
    unlinksDone++;
    seen.push(`${label}:unlink=${show(result)}`);
    for (let i = 0; i < READS_AFTER_RENAME; i++) {
      const id = await lookupId(fs, p.inodeId, 'x');
      seen.push(`${label}:lookup=${id ?? 'absent'}`);
      check(id === undefined, `${label} saw the name again after its unlink answered ${show(result)}: ${seen.join(' ')}`);
    }
    return result;
  };
  const reader = async (fs: FsClient, label: string) => {
    let gone = false;
    let roundsAfter = 0;
    while (roundsAfter < READS_AFTER_RENAME) {
      if (unlinksDone === 2) roundsAfter++;
      const id = await lookupId(fs, p.inodeId, 'x');
      seen.push(`${label}:lookup=${id ?? 'absent'}`);
      check(id === undefined || id === file.inodeId, `${label}: the name points at ${id}`);
      check(!(gone && id !== undefined), `${label} saw the name again after it was gone: ${seen.join(' ')}`);
      gone ||= id === undefined;
    }
  };
  const [first, second] = await together(
    ctx,
    rnd,
    () => unlinkThenLook(ctx.crossing[0]!, 'u0'),
    () => unlinkThenLook(ctx.crossing[1]!, 'u1'),
    () => reader(ctx.crossing[2]!, 'r'),
  );
  const outcome = `unlink → ${show(first)}, unlink → ${show(second)}`;
  check([first, second].filter(isOk).length === 1 || [first, second].some((r) => failedWith(r, 'EBUSY')), `not exactly one unlink succeeded: ${outcome}: ${seen.join(' ')}`);
  for (const result of [first, second]) check(isOk(result) || failedWith(result, 'ENOENT', 'EBUSY'), `unexpected answer: ${outcome}`);
  check((await nlinkOf(ctx.crossing[2]!, file.inodeId)) === 0, `the unlinked file still has links: ${outcome}`);
};

/**
 * link of a file to a second name racing unlink of its only name: the link either
 * happened first (one name left, nlink 1) or found the inode unlinked (ENOENT, nlink 0,
 * no name). Never nlink > 0 without a name, never a name on an unlinked inode.
 */
export const linkVersusUnlinkOfLastName: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const p = await cluster.mkdirIn(folder, 'p', rnd.pick([2, 3]));
  const q = await cluster.mkdirIn(folder, 'q', rnd.pick([2, 3]));
  const file = await cluster.createIn(p.inodeId, 'f', NEW_INODE_COPYSET);
  const [unlinked, linked] = await together(
    ctx,
    rnd,
    () => perform(ctx.crossing[0]!, { op: 'unlink', dir: p.inodeId, name: 'f' }),
    () => perform(ctx.crossing[1]!, { op: 'link', id: file.inodeId, dir: q.inodeId, name: 'g' }),
  );
  const outcome = `unlink p/f → ${show(unlinked)}, link f → q/g → ${show(linked)}`;
  check(isOk(unlinked) || failedWith(unlinked, 'EBUSY'), `unexpected unlink answer: ${outcome}`);
  check(isOk(linked) || failedWith(linked, 'ENOENT', 'EBUSY'), `unexpected link answer: ${outcome}`);
  const reader = ctx.crossing[2]!;
  const names = [await lookupId(reader, p.inodeId, 'f'), await lookupId(reader, q.inodeId, 'g')].filter((id) => id !== undefined);
  for (const id of names) check(id === file.inodeId, `a name points at inode ${id}, not ${file.inodeId}: ${outcome}`);
  const expectedNames = (isOk(unlinked) ? 0 : 1) + (isOk(linked) ? 1 : 0);
  check(names.length === expectedNames, `${names.length} name(s) left, expected ${expectedNames}: ${outcome}`);
  const nlink = await nlinkOf(reader, file.inodeId);
  check(nlink === names.length, `nlink ${nlink} with ${names.length} name(s): ${outcome}`);
};

/**
 * Two renames of files from different copysets to one destination name, which may
 * exist already: both succeed in some order (POSIX: the later replaces the earlier),
 * exactly one inode keeps the name, a source whose rename succeeded has no name left
 * and, when replaced, nlink 0; a source whose rename failed keeps its name.
 */
export const twoRenamesToOneName: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const p = await cluster.mkdirIn(folder, 'p', 2);
  const q = await cluster.mkdirIn(folder, 'q', 3);
  const d = await cluster.mkdirIn(folder, 'd', rnd.pick([2, 3]));
  const a = await cluster.createIn(p.inodeId, 'a', NEW_INODE_COPYSET);
  const b = await cluster.createIn(q.inodeId, 'b', NEW_INODE_COPYSET);
  const old = rnd.chance(0.5) ? await cluster.createIn(d.inodeId, 't', NEW_INODE_COPYSET) : undefined;
  const [movedA, movedB] = await together(
    ctx,
    rnd,
    () => perform(ctx.crossing[0]!, { op: 'rename', srcDir: p.inodeId, srcName: 'a', dstDir: d.inodeId, dstName: 't' }),
    () => perform(ctx.crossing[1]!, { op: 'rename', srcDir: q.inodeId, srcName: 'b', dstDir: d.inodeId, dstName: 't' }),
  );
  const outcome = `mv p/a d/t → ${show(movedA)}, mv q/b d/t → ${show(movedB)} (d/t ${old === undefined ? 'absent' : 'present'} before)`;
  for (const result of [movedA, movedB]) check(isOk(result) || failedWith(result, 'EBUSY'), `unexpected answer: ${outcome}`);
  const reader = ctx.crossing[2]!;
  check((await namesIn(reader, d.inodeId)).join(',') === 't', `d does not hold exactly one name t: ${outcome}`);
  const winner = await lookupId(reader, d.inodeId, 't');
  const candidates = [...(isOk(movedA) ? [a.inodeId] : []), ...(isOk(movedB) ? [b.inodeId] : [])];
  if (candidates.length === 0) check(winner === old?.inodeId, `d/t changed though both renames failed: ${outcome}`);
  else check(winner !== undefined && candidates.includes(winner), `d/t names ${winner}, not a renamed file: ${outcome}`);
  for (const [result, source, dir, name] of [
    [movedA, a, p, 'a'],
    [movedB, b, q, 'b'],
  ] as const) {
    const stillThere = await lookupId(reader, dir.inodeId, name);
    const nlink = await nlinkOf(reader, source.inodeId);
    if (!isOk(result)) check(stillThere === source.inodeId && nlink === 1, `a failed rename lost its source ${name}: ${outcome}`);
    else check(stillThere === undefined && nlink === (winner === source.inodeId ? 1 : 0), `source ${name}: name ${stillThere ?? 'gone'}, nlink ${nlink}: ${outcome}`);
  }
  if (old !== undefined) check((await nlinkOf(reader, old.inodeId)) === (winner === old.inodeId ? 1 : 0), `the replaced d/t has the wrong nlink: ${outcome}`);
};

/**
 * A reader looping on lookups of both names while a file moves between directories of
 * different copysets: once the move is seen (old name gone or new name present) no
 * later read may show the old name or miss the new one — so never "neither", never
 * "old after new".
 */
export const readerDuringRename: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const p = await cluster.mkdirIn(folder, 'p', rnd.pick([2, 3]));
  const q = await cluster.mkdirIn(folder, 'q', rnd.pick([2, 3]));
  const file = await cluster.createIn(p.inodeId, 'a', NEW_INODE_COPYSET);
  let renameDone = false;
  const seen: string[] = [];
  const reader = async (fs: FsClient, label: string, order: Random) => {
    let moved = false;
    let roundsAfter = 0;
    while (roundsAfter < READS_AFTER_RENAME) {
      if (renameDone) roundsAfter++;
      const names = order.chance(0.5) ? (['old', 'new'] as const) : (['new', 'old'] as const);
      for (const which of names) {
        const id = which === 'old' ? await lookupId(fs, p.inodeId, 'a') : await lookupId(fs, q.inodeId, 'b');
        check(id === undefined || id === file.inodeId, `${label}: ${which} name points at ${id}`);
        const present = id !== undefined;
        seen.push(`${label}:${which}=${present ? 'present' : 'absent'}`);
        const showsMove = which === 'old' ? !present : present;
        check(showsMove || !moved, `${label} saw the ${which} name ${present ? 'present' : 'absent'} after seeing the rename: ${seen.join(' ')}`);
        moved ||= showsMove;
      }
    }
    check(moved, `${label} never saw the rename: ${seen.join(' ')}`);
  };
  const [renamed] = await together(
    ctx,
    rnd,
    async () => {
      try {
        return await perform(ctx.crossing[0]!, { op: 'rename', srcDir: p.inodeId, srcName: 'a', dstDir: q.inodeId, dstName: 'b' });
      } finally {
        renameDone = true;
      }
    },
    () => reader(ctx.crossing[1]!, 'reader1', rnd.fork('reader1')),
    () => reader(ctx.crossing[2]!, 'reader2', rnd.fork('reader2')),
  );
  check(isOk(renamed), `the rename answered ${show(renamed)}`);
};

/**
 * A rename between directories of different copysets while the leader of one of the
 * groups involved (the home, the destination's, or the moved inode's) stops and comes
 * back: all or nothing, exactly once. An OK means both names changed and nlink stayed
 * 1; a definite error means nothing changed; no answer means either, but never half.
 */
export const renameThroughLeaderCrash: Race = async (ctx, rnd) => {
  const { cluster, folder } = ctx;
  const p = await cluster.mkdirIn(folder, 'p', 2);
  const q = await cluster.mkdirIn(folder, 'q', 3);
  const file = await cluster.createIn(p.inodeId, 'a', NEW_INODE_COPYSET);
  const victimCopyset = rnd.pick([2, 3, NEW_INODE_COPYSET]);
  const victim = cluster.servers.indexOf(await cluster.leaderOf(cluster.poolId, victimCopyset));
  const crashAfterMs = rnd.int(0, CRASH_DELAY_MAX_MS);
  const [renamed] = await Promise.all([
    perform(ctx.crossing[0]!, { op: 'rename', srcDir: p.inodeId, srcName: 'a', dstDir: q.inodeId, dstName: 'b' }),
    (async () => {
      await sleep(crashAfterMs);
      await injectFault(cluster, { kind: 'restart', server: victim });
    })(),
  ]);
  const outcome = `rename p/a → q/b with the leader of copyset ${victimCopyset} (server ${victim}) restarted after ${crashAfterMs} ms → ${show(renamed)}`;
  const reader = ctx.crossing[2]!;
  const old = await lookupId(reader, p.inodeId, 'a');
  const now = await lookupId(reader, q.inodeId, 'b');
  check((old === undefined) !== (now === undefined), `half a rename: p/a ${old ?? 'absent'}, q/b ${now ?? 'absent'}: ${outcome}`);
  check((old ?? now) === file.inodeId, `the name points at ${old ?? now}, not ${file.inodeId}: ${outcome}`);
  if (isOk(renamed)) check(now !== undefined, `answered OK but not applied: ${outcome}`);
  if (renamed.status === 'error') check(old !== undefined, `answered ${show(renamed)} but applied: ${outcome}`);
  check((await nlinkOf(reader, file.inodeId)) === 1, `nlink changed: ${outcome}`);
  const names = [...(await namesIn(reader, p.inodeId)), ...(await namesIn(reader, q.inodeId))];
  check(names.length === 1, `names [${names.join(', ')}] after one rename: ${outcome}`);
};
