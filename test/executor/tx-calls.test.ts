/**
 * The entries of operations across Raft groups (src/executor/tx-calls.ts) on one
 * copyset without Raft: prepare validates and locks, a repeated or stale prepare is
 * answered by attempt, resolve applies or drops exactly the intent its stamp names,
 * single-group calls wait on locked keys and pass unlocked ones, and the decision
 * writes the home effects and the record in one entry.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallOutcome } from '../../src/executor/call-context.ts';
import { MetaStatusCode as S } from '../../src/executor/status.ts';
import { txDecide, txForget, txPrepare, txResolve } from '../../src/executor/tx-calls.ts';
import type { TxAnswer } from '../../src/executor/tx-calls.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import { txIdKey } from '../../src/metastore/tx-records.ts';
import type { Attempt, TxCondition, TxEffect, TxId, TxPart, TxRecord } from '../../src/metastore/tx-records.ts';
import { FIRST_ALLOCATABLE_INODE_ID, FsFileType } from '../../src/metastore/types.ts';
import { FS, T0, TestCopyset, routed } from './harness.ts';

const P = 1;
const ROOT = 1;
const COORDINATOR = { poolId: 1, copysetId: 9, partitionId: 90, peers: ['127.0.0.1:1:0'] };

/** A copyset with partition 1 (ids 0..999): the root, directory DIR (root/d) and file FILE (d/f). */
function copyset(): TestCopyset {
  const c = new TestCopyset();
  c.createPartition(P, 0, 999);
  expect(c.call('CreateRootInode', { ...routed(P), fsId: FS, uid: 0, gid: 0, mode: 0o40755, create: T0 }).statusCode).toBe(S.OK);
  const dir = c.call('CreateInode', { ...routed(P), fsId: FS, length: 0, uid: 0, gid: 0, mode: 0o40755, type: FsFileType.TYPE_DIRECTORY, parent: ROOT, create: T0 });
  const file = c.call('CreateInode', { ...routed(P), fsId: FS, length: 0, uid: 0, gid: 0, mode: 0o100644, type: FsFileType.TYPE_FILE, parent: dir.inode!.inodeId, create: T0 });
  c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: dir.inode!.inodeId, parentInodeId: ROOT, name: 'd', type: FsFileType.TYPE_DIRECTORY }, create: T0 });
  c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: file.inode!.inodeId, parentInodeId: dir.inode!.inodeId, name: 'f', type: FsFileType.TYPE_FILE }, create: T0 });
  return c;
}

/** Runs one tx call the way CopysetNode.call does: a write is proposed at the next index (its stamp) and applied. */
function run(c: TestCopyset, handler: (context: Parameters<Parameters<TestCopyset['executor']['executeCall']>[0]>[0], index: number) => CallOutcome<TxAnswer>): TxAnswer | { blocked: string } {
  const index = c.log.length + 1;
  const result = c.executor.executeCall((context) => handler(context, index));
  if (result.kind === 'blocked') return { blocked: result.holder };
  if (result.kind === 'read') return result.response;
  c.log.push(result.batch);
  c.executor.onProposed(c.log.length);
  c.applyAll();
  return result.response;
}

const TX: TxId = { clientId: 77, seq: 1 };
const TIME = { sec: 1_900_000_000, nsec: 0 };

function prepare(c: TestCopyset, part: TxPart, attempt: Attempt = [1, 1], txId: TxId = TX): TxAnswer | { blocked: string } {
  return run(c, (context, index) => txPrepare(context, { txId, attempt, stamp: index, coordinator: COORDINATOR, fsId: FS, part }));
}

/** The secondary part of "link FILE as a new name elsewhere": nlink + 1, parent 500 appended. */
function linkPart(): TxPart {
  return {
    time: TIME,
    conditions: [{ c: 'inode', partitionId: P, inodeId: FILE, type: FsFileType.TYPE_FILE, linkable: true }],
    effects: [{ e: 'relink', partitionId: P, inodeId: FILE, nlinkDelta: 1, zero: false, parentRemove: null, parentAdd: 500 }],
  };
}

/** Ids the fixture gets: the first allocatable id for the directory, the next for the file. */
const DIR = FIRST_ALLOCATABLE_INODE_ID;
const FILE = FIRST_ALLOCATABLE_INODE_ID + 1;

