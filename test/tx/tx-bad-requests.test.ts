/**
 * Malformed TxService calls on a real 3-server cluster: each is answered PARAM_ERROR at
 * once, leaves no intent or record anywhere, and changes nothing a client can see.
 * (Before these checks a create named "a/b", "." or 300 bytes long was made.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { txRoutesOf } from '../../src/client/tx-routes.ts';
import type { MetaServerClient } from '../../src/client/index.ts';
import { FsFileType, type TxRoute } from '../../src/proto/index.ts';
import { TxCluster } from './tx-cluster.ts';

const FS = 1;
const ROOT = 1;
let cluster: TxCluster;
let client: MetaServerClient;
let dirInCopyset2: number;
let fileInRoot: number;
let seq = 0;

beforeAll(async () => {
  cluster = await TxCluster.start({ servers: 3, copysets: 2, partitions: 4 });
  client = cluster.newMetaClient();
  dirInCopyset2 = (await cluster.mkdirIn(ROOT, 'b', 2)).inodeId;
  fileInRoot = (await cluster.createIn(ROOT, 'f', 1)).inodeId;
}, 60_000);

afterAll(async () => {
  client?.close();
  await cluster?.close();
});

/** The envelope of a call homed at the copyset of `parent`'s entries, routes as the client knows them. */
function envelope(parent: number, routes: TxRoute[] = txRoutesOf(client.partitions, FS)) {
  const home = cluster.partitionOfDentry(parent);
  return { poolId: home.poolId, copysetId: home.copysetId, fsId: FS, txId: { clientId: 4242, seq: ++seq }, routes, ackedBelow: 0 };
}

function nameRef(parent: number, name: string) {
  return { partitionId: cluster.partitionOfDentry(parent).partitionId, parentInodeId: parent, name };
}

function createCall(parent: number, name: string, overrides: object = {}) {
  return { ...envelope(parent), dst: nameRef(parent, name), inodePartitionId: cluster.partitionOfDentry(dirInCopyset2).partitionId, type: FsFileType.TYPE_FILE, mode: 0o100644, uid: 0, gid: 0, ...overrides };
}

async function statusOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Intents and records on every replica of every copyset, and the root's and b's names. */
async function visibleState(): Promise<{ pending: number; names: string[] }> {
  let pending = 0;
  for (const copysetId of [1, 2]) {
    for (const { store } of cluster.replicaStores(1, copysetId)) pending += store.tx.intentCount + store.tx.recordCount;
  }
  const fs = cluster.client();
  const names: string[] = [];
  for (const parent of [ROOT, dirInCopyset2]) for await (const dentry of fs.readdir(parent)) names.push(`${parent}/${dentry.name}`);
  return { pending, names: names.sort() };
}

describe('TxService refuses malformed calls with PARAM_ERROR and changes nothing', () => {
  it('bad names in create, rename, link and unlink, on one copyset and across two', async () => {
    const before = await visibleState();
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256)]) {
      for (const parent of [ROOT, dirInCopyset2]) {
        expect(await statusOf(client.txCreate(createCall(parent, name))), `create ${JSON.stringify(name)} in ${parent}`).toBe('PARAM_ERROR');
        expect(await statusOf(client.txRename({ ...envelope(ROOT), src: nameRef(ROOT, 'f'), dst: nameRef(parent, name) })), `rename to ${JSON.stringify(name)}`).toBe('PARAM_ERROR');
        expect(await statusOf(client.txLink({ ...envelope(parent), inodeId: fileInRoot, dst: nameRef(parent, name) })), `link as ${JSON.stringify(name)}`).toBe('PARAM_ERROR');
        expect(await statusOf(client.txUnlink({ ...envelope(parent), name: nameRef(parent, name), directory: false })), `unlink ${JSON.stringify(name)}`).toBe('PARAM_ERROR');
      }
    }
    expect(await visibleState()).toEqual(before);
  });

  it('bad fields and route tables', async () => {
    const before = await visibleState();
    const routes = txRoutesOf(client.partitions, FS);
    const badRoutes: [string, TxRoute[]][] = [
      ['no routes', []],
      ['a range ending before it starts', routes.map((r, i) => (i === 0 ? { ...r, start: r.end + 1 } : r))],
      ['overlapping ranges', routes.map((r, i) => (i === 1 ? { ...r, start: routes[0]!.end } : r))],
      ['a partition listed twice', [...routes, routes[0]!]],
    ];
    for (const [what, table] of badRoutes) {
      expect(await statusOf(client.txCreate({ ...createCall(ROOT, 'ok-name'), routes: table })), what).toBe('PARAM_ERROR');
    }
    // (An unknown file type never leaves the client: its encoder refuses the enum value.)
    expect(await statusOf(client.txCreate(createCall(ROOT, 'ok-name', { time: { sec: 1, nsec: 2_000_000_000 } }))), 'nsec out of range').toBe('PARAM_ERROR');
    expect(await visibleState()).toEqual(before);
    // The same call well formed goes through: the refusals above were about their flaws.
    expect(await statusOf(client.txCreate(createCall(ROOT, 'ok-name')))).toBe('OK');
    expect((await visibleState()).names).toEqual([...before.names, '1/ok-name'].sort());
  });
});
