/**
 * The operations the crash-at-every-step tests run across copysets, each with its key
 * placement, its roles (home copyset, the secondary whose leader is a victim) and what
 * the namespace looks like before and after it (docs/transactions.md §7's POSIX table):
 * names, nlink and parent lists, read through a healthy client. An operation that is
 * all-or-nothing shows exactly one of the two pictures.
 */
import { FsClient, MetaClientError, ROOT_INODE_ID, systemTime } from '../../src/client/index.ts';
import { FsTxCalls } from '../../src/client/fs-tx.ts';
import { TxIdSource } from '../../src/client/tx-ids.ts';
import { FsFileType, type TxIdWire } from '../../src/proto/index.ts';
import type { TxCluster } from './tx-cluster.ts';

/** `rmdir-nonempty`: an rmdir the secondary refuses at prepare (TARGET_DIRECTORY_EXIST): the answer must be a refusal. */
export type OpKind = 'rename' | 'rename-over' | 'dir-move' | 'create' | 'link' | 'unlink' | 'rmdir' | 'rmdir-nonempty';

/** An inode as the checks see it: in the trash (nlink 0 or reclaimed) or live with its counts. */
export type InodeView = 'trash' | { readonly nlink: number; readonly parents: readonly number[] };
/** A name: the inode it names, or absent. */
export type NameView = number | 'absent';
/** The picture of the keys an operation touches (JSON-comparable). */
export type Picture = Record<string, NameView | InodeView | string>;

export interface PreparedOp {
  readonly kind: OpKind;
  /** Copyset of the home group (the coordinator is its leader). */
  readonly home: number;
  /** Copyset whose leader is the "secondary" victim (the destination parent's, or the inode's when the parent is home). */
  readonly secondary: number;
  /** Every copyset holding a key of the operation (the anchor included for a directory move). */
  readonly involved: readonly number[];
  /** The call under test, through the given client. */
  run(fs: FsClient): Promise<unknown>;
  /** The same operation's TxService call again, as the client library resends it (same txId when `tx` replays one). */
  resend(tx: FsTxCalls, deadlineMs: number): Promise<unknown>;
  /** The current picture, read with a healthy client. */
  observe(fs: FsClient): Promise<Picture>;
  readonly before: Picture;
  readonly after: Picture;
  /** The operation cannot succeed: an answer, if any, is a refusal. */
  readonly refused?: boolean;
}

const FILE = { mode: 0o644, uid: 0, gid: 0 } as const;

/** The inode a name points to, or 'absent'. */
export async function nameOf(fs: FsClient, parent: number, name: string): Promise<NameView> {
  try {
    return (await fs.calls.getDentry(parent, name, { deadlineMs: fs.calls.client.deadline() })).inodeId;
  } catch (error) {
    if (error instanceof MetaClientError && error.code === 'NOT_FOUND') return 'absent';
    throw error;
  }
}

/** An inode's nlink and sorted parent list, or 'trash' (nlink 0, or already reclaimed). */
export async function inodeOf(fs: FsClient, inodeId: number): Promise<InodeView> {
  try {
    const inode = await fs.getattr(inodeId);
    if (inode.nlink === 0) return 'trash';
    return { nlink: inode.nlink, parents: [...inode.parent].sort((a, b) => a - b) };
  } catch (error) {
    if (error instanceof MetaClientError && error.code === 'NOT_FOUND') return 'trash';
    throw error;
  }
}

const live = (nlink: number, ...parents: number[]): InodeView => ({ nlink, parents: [...parents].sort((a, b) => a - b) });

/** Sets up one operation of `kind` with fresh directories named after `tag`. */
export async function prepareOp(cluster: TxCluster, kind: OpKind, tag: string): Promise<PreparedOp> {
  switch (kind) {
    case 'rename':
      return prepareRename(cluster, tag, { src: 2, dst: 3, moved: 4 });
    case 'rename-over':
      return prepareRename(cluster, tag, { src: 1, dst: 2, moved: 3, replaced: 4 });
    case 'dir-move':
      return prepareRename(cluster, tag, { src: 2, dst: 3, moved: 4, directory: true });
    case 'create':
      return prepareCreate(cluster, tag);
    case 'link':
      return prepareLink(cluster, tag);
    case 'unlink':
      return prepareUnlink(cluster, tag, false);
    case 'rmdir':
      return prepareUnlink(cluster, tag, true);
    case 'rmdir-nonempty':
      return prepareUnlink(cluster, tag, true, true);
  }
}