describe('prepare', () => {
  it('records an intent whose stamp is its entry index, and locks its keys against single-group writes and reads', () => {
    const c = copyset();
    expect(c.store.getInode(P, FILE)?.nlink).toBe(1);
    const answer = prepare(c, linkPart()) as TxAnswer;
    expect(answer.statusCode).toBe(S.OK);
    expect(answer.stamp).toBe(c.log.length);
    expect(c.store.tx.intentCount).toBe(1);
    expect(c.store.tx.intent(txIdKey(TX))?.intent.stamp).toBe(answer.stamp);
    // Nothing changed yet: the effects wait for the commit.
    expect(c.store.getInode(P, FILE)?.nlink).toBe(1);
    const holder = txIdKey(TX);
    expect(c.executor.execute('GetInode', { ...routed(P), fsId: FS, inodeId: FILE })).toEqual({ kind: 'blocked', holder });
    expect(c.executor.execute('UpdateInode', { ...routed(P), fsId: FS, inodeId: FILE, nlink: 5 })).toEqual({ kind: 'blocked', holder });
    expect(c.executor.execute('DeleteInode', { ...routed(P), fsId: FS, inodeId: FILE })).toEqual({ kind: 'blocked', holder });
    // Fields a link does not touch are not locked; other keys are free.
    expect(c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: FILE, length: 4096 }).statusCode).toBe(S.OK);
    expect(c.call('GetInode', { ...routed(P), fsId: FS, inodeId: DIR }).statusCode).toBe(S.OK);
    expect(c.call('GetDentry', { ...routed(P), fsId: FS, parentInodeId: DIR, name: 'f' }).statusCode).toBe(S.OK);
  });

  it('answers a repeated prepare of the same attempt with the same stamp and writes nothing', () => {
    const c = copyset();
    const first = prepare(c, linkPart()) as TxAnswer;
    const entries = c.log.length;
    const again = prepare(c, linkPart()) as TxAnswer;
    expect(again).toMatchObject({ statusCode: S.OK, stamp: first.stamp });
    expect(c.log.length).toBe(entries);
  });

  it('does not answer PREPARED for an intent whose entry is not applied yet (a lost entry must not be bound)', () => {
    const c = copyset();
    const call = (index: number) => (context: Parameters<Parameters<TestCopyset['executor']['executeCall']>[0]>[0]) =>
      txPrepare(context, { txId: TX, attempt: [1, 1], stamp: index, coordinator: COORDINATOR, fsId: FS, part: linkPart() });
    const first = c.executor.executeCall(call(c.log.length + 1));
    expect(first.kind).toBe('write');
    if (first.kind !== 'write') return;
    c.log.push(first.batch);
    c.executor.onProposed(c.log.length);
    // Proposed, not applied: a repeated Prepare is told to come back (OVERLOAD), not given the stamp.
    const again = c.executor.executeCall(call(c.log.length + 1));
    expect(again).toMatchObject({ kind: 'read', response: { statusCode: S.OVERLOAD } });
    c.applyAll();
    const applied = c.executor.executeCall(call(c.log.length + 1));
    expect(applied).toMatchObject({ kind: 'read', response: { statusCode: S.OK, stamp: c.log.length } });
  });

  it('replaces the intent of an earlier attempt and refuses an earlier attempt after a later one', () => {
    const c = copyset();
    const early = prepare(c, linkPart(), [1, 1]) as TxAnswer;
    const late = prepare(c, linkPart(), [2, 1]) as TxAnswer;
    expect(late.statusCode).toBe(S.OK);
    expect(late.stamp).toBeGreaterThan(early.stamp!);
    expect(c.store.tx.intentCount).toBe(1);
    expect(c.store.tx.intent(txIdKey(TX))?.intent.attempt).toEqual([2, 1]);
    expect((prepare(c, linkPart(), [1, 9]) as TxAnswer).statusCode).toBe(S.TX_MISMATCH);
  });

  it('refuses (never waits) when another tx holds a conflicting lock, and lets compatible deltas share a directory', () => {
    const c = copyset();
    expect((prepare(c, linkPart()) as TxAnswer).statusCode).toBe(S.OK);
    const other: TxId = { clientId: 78, seq: 1 };
    expect((prepare(c, linkPart(), [1, 1], other) as TxAnswer).statusCode).toBe(S.TX_KEY_LOCKED);
    const touchDir = (txId: TxId) =>
      prepare(c, { time: TIME, conditions: [{ c: 'parent', partitionId: P, inodeId: DIR }], effects: [{ e: 'touchDir', partitionId: P, inodeId: DIR, nlinkDelta: 0 }] }, [1, 1], txId) as TxAnswer;
    expect(touchDir({ clientId: 79, seq: 1 }).statusCode).toBe(S.OK);
    expect(touchDir({ clientId: 80, seq: 1 }).statusCode).toBe(S.OK);
    // A seal on the directory conflicts with the deltas already held on it.
    const seal = prepare(c, { time: TIME, conditions: [{ c: 'empty', partitionId: P, inodeId: DIR }], effects: [] }, [1, 1], { clientId: 81, seq: 1 }) as TxAnswer;
    expect(seal.statusCode).toBe(S.TX_KEY_LOCKED);
  });

  it('a directory move\'s lock-only prepare waits for the dirmove lock; a part with other keys is still refused', () => {
    const c = copyset();
    const lockOnly: TxPart = { time: TIME, conditions: [{ c: 'dirmove', fsId: FS }], effects: [] };
    expect((prepare(c, lockOnly) as TxAnswer).statusCode).toBe(S.OK);
    const second: TxId = { clientId: 78, seq: 1 };
    // Blocked on the holder (the copyset wakes it when the holder's intent goes), nothing written.
    const entries = c.log.length;
    expect(prepare(c, lockOnly, [1, 1], second)).toEqual({ blocked: txIdKey(TX) });
    expect(c.log.length).toBe(entries);
    // An anchor that also holds keys of the move prepares after the lock is taken: no waiting there.
    const withKeys: TxPart = { ...linkPart(), conditions: [{ c: 'dirmove', fsId: FS }, ...linkPart().conditions] };
    expect((prepare(c, withKeys, [1, 1], { clientId: 79, seq: 1 }) as TxAnswer).statusCode).toBe(S.TX_KEY_LOCKED);
    // The holder's own later attempt is not blocked by its own lock.
    expect((prepare(c, lockOnly, [1, 2]) as TxAnswer).statusCode).toBe(S.OK);
    // Once the holder is gone the waiter's prepare goes through.
    expect((run(c, (context) => txResolve(context, { txId: TX, commit: false, stamp: undefined, attempt: [1, 2] })) as TxAnswer).statusCode).toBe(S.OK);
    expect((prepare(c, lockOnly, [1, 1], second) as TxAnswer).statusCode).toBe(S.OK);
  });

  it('refuses a part whose conditions do not hold: TX_MISMATCH, or TARGET_DIRECTORY_EXIST for a non-empty directory', () => {
    const c = copyset();
    const wrongName: TxCondition = { c: 'dentry', partitionId: P, parent: DIR, name: 'f', inodeId: 999 };
    expect((prepare(c, { time: TIME, conditions: [wrongName], effects: [] }) as TxAnswer).statusCode).toBe(S.TX_MISMATCH);
    const notEmpty: TxCondition = { c: 'empty', partitionId: P, inodeId: DIR };
    expect((prepare(c, { time: TIME, conditions: [notEmpty], effects: [] }) as TxAnswer).statusCode).toBe(S.TARGET_DIRECTORY_EXIST);
    const directoryLink: TxCondition = { c: 'inode', partitionId: P, inodeId: DIR, type: null, linkable: true };
    expect((prepare(c, { time: TIME, conditions: [directoryLink], effects: [] }) as TxAnswer).statusCode).toBe(S.TX_MISMATCH);
    expect((prepare(c, { time: TIME, conditions: [{ c: 'inode', partitionId: 2, inodeId: 5, type: null, linkable: false }], effects: [] }) as TxAnswer).statusCode).toBe(
      S.PARTITION_NOT_FOUND,
    );
    expect(c.store.tx.intentCount).toBe(0);
  });

  it('refuses malformed parts from the wire with PARAM_ERROR and writes nothing', () => {
    const c = copyset();
    const entries = c.log.length;
    const bad: TxEffect[] = [
      { e: 'touchDir', partitionId: P, inodeId: DIR, nlinkDelta: 7 },
      { e: 'putDentry', partitionId: P, parent: DIR, name: 'a/b', inodeId: FILE, type: FsFileType.TYPE_FILE, flag: 0 },
      { e: 'newInode', partitionId: P, inode: c.store.getInode(P, FILE)! },
    ];
    for (const effect of bad) expect((prepare(c, { time: TIME, conditions: [], effects: [effect] }) as TxAnswer).statusCode).toBe(S.PARAM_ERROR);
    expect((prepare(c, { time: { sec: -1, nsec: 0 }, conditions: [], effects: [] }) as TxAnswer).statusCode).toBe(S.PARAM_ERROR);
    expect(c.log.length).toBe(entries);
  });

  it('allocates a created inode in the prepare entry, keeps it invisible until commit, and creates it on commit', () => {
    const c = copyset();
    const part: TxPart = {
      time: TIME,
      conditions: [],
      effects: [{ e: 'allocInode', partitionId: P, spec: { type: FsFileType.TYPE_FILE, mode: 0o100600, uid: 1, gid: 2, length: 0, parent: 500 } }],
    };
    const prepared = prepare(c, part) as TxAnswer;
    expect(prepared.statusCode).toBe(S.OK);
    const id = prepared.inode!.inodeId;
    expect(c.store.getInode(P, id)).toBeUndefined();
    expect(c.store.partitionInfoRaw(P)?.nextId).toBe(id + 1);
    expect(run(c, (context) => txResolve(context, { txId: TX, commit: true, stamp: prepared.stamp }))).toMatchObject({ statusCode: S.OK });
    expect(c.store.getInode(P, id)).toMatchObject({ inodeId: id, nlink: 1, parent: [500], uid: 1, ctime: TIME.sec });
  });
});

