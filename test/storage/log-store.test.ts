import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/raft/errors.ts';
import type { Entry, HardState } from '../../src/raft/types.ts';
import { crc32c } from '../../src/storage/checksum.ts';
import { FaultyLogBackend } from '../../src/storage/faulty-level.ts';
import { encodeEntry, entryKey, groupKey, LOG_KEY_KIND, storeHeaderKey } from '../../src/storage/log-records.ts';
import { type GroupLog, type SnapshotMark, LogStore, LogStoreError, openLevelBackend, restoreMemoryLogStorage } from '../../src/storage/log-store.ts';

let root = '';
let dirCounter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'metaraft-logstore-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
const freshDir = (): string => join(root, `db-${dirCounter++}`);

function entry(index: number, term: number, data = `e${index}t${term}`): Entry {
  return { index, term, type: index % 7 === 0 ? 'config' : 'normal', data: Buffer.from(data) };
}
function range(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, k) => entry(from + k, term));
}
const config = { voters: [1, 2, 3], learners: [4], epoch: 2 };
function plainLog(log: GroupLog): unknown {
  return {
    hardState: log.hardState,
    logStart: log.logStart,
    snapshot: log.snapshot,
    lastIndex: log.lastIndex,
    entries: log.entries.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString()]),
  };
}

async function openFaulty(dir: string): Promise<{ store: LogStore; backend: FaultyLogBackend }> {
  const backend = new FaultyLogBackend(await openLevelBackend(dir));
  return { store: await LogStore.openBackend(backend, dir), backend };
}

async function openError(dir: string): Promise<LogStoreError> {
  try {
    const store = await LogStore.open(dir);
    await store.close();
  } catch (error) {
    expect(error).toBeInstanceOf(LogStoreError);
    return error as LogStoreError;
  }
  throw new Error(`store at ${dir} opened without complaint`);
}