interface RenameLayout {
  readonly src: number;
  readonly dst: number;
  readonly moved: number;
  readonly replaced?: number;
  readonly directory?: boolean;
}

/** `X/a → Y/b` with X, Y, the moved node (and the replaced one) in the given copysets. */
async function prepareRename(cluster: TxCluster, tag: string, layout: RenameLayout): Promise<PreparedOp> {
  const directory = layout.directory === true;
  const type = directory ? FsFileType.TYPE_DIRECTORY : FsFileType.TYPE_FILE;
  const x = (await cluster.mkdirIn(ROOT_INODE_ID, `${tag}-x`, layout.src)).inodeId;
  const y = (await cluster.mkdirIn(ROOT_INODE_ID, `${tag}-y`, layout.dst)).inodeId;
  const i = (await cluster.makeNodeIn(x, 'a', type, layout.moved)).inodeId;
  const r = layout.replaced === undefined ? undefined : (await cluster.makeNodeIn(y, 'b', type, layout.replaced)).inodeId;
  const nodeView = (parent: number): InodeView => (directory ? live(2, parent) : live(1, parent));
  const dirView = (subdirectories: number): InodeView => live(2 + subdirectories, ROOT_INODE_ID);
  const before: Picture = {
    'X/a': i,
    'Y/b': r ?? 'absent',
    i: nodeView(x),
    X: dirView(directory ? 1 : 0),
    Y: dirView(directory && r !== undefined ? 1 : 0),
    ...(r === undefined ? {} : { r: nodeView(y) }),
  };
  const after: Picture = {
    'X/a': 'absent',
    'Y/b': i,
    i: nodeView(y),
    X: dirView(0),
    Y: dirView(directory ? 1 : 0),
    ...(r === undefined ? {} : { r: 'trash' }),
  };
  const anchor = cluster.copysetOfInode(ROOT_INODE_ID);
  const involved = new Set([layout.src, layout.dst, layout.moved, ...(layout.replaced === undefined ? [] : [layout.replaced]), ...(directory ? [anchor] : [])]);
  return {
    kind: layout.replaced !== undefined ? 'rename-over' : directory ? 'dir-move' : 'rename',
    home: layout.src,
    secondary: layout.dst,
    involved: [...involved],
    run: (fs) => fs.rename(x, 'a', y, 'b'),
    resend: (tx, deadlineMs) => tx.rename(x, 'a', y, 'b', systemTime(), { deadlineMs }),
    observe: async (fs) => ({
      'X/a': await nameOf(fs, x, 'a'),
      'Y/b': await nameOf(fs, y, 'b'),
      i: await inodeOf(fs, i),
      X: await inodeOf(fs, x),
      Y: await inodeOf(fs, y),
      ...(r === undefined ? {} : { r: await inodeOf(fs, r) }),
    }),
    before,
    after,
  };
}

/** Create `Y/f` (Y in copyset 2) with the new inode in copyset 3: one TxService.Create. */
async function prepareCreate(cluster: TxCluster, tag: string): Promise<PreparedOp> {
  const y = (await cluster.mkdirIn(ROOT_INODE_ID, `${tag}-y`, 2)).inodeId;
  const inodePartition = cluster.partitionsOfCopyset(3)[0]!;
  const create = (tx: FsTxCalls, deadlineMs: number): Promise<unknown> => tx.create(inodePartition, 'f', { type: FsFileType.TYPE_FILE, parent: y, ...FILE }, systemTime(), { deadlineMs });
  const observe = async (fs: FsClient): Promise<Picture> => {
    const named = await nameOf(fs, y, 'f');
    return {
      'Y/f': named === 'absent' ? 'absent' : `inode in copyset ${cluster.copysetOfInode(named)}`,
      f: named === 'absent' ? 'none' : await inodeOf(fs, named),
      Y: await inodeOf(fs, y),
    };
  };
  return {
    kind: 'create',
    home: 2,
    secondary: 3,
    involved: [2, 3],
    // FsClient picks the new inode's partition at random; the call it makes across copysets is this one.
    run: (fs) => create(new FsTxCalls(fs.calls, new TxIdSource()), fs.calls.client.deadline()),
    resend: create,
    observe,
    before: { 'Y/f': 'absent', f: 'none', Y: live(2, ROOT_INODE_ID) },
    after: { 'Y/f': 'inode in copyset 3', f: live(1, y), Y: live(2, ROOT_INODE_ID) },
  };
}

