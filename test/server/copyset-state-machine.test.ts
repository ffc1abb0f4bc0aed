/**
 * The copyset state machine: records apply, no-ops and configuration entries only move
 * the applied index, snapshots hold exactly the state at their index while applies
 * continue, and a restore replaces the whole state (a bad file changes nothing).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MetaExecutor } from '../../src/executor/executor.ts';
import type { MetaMethod, RequestOf } from '../../src/executor/requests.ts';
import { MetaStore } from '../../src/metastore/metastore.ts';
import { encodeConfigChange } from '../../src/raft/config-codec.ts';
import type { Entry } from '../../src/raft/types.ts';
import { CopysetStateMachine } from '../../src/server/copyset-state-machine.ts';

const CONFIG = { voters: [1], learners: [], epoch: 0 };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metaraft-sm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A leader-side machine that turns requests into entries at increasing indexes. */
function newMachine() {
  const store = new MetaStore();
  const executor = new MetaExecutor(store, { clock: () => ({ sec: 1_700_000_000, nsec: 0 }) });
  const machine = new CopysetStateMachine(store, executor);
  let index = 0;
  const entry = (data: Uint8Array, type: Entry['type'] = 'normal'): Entry => ({ term: 1, index: ++index, type, data });
  const run = <M extends MetaMethod>(method: M, request: RequestOf<M>): Entry => {
    const result = executor.execute(method, request);
    if (result.kind !== 'write') throw new Error(`${method} answered ${JSON.stringify(result.kind === 'read' ? result.response : result.holder)}`);
    const next = entry(result.batch);
    executor.onProposed(next.index);
    return next;
  };
  return { store, executor, machine, entry, run };
}

const PARTITION = { fsId: 1, poolId: 1, copysetId: 1, partitionId: 1, start: 0, end: 999, status: 1 as const };
const inodeRequest = (length: number) => ({ poolId: 1, copysetId: 1, partitionId: 1, fsId: 1, length, uid: 0, gid: 0, mode: 0o644, type: 2 as const, parent: 1 });

test('no-op and configuration entries advance the applied index without changing state', () => {
  const { store, machine, entry, run } = newMachine();
  machine.apply([entry(new Uint8Array(0)), run('CreatePartition', { partition: PARTITION })]);
  const hash = store.stateHash();
  machine.apply([entry(encodeConfigChange({ type: 'add-learner', node: 2 }), 'config'), entry(new Uint8Array(0))]);
  expect(machine.appliedIndex()).toBe(4);
  expect(store.stateHash()).toBe(hash);
  expect(store.partitionIds()).toEqual([1]);
});

test('a snapshot holds exactly the state at its index although applies continue; restore replaces everything', async () => {
  const a = newMachine();
  a.machine.apply([a.entry(new Uint8Array(0)), a.run('CreatePartition', { partition: PARTITION })]);
  a.machine.apply([a.run('CreateInode', inodeRequest(1))]);
  const atSnapshot = a.store.stateHash();
  const index = a.machine.appliedIndex();
  const path = join(dir, 'snap-a');
  const writing = a.machine.takeSnapshot({ path, index, term: 1, config: CONFIG });
  // Applies continue while the file is written: none of them may reach it.
  a.machine.apply([a.run('CreateInode', inodeRequest(2)), a.run('CreateInode', inodeRequest(3))]);
  await writing;
  expect(a.store.stateHash()).not.toBe(atSnapshot);

  const b = newMachine();
  b.machine.apply([b.entry(new Uint8Array(0)), b.run('CreatePartition', { partition: { ...PARTITION, partitionId: 9 } })]);
  await b.machine.restoreSnapshot({ path, index, term: 1, config: CONFIG });
  expect(b.machine.appliedIndex()).toBe(index);
  expect(b.store.stateHash()).toBe(atSnapshot);
  expect(b.store.partitionIds()).toEqual([1]); // partition 9 did not survive

  await expect(a.machine.takeSnapshot({ path: join(dir, 'wrong'), index: index - 1, term: 1, config: CONFIG })).rejects.toThrow(/snapshot asked at/);
});

test('a corrupt snapshot file is refused and the state stays as it was', async () => {
  const a = newMachine();
  a.machine.apply([a.entry(new Uint8Array(0)), a.run('CreatePartition', { partition: PARTITION })]);
  const hash = a.store.stateHash();
  const path = join(dir, 'corrupt');
  await writeFile(path, 'METARAFT-but-not-really');
  await expect(a.machine.restoreSnapshot({ path, index: 10, term: 1, config: CONFIG })).rejects.toThrow();
  expect(a.store.stateHash()).toBe(hash);
  expect(a.machine.appliedIndex()).toBe(2);
});

test('whenApplied resolves once the index is applied', async () => {
  const { machine, entry } = newMachine();
  let done = false;
  const waiting = machine.whenApplied(2).then(() => (done = true));
  machine.apply([entry(new Uint8Array(0))]);
  await Promise.resolve();
  expect(done).toBe(false);
  machine.apply([entry(new Uint8Array(0))]);
  await waiting;
  expect(done).toBe(true);
});