describe('log store', () => {
  it('persists many groups in one synced batch and loads them back', async () => {
    const dir = freshDir();
    const store = await LogStore.open(dir);
    const hs: HardState = { term: 3, vote: 2, commit: 4 };
    await store.batch().append(1, range(1, 5, 3)).setHardState(1, hs).append(2, range(1, 2, 1)).commit({ sync: true });
    await store.close();
    const reopened = await LogStore.open(dir);
    expect(reopened.listGroups()).toEqual([1, 2]);
    const one = await reopened.load(1);
    expect(one.hardState).toEqual(hs);
    expect(one.firstIndex).toBe(1);
    expect(one.lastIndex).toBe(5);
    expect(one.entries.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString()])).toEqual(range(1, 5, 3).map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString()]));
    expect((await reopened.load(2)).entries.length).toBe(2);
    // A second load reads from disk instead of the retained copy: same answer.
    expect(plainLog(await reopened.load(1))).toEqual(plainLog(one));
    expect((await reopened.load(99)).entries).toEqual([]);
    await reopened.close();
  });

  it('deletes the overwritten suffix in the same batch as the append (§5.3)', async () => {
    const dir = freshDir();
    const store = await LogStore.open(dir);
    await store.batch().append(1, range(1, 10, 1)).commit({ sync: true });
    await store.batch().append(1, range(5, 7, 2)).commit({ sync: true });
    expect(store.groupState(1).lastIndex).toBe(7);
    await store.close();
    const reopened = await LogStore.open(dir);
    const log = await reopened.load(1);
    expect(log.entries.map((e) => [e.index, e.term])).toEqual([...range(1, 4, 1), ...range(5, 7, 2)].map((e) => [e.index, e.term]));
    await reopened.close();
  });

  it('truncates, records snapshots, compacts, installs snapshots and removes groups', async () => {
    const dir = freshDir();
    const store = await LogStore.open(dir);
    await store.batch().append(1, range(1, 20, 1)).setHardState(1, { term: 1, vote: 1, commit: 12 }).commit({ sync: true });
    await store.batch().truncateSuffix(1, 16).recordSnapshot(1, { index: 10, term: 1, config }).commit({ sync: true });
    await store.compact(1, 8, 1);
    await store.batch().append(2, range(1, 3, 1)).installSnapshot(2, { index: 50, term: 4, config }).commit({ sync: true });
    await store.batch().append(3, range(1, 3, 1)).setHardState(3, { term: 1, vote: 0, commit: 0 }).commit({ sync: true });
    await store.batch().removeGroup(3).commit({ sync: true });
    await store.close();

    const reopened = await LogStore.open(dir);
    expect(reopened.listGroups()).toEqual([1, 2]);
    const one = await reopened.load(1);
    expect(one.logStart).toEqual({ index: 8, term: 1 });
    expect(one.firstIndex).toBe(9);
    expect(one.entries.map((e) => e.index)).toEqual([9, 10, 11, 12, 13, 14, 15]);
    expect(one.snapshot).toEqual({ index: 10, term: 1, config });
    const mirror = restoreMemoryLogStorage(one);
    expect(mirror.firstIndex()).toBe(9); // the mirror keeps what the store keeps
    expect(mirror.snapshot().metadata.index).toBe(10);
    expect(mirror.lastIndex()).toBe(15);
    expect(mirror.term(10)).toBe(1);
    expect(mirror.snapshot().metadata.config).toEqual(config);
    expect(mirror.initialState().hardState.commit).toBe(12);
    const two = await reopened.load(2);
    expect(two.entries).toEqual([]);
    expect(two.lastIndex).toBe(50);
    expect(restoreMemoryLogStorage(two).term(50)).toBe(4);
    await reopened.close();
  });

  it('refuses misuse as a bug', async () => {
    const store = await LogStore.open(freshDir());
    await store.batch().append(1, range(1, 5, 1)).setHardState(1, { term: 1, vote: 1, commit: 3 }).commit({ sync: false });
    expect(() => store.batch().append(1, range(7, 8, 1))).toThrow(InvariantError); // hole
    expect(() => store.batch().append(1, [entry(6, 1), entry(8, 1)])).toThrow(InvariantError);
    expect(() => store.batch().truncateSuffix(1, 3)).toThrow(InvariantError); // committed
    expect(() => store.batch().compactPrefix(1, 2, 1)).toThrow(InvariantError); // no snapshot covers it
    const a = store.batch().append(1, [entry(6, 1)]);
    const b = store.batch().append(1, [entry(6, 2)]);
    await a.commit({ sync: true });
    expect(() => b.commit({ sync: true })).toThrow(InvariantError); // built on stale state
    await store.close();
    expect(() => store.batch()).toThrow(LogStoreError);
  });

  it('names the group and index of a hole, a corrupt value, a commit beyond the log', async () => {
    const base = async () => {
      const dir = freshDir();
      const { store, backend } = await openFaulty(dir);
      await store.batch().append(7, range(1, 6, 2)).append(8, range(1, 2, 1)).setHardState(8, { term: 1, vote: 0, commit: 2 }).commit({ sync: true });
      await store.close();
      return { dir, backend: new FaultyLogBackend(await openLevelBackend(dir)) };
    };
    {
      const { dir, backend } = await base();
      await backend.deleteKey(entryKey(7, 4));
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId, error.index]).toEqual(['LOG_GAP', 7, 4]);
      expect(error.message).toContain('group 7 index 4');
    }
    {
      const { dir, backend } = await base();
      await backend.corruptValue(entryKey(7, 3), (v) => {
        v[v.length - 6]! ^= 0x10;
      });
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId, error.index]).toEqual(['LOG_CORRUPT', 7, 3]);
    }
    {
      // A value moved under another key fails its checksum (the key is covered too).
      const { dir, backend } = await base();
      const [value] = await backend.get([entryKey(7, 2)]);
      await backend.putRaw(entryKey(7, 3), value!);
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId, error.index]).toEqual(['LOG_CORRUPT', 7, 3]);
    }
    {
      const { dir, backend } = await base();
      await backend.deleteKey(entryKey(8, 2));
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId, error.index]).toEqual(['LOG_INCONSISTENT', 8, 2]);
    }
    {
      const { dir, backend } = await base();
      const key = entryKey(7, 5);
      await backend.putRaw(key, encodeEntry(key, entry(5, 1)));
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId, error.index]).toEqual(['LOG_INCONSISTENT', 7, 5]);
      expect(error.message).toMatch(/term 1 is below the previous term 2/);
    }
    {
      const { dir, backend } = await base();
      await backend.putRaw(groupKey(LOG_KEY_KIND.hardState, 9), new Uint8Array([1, 2, 3]));
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId]).toEqual(['LOG_CORRUPT', 9]);
    }
  });

  it('names the group and index of an entry whose checksum holds but whose fields are impossible', async () => {
    // Re-seal after the edit, so only the field checks (not the checksum) can catch it.
    const reseal = (key: Uint8Array, value: Uint8Array, edit: (v: Buffer) => void): Uint8Array => {
      const out = Buffer.from(value);
      edit(out);
      out.writeUInt32LE(crc32c(out.subarray(0, out.length - 4), crc32c(key)), out.length - 4);
      return out;
    };
    const cases: Array<[string, (v: Buffer) => void, RegExp]> = [
      ['data length', (v) => v.writeUInt32LE(v.readUInt32LE(10) + 1, 10), /data length/],
      ['term beyond 2^53', (v) => v.writeUInt32LE(0x0020_0000, 6), /term exceeds 2\^53-1/],
      ['entry type', (v) => (v[1] = 9), /unknown entry type 9/],
    ];
    for (const [, edit, message] of cases) {
      const dir = freshDir();
      const store = await LogStore.open(dir);
      await store.batch().append(5, range(1, 4, 1)).commit({ sync: true });
      await store.close();
      const backend = await openLevelBackend(dir);
      const key = entryKey(5, 3);
      const [value] = await backend.get([key]);
      await backend.write([{ type: 'put', key, value: reseal(key, value!, edit) }], { sync: true });
      await backend.close();
      const error = await openError(dir);
      expect([error.code, error.groupId, error.index]).toEqual(['LOG_CORRUPT', 5, 3]);
      expect(error.message).toMatch(message);
    }
  });

  it('refuses a foreign database and an unknown layout version', async () => {
    const foreign = freshDir();
    const raw = await openLevelBackend(foreign);
    await raw.write([{ type: 'put', key: Buffer.from('hello'), value: Buffer.from('world') }], { sync: true });
    await raw.close();
    expect((await openError(foreign)).code).toBe('LOG_STORE_FORMAT');

    const newer = freshDir();
    await (await LogStore.open(newer)).close();
    const backend = new FaultyLogBackend(await openLevelBackend(newer));
    await backend.corruptValue(storeHeaderKey(), (v) => {
      v[8] = 2; // the version byte; the checksum then fails too, either way it is refused
    });
    await backend.close();
    expect((await openError(newer)).code).toBe('LOG_STORE_FORMAT');
  });

  it('loses unsynced batches on a crash and keeps synced ones', async () => {
    const dir = freshDir();
    const { store, backend } = await openFaulty(dir);
    await store.batch().append(1, range(1, 3, 1)).commit({ sync: true });
    await store.batch().append(1, range(4, 6, 1)).append(2, range(1, 2, 1)).commit({ sync: false });
    await store.batch().append(1, range(2, 2, 2)).commit({ sync: false }); // overwrite 2..6 by 2
    await backend.crash();
    const reopened = await LogStore.open(dir);
    expect((await reopened.load(1)).entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(reopened.listGroups()).toEqual([1]);
    await reopened.close();
  });

  for (const inFlight of ['lost', 'applied'] as const) {
    it(`keeps a group consistent when an overwrite is in flight at a crash (${inFlight})`, async () => {
      const dir = freshDir();
      const { store, backend } = await openFaulty(dir);
      await store.batch().append(1, range(1, 8, 1)).commit({ sync: true });
      backend.holdWrites();
      const pending = store
        .batch()
        .truncateSuffix(1, 3)
        .append(1, range(3, 4, 2))
        .commit({ sync: true })
        .then(
          () => 'acknowledged',
          (error: unknown) => error,
        );
      await new Promise((resolve) => setImmediate(resolve));
      expect(backend.heldWrites).toBe(1);
      await backend.crash({ inFlight });
      expect(await pending).toBeInstanceOf(LogStoreError); // never acknowledged
      const reopened = await LogStore.open(dir);
      const log = await reopened.load(1);
      const expected = inFlight === 'lost' ? range(1, 8, 1) : [...range(1, 2, 1), ...range(3, 4, 2)];
      expect(log.entries.map((e) => [e.index, e.term])).toEqual(expected.map((e) => [e.index, e.term]));
      await reopened.close();
    });
  }
});