describe('resolve', () => {
  it('commit applies the effects of exactly the stamp the record binds, once', () => {
    const c = copyset();
    const { stamp } = prepare(c, linkPart()) as TxAnswer;
    // An orphan's stamp: nothing applied, the intent stays.
    expect(run(c, (context) => txResolve(context, { txId: TX, commit: true, stamp: stamp! + 100 }))).toMatchObject({ statusCode: S.OK });
    expect(c.store.tx.intentCount).toBe(1);
    expect(c.store.getInode(P, FILE)?.nlink).toBe(1);
    expect(run(c, (context) => txResolve(context, { txId: TX, commit: true, stamp }))).toMatchObject({ statusCode: S.OK });
    expect(c.store.tx.intentCount).toBe(0);
    expect(c.store.getInode(P, FILE)).toMatchObject({ nlink: 2, parent: [DIR, 500], ctime: TIME.sec });
    // A duplicate Resolve finds no intent: DONE, nothing applied twice.
    const entries = c.log.length;
    expect(run(c, (context) => txResolve(context, { txId: TX, commit: true, stamp }))).toMatchObject({ statusCode: S.OK });
    expect(c.log.length).toBe(entries);
    expect(c.store.getInode(P, FILE)?.nlink).toBe(2);
    expect(c.call('GetInode', { ...routed(P), fsId: FS, inodeId: FILE }).statusCode).toBe(S.OK);
  });

  it('abort by attempt drops intents of that attempt or earlier, never a later one; abort by stamp drops only that stamp', () => {
    const c = copyset();
    prepare(c, linkPart(), [3, 1]);
    run(c, (context) => txResolve(context, { txId: TX, commit: false, attempt: [2, 9] }));
    expect(c.store.tx.intentCount).toBe(1);
    run(c, (context) => txResolve(context, { txId: TX, commit: false, stamp: 1 }));
    expect(c.store.tx.intentCount).toBe(1);
    run(c, (context) => txResolve(context, { txId: TX, commit: false, attempt: [3, 1] }));
    expect(c.store.tx.intentCount).toBe(0);
    expect(c.store.getInode(P, FILE)?.nlink).toBe(1);
  });

  it('applies parent deltas to the value current at resolution: a create that ran meanwhile is kept', () => {
    const c = copyset();
    const part: TxPart = {
      time: TIME,
      conditions: [{ c: 'parent', partitionId: P, inodeId: DIR }],
      effects: [
        { e: 'putDentry', partitionId: P, parent: DIR, name: 'sub', inodeId: 600, type: FsFileType.TYPE_DIRECTORY, flag: 0 },
        { e: 'touchDir', partitionId: P, inodeId: DIR, nlinkDelta: 1 },
      ],
    };
    const { stamp } = prepare(c, part) as TxAnswer;
    // A single-group mkdir in the same directory: its parent update is a delta too, and goes ahead.
    const other = c.call('CreateInode', { ...routed(P), fsId: FS, length: 0, uid: 0, gid: 0, mode: 0o40755, type: FsFileType.TYPE_DIRECTORY, parent: DIR, create: T0 });
    expect(c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: other.inode!.inodeId, parentInodeId: DIR, name: 'x', type: FsFileType.TYPE_DIRECTORY }, create: T0 }).statusCode).toBe(
      S.OK,
    );
    // ... but the locked name itself waits.
    expect(c.executor.execute('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: 7, parentInodeId: DIR, name: 'sub', type: FsFileType.TYPE_FILE } }).kind).toBe('blocked');
    expect(c.executor.execute('ListDentry', { ...routed(P), fsId: FS, dirInodeId: DIR }).kind).toBe('blocked');
    run(c, (context) => txResolve(context, { txId: TX, commit: true, stamp }));
    expect(c.store.getInode(P, DIR)?.nlink).toBe(4); // 2 + x + sub
    expect(c.call('ListDentry', { ...routed(P), fsId: FS, dirInodeId: DIR }).dentrys.map((d) => d.name)).toEqual(['f', 'sub', 'x']);
  });
});