/** Link inode i (copyset 3, named X/a with X in copyset 3) as Y/b (Y in copyset 2). */
async function prepareLink(cluster: TxCluster, tag: string): Promise<PreparedOp> {
  const x = (await cluster.mkdirIn(ROOT_INODE_ID, `${tag}-x`, 3)).inodeId;
  const y = (await cluster.mkdirIn(ROOT_INODE_ID, `${tag}-y`, 2)).inodeId;
  const i = (await cluster.createIn(x, 'a', 3)).inodeId;
  return {
    kind: 'link',
    home: 2,
    secondary: 3,
    involved: [2, 3],
    run: (fs) => fs.link(i, y, 'b'),
    resend: (tx, deadlineMs) => tx.link(i, y, 'b', systemTime(), { deadlineMs }),
    observe: async (fs) => ({ 'X/a': await nameOf(fs, x, 'a'), 'Y/b': await nameOf(fs, y, 'b'), i: await inodeOf(fs, i), Y: await inodeOf(fs, y) }),
    before: { 'X/a': i, 'Y/b': 'absent', i: live(1, x), Y: live(2, ROOT_INODE_ID) },
    after: { 'X/a': i, 'Y/b': i, i: live(2, x, y), Y: live(2, ROOT_INODE_ID) },
  };
}

/**
 * unlink `Y/b` (Y in copyset 2, the file in copyset 3), or rmdir of a directory placed the
 * same way: empty, or holding one file (its entries live in copyset 3, which refuses).
 */
async function prepareUnlink(cluster: TxCluster, tag: string, directory: boolean, nonEmpty = false): Promise<PreparedOp> {
  const y = (await cluster.mkdirIn(ROOT_INODE_ID, `${tag}-y`, 2)).inodeId;
  const i = (await cluster.makeNodeIn(y, 'b', directory ? FsFileType.TYPE_DIRECTORY : FsFileType.TYPE_FILE, 3)).inodeId;
  if (nonEmpty) await cluster.createIn(i, 'keep', 3);
  return {
    kind: nonEmpty ? 'rmdir-nonempty' : directory ? 'rmdir' : 'unlink',
    ...(nonEmpty ? { refused: true } : {}),
    home: 2,
    secondary: 3,
    involved: [2, 3],
    run: (fs) => (directory ? fs.rmdir(y, 'b') : fs.unlink(y, 'b')),
    resend: (tx, deadlineMs) => tx.unlink(y, 'b', directory, systemTime(), { deadlineMs }),
    observe: async (fs) => ({ 'Y/b': await nameOf(fs, y, 'b'), i: await inodeOf(fs, i), Y: await inodeOf(fs, y) }),
    before: { 'Y/b': i, i: directory ? live(2, y) : live(1, y), Y: live(directory ? 3 : 2, ROOT_INODE_ID) },
    after: { 'Y/b': 'absent', i: 'trash', Y: live(2, ROOT_INODE_ID) },
  };
}

/**
 * Names every call with one given txId: a resend of an operation whose answer was lost,
 * as MetaServerClient resends the same request on a retry (docs/transactions.md §12).
 */
export class ReplayedTxId extends TxIdSource {
  constructor(private readonly txId: TxIdWire) {
    super();
  }

  override next(): TxIdWire {
    return this.txId;
  }

  /** Acknowledges nothing: the replayed seq is still outstanding. */
  override ackedBelow(): number {
    return 0;
  }

  override answered(): void {}
}