// ---- property: random histories with crashes equal a model of what was synced -------------

interface ModelGroup {
  entries: Map<number, { term: number; data: string }>;
  last: number;
  hardState: HardState;
  logStart: { index: number; term: number };
  snapshot: SnapshotMark | null;
}
type Model = Map<number, ModelGroup>;

const cloneModel = (model: Model): Model =>
  new Map([...model].map(([g, m]) => [g, { ...m, entries: new Map(m.entries), logStart: { ...m.logStart } }]));
const emptyGroup = (): ModelGroup => ({ entries: new Map(), last: 0, hardState: { term: 0, vote: 0, commit: 0 }, logStart: { index: 0, term: 0 }, snapshot: null });
const termAt = (m: ModelGroup, index: number): number => (index === m.logStart.index ? m.logStart.term : m.entries.get(index)!.term);

const opArb = fc.record({
  kind: fc.constantFrom('append', 'append', 'append', 'hard', 'truncate', 'snapshot', 'compact', 'install', 'remove', 'commit', 'commit', 'crash'),
  group: fc.integer({ min: 1, max: 3 }),
  a: fc.nat(1000),
  b: fc.nat(1000),
  sync: fc.boolean(),
});

describe('log store property', () => {
  it('after crashes, the reopened store equals the model of synced batches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
        const dir = freshDir();
        let { store, backend } = await openFaulty(dir);
        let durable: Model = new Map();
        let current: Model = new Map();
        let pending: Model = new Map();
        let batch = store.batch();
        const group = (g: number): ModelGroup => {
          if (!pending.has(g)) pending.set(g, emptyGroup());
          return pending.get(g)!;
        };
        for (const op of ops) {
          const m = group(op.group);
          const g = op.group;
          switch (op.kind) {
            case 'append': {
              const from = m.logStart.index + 1 + (op.a % (m.last - m.logStart.index + 1));
              if (from <= m.hardState.commit) break; // Raft never rewrites committed entries
              const baseTerm = from - 1 === m.logStart.index ? m.logStart.term : m.entries.get(from - 1)!.term;
              const term = Math.max(baseTerm + (op.b % 2), 1);
              const added = range(from, from + (op.b % 4), term);
              batch.append(g, added);
              for (let i = from; i <= m.last; i++) m.entries.delete(i);
              for (const e of added) m.entries.set(e.index, { term: e.term, data: Buffer.from(e.data).toString() });
              m.last = added[added.length - 1]!.index;
              break;
            }
            case 'hard': {
              const commit = Math.max(m.hardState.commit, Math.min(m.last, m.hardState.commit + (op.a % 5)));
              m.hardState = { term: m.hardState.term + (op.b % 2), vote: op.b % 4, commit };
              batch.setHardState(g, m.hardState);
              break;
            }
            case 'truncate': {
              const from = Math.max(m.hardState.commit, m.logStart.index, m.snapshot?.index ?? 0) + 1 + (op.a % 3);
              batch.truncateSuffix(g, from);
              for (let i = from; i <= m.last; i++) m.entries.delete(i);
              m.last = Math.min(m.last, from - 1);
              break;
            }
            case 'snapshot': {
              const low = Math.max(m.logStart.index, m.snapshot?.index ?? 0);
              if (m.last < low) break;
              const index = low + (op.a % (m.last - low + 1));
              m.snapshot = { index, term: termAt(m, index), config: { voters: [1, 2, 3], learners: [], epoch: op.b } };
              batch.recordSnapshot(g, m.snapshot);
              break;
            }
            case 'compact': {
              if (m.snapshot === null || m.snapshot.index <= m.logStart.index) break;
              const through = m.logStart.index + 1 + (op.a % (m.snapshot.index - m.logStart.index));
              const term = termAt(m, through);
              batch.compactPrefix(g, through, term);
              for (let i = m.logStart.index + 1; i <= through; i++) m.entries.delete(i);
              m.logStart = { index: through, term };
              break;
            }
            case 'install': {
              const index = Math.max(m.hardState.commit, m.logStart.index, m.snapshot?.index ?? 0) + (op.a % 6);
              const lastTerm = m.last === m.logStart.index ? m.logStart.term : m.entries.get(m.last)!.term;
              const mark = { index, term: lastTerm + 1, config: { voters: [1], learners: [2], epoch: 1 } };
              batch.installSnapshot(g, mark);
              m.entries.clear();
              m.logStart = { index, term: mark.term };
              m.snapshot = mark;
              m.last = index;
              break;
            }
            case 'remove':
              batch.removeGroup(g);
              pending.set(g, emptyGroup());
              pending.delete(g);
              break;
            case 'commit':
              await batch.commit({ sync: op.sync });
              current = cloneModel(pending);
              if (op.sync) durable = cloneModel(current);
              batch = store.batch();
              break;
            case 'crash':
              await backend.crash();
              current = cloneModel(durable);
              pending = cloneModel(durable);
              ({ store, backend } = await openFaulty(dir));
              await expectStoreEquals(store, durable);
              batch = store.batch();
              break;
          }
        }
        await backend.crash();
        const reopened = await LogStore.open(dir);
        await expectStoreEquals(reopened, durable);
        await reopened.close();
        await rm(dir, { recursive: true, force: true });
      }),
      { numRuns: 30 },
    );
  });
});