describe('single-group calls around a removed directory', () => {
  it('CreateDentry and Rename under a directory with nlink 0 (removed, in the trash) answer NOT_FOUND and change nothing', () => {
    const c = copyset();
    expect(c.call('UpdateInode', { ...routed(P), fsId: FS, inodeId: DIR, nlink: 0 }).statusCode).toBe(S.OK);
    const entries = c.log.length;
    expect(c.call('CreateDentry', { ...routed(P), dentry: { fsId: FS, inodeId: FILE, parentInodeId: DIR, name: 'late', type: FsFileType.TYPE_FILE }, create: T0 }).statusCode).toBe(
      S.NOT_FOUND,
    );
    const rename = { poolId: 1, copysetId: 1, fsId: FS, srcPartitionId: P, srcParentInodeId: ROOT, srcName: 'd', dstPartitionId: P, dstParentInodeId: DIR, dstName: 'x', create: T0 };
    expect(c.call('Rename', rename).statusCode).toBe(S.NOT_FOUND);
    expect(c.log.length).toBe(entries);
  });
});

describe('decide and forget', () => {
  const record = (participants: TxRecord['participants'] = []): TxRecord => ({
    v: 1,
    txId: TX,
    attempt: [1, 1],
    kind: 'unlink',
    decidedAtMs: 1,
    digest: 'd',
    participants,
    reply: { statusCode: S.OK },
  });
  const unlinkHome: TxPart = {
    time: TIME,
    conditions: [{ c: 'dentry', partitionId: P, parent: DIR, name: 'f', inodeId: FILE }],
    effects: [
      { e: 'delDentry', partitionId: P, parent: DIR, name: 'f' },
      { e: 'touchDir', partitionId: P, inodeId: DIR, nlinkDelta: 0 },
    ],
  };

  it('writes the home effects and the record in one entry; a second decision answers from the record', () => {
    const c = copyset();
    const entries = c.log.length;
    const decided = run(c, (context) => txDecide(context, { txId: TX, attempt: [1, 1], fsId: FS, homePartitionId: P, part: unlinkHome, record: record() })) as TxAnswer;
    expect(decided.statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries + 1);
    expect(c.store.getDentry(P, DIR, 'f')).toBeUndefined();
    expect(c.store.tx.record(txIdKey(TX))?.record.kind).toBe('unlink');
    const again = run(c, (context) => txDecide(context, { txId: TX, attempt: [1, 1], fsId: FS, homePartitionId: P, part: unlinkHome, record: record() })) as TxAnswer;
    expect(again.statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries + 1);
    run(c, (context) => txForget(context, [TX]));
    expect(c.store.tx.recordCount).toBe(0);
  });

  it('a create decided at home allocates the inode and names it in the same entry', () => {
    const c = copyset();
    const part: TxPart = {
      time: TIME,
      conditions: [
        { c: 'dentry', partitionId: P, parent: DIR, name: 'new', inodeId: null },
        { c: 'parent', partitionId: P, inodeId: DIR },
      ],
      effects: [
        { e: 'allocInode', partitionId: P, spec: { type: FsFileType.TYPE_FILE, mode: 0o100600, uid: 1, gid: 2, length: 0, parent: DIR } },
        { e: 'putDentry', partitionId: P, parent: DIR, name: 'new', inodeId: 0, type: FsFileType.TYPE_FILE, flag: 1 },
        { e: 'touchDir', partitionId: P, inodeId: DIR, nlinkDelta: 0 },
      ],
    };
    const entries = c.log.length;
    const decided = run(c, (context) => txDecide(context, { txId: TX, attempt: [1, 1], fsId: FS, homePartitionId: P, part, record: { ...record(), kind: 'create' } })) as TxAnswer;
    expect(decided.statusCode).toBe(S.OK);
    expect(c.log.length).toBe(entries + 1);
    const id = decided.inode!.inodeId;
    expect(c.store.getInode(P, id)).toMatchObject({ inodeId: id, nlink: 1, parent: [DIR], uid: 1 });
    expect(c.store.getDentry(P, DIR, 'new')?.inodeId).toBe(id);
    expect(c.store.tx.record(txIdKey(TX))?.record.reply.inode?.inodeId).toBe(id);
  });

  it('refuses a decision whose home keys changed since planning (TX_MISMATCH) or are locked by another tx (TX_KEY_LOCKED)', () => {
    const c = copyset();
    const stale: TxPart = { ...unlinkHome, conditions: [{ c: 'dentry', partitionId: P, parent: DIR, name: 'f', inodeId: 4242 }] };
    expect((run(c, (context) => txDecide(context, { txId: TX, attempt: [1, 1], fsId: FS, homePartitionId: P, part: stale, record: record() })) as TxAnswer).statusCode).toBe(
      S.TX_MISMATCH,
    );
    const other: TxId = { clientId: 5, seq: 5 };
    prepare(c, { time: TIME, conditions: [{ c: 'dentry', partitionId: P, parent: DIR, name: 'f', inodeId: FILE }], effects: [] }, [1, 1], other);
    expect((run(c, (context) => txDecide(context, { txId: TX, attempt: [1, 1], fsId: FS, homePartitionId: P, part: unlinkHome, record: record() })) as TxAnswer).statusCode).toBe(
      S.TX_KEY_LOCKED,
    );
    expect(c.store.getDentry(P, DIR, 'f')).toBeDefined();
    expect(c.store.tx.recordCount).toBe(0);
  });

  it('a partition holding a record is not empty: DeletePartition marks it DELETING instead of dropping it', () => {
    const c = new TestCopyset();
    c.createPartition(3, 3000, 3999);
    run(c, (context) => txDecide(context, { txId: TX, attempt: [1, 1], fsId: FS, homePartitionId: 3, part: { time: TIME, conditions: [], effects: [] }, record: record() }));
    expect(c.call('DeletePartition', { ...routed(3), partitionId: 3 }).statusCode).toBe(S.PARTITION_DELETING);
  });
});

describe('the lock index', () => {
  it('derived by applying entries equals the one rebuilt from a snapshot of the pairs, after any sequence of prepares and resolves', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tx: fc.integer({ min: 1, max: 4 }),
            op: fc.constantFrom('link', 'touch', 'seal', 'commit', 'abort'),
            attempt: fc.integer({ min: 1, max: 3 }),
          }),
          { maxLength: 30 },
        ),
        async (steps) => {
          const c = copyset();
          const stamps = new Map<number, number>();
          for (const step of steps) {
            const txId: TxId = { clientId: step.tx, seq: 1 };
            const attempt: Attempt = [step.attempt, 1];
            if (step.op === 'commit' || step.op === 'abort') {
              run(c, (context) => txResolve(context, { txId, commit: step.op === 'commit', stamp: stamps.get(step.tx), attempt }));
              continue;
            }
            const part: TxPart =
              step.op === 'link'
                ? linkPart()
                : step.op === 'touch'
                  ? { time: TIME, conditions: [{ c: 'parent', partitionId: P, inodeId: DIR }], effects: [{ e: 'touchDir', partitionId: P, inodeId: DIR, nlinkDelta: 0 }] }
                  : { time: TIME, conditions: [{ c: 'empty', partitionId: P, inodeId: ROOT + 1000 }], effects: [] };
            const answer = prepare(c, part, attempt, txId) as TxAnswer;
            if (answer.statusCode === S.OK && answer.stamp !== undefined) stamps.set(step.tx, answer.stamp);
          }
          const rebuilt = await MetaStore.fromPairs(c.store.appliedIndex, c.store.pairs());
          const locksOf = (store: MetaStore) =>
            [...store.tx.intents()].map((stored) => `${txIdKey(stored.intent.txId)}:${stored.locks.join(',')}@${stored.intent.stamp}`).sort();
          expect(locksOf(rebuilt)).toEqual(locksOf(c.store));
          for (const lock of [`l:1:${FILE}`, `d:1:${DIR}`, 's:1:1001']) {
            expect([...(rebuilt.tx.holdersOf(lock) ?? [])].sort()).toEqual([...(c.store.tx.holdersOf(lock) ?? [])].sort());
          }
          expect(rebuilt.stateHash()).toBe(c.store.stateHash());
        },
      ),
      { numRuns: 60 },
    );
  });
});