async function expectStoreEquals(store: LogStore, model: Model): Promise<void> {
  const modelGroups = [...model].filter(([, m]) => !isEmptyGroup(m)).map(([g]) => g).sort((a, b) => a - b);
  const storeGroups = [];
  for (const g of store.listGroups()) if (!isEmptyLog(await store.load(g))) storeGroups.push(g);
  expect(storeGroups).toEqual(modelGroups);
  for (const g of modelGroups) {
    const m = model.get(g)!;
    const log = await store.load(g);
    expect(log.lastIndex).toBe(m.last);
    expect(log.hardState).toEqual(m.hardState);
    expect(log.logStart).toEqual(m.logStart);
    expect(log.snapshot).toEqual(m.snapshot);
    expect(log.entries.map((e) => [e.index, e.term, Buffer.from(e.data).toString()])).toEqual(
      [...m.entries].sort(([a], [b]) => a - b).map(([index, e]) => [index, e.term, e.data]),
    );
  }
}

function isEmptyGroup(m: ModelGroup): boolean {
  return m.last === 0 && m.snapshot === null && m.hardState.term === 0 && m.hardState.vote === 0 && m.hardState.commit === 0;
}
function isEmptyLog(log: GroupLog): boolean {
  return log.lastIndex === 0 && log.snapshot === null && log.hardState.term === 0 && log.hardState.vote === 0 && log.hardState.commit === 0;
}
