/**
 * The client side of the TxService operations: which calls FsClient makes for a file
 * system in one copyset and for one spread over several (renameProtocol 'metaraft':
 * create, link, unlink and rmdir are one TxService call each; 'curvefs': CurveFS's
 * sequences), the txIds and ackedBelow it sends, the same request (same txId) resent
 * after REDIRECTED, and a new txId for each placement candidate after
 * PARTITION_ALLOC_ID_FAIL. A scripted transport answers every
 * call; a fake clock makes backoffs instant.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  FsClient,
  FsError,
  MetaClientError,
  MetaServerClient,
  TxIdSource,
  txRoutesOf,
  type NodeAttributes,
  type PartitionRoute,
  type PeerTransport,
} from '../../src/client/index.ts';
import { FsFileType, MetaStatusCode, PartitionStatus, type Inode, type PartitionInfo, type Time } from '../../src/proto/index.ts';
import { FakeClock } from './scripted-transport.ts';

const FS = 4;
const ROOT = 1;
const T: Time = { sec: 1_700_000_000, nsec: 5 };
const ATTRS: NodeAttributes = { mode: 0o644, uid: 3, gid: 4 };
const TX = 'metaraft.tx.TxService';
const META = 'curvefs.metaserver.MetaServerService';
const MR = 'metaraft.meta.MetaraftService';

/** Copyset c has peers 10.0.0.c:1:0 and 10.0.0.c:2:0. */
const peersOf = (copysetId: number) => [`10.0.0.${copysetId}:1:0`, `10.0.0.${copysetId}:2:0`];

function row(partitionId: number, copysetId: number, start: number, end: number): PartitionRoute {
  const partition: PartitionInfo = { fsId: FS, poolId: 1, copysetId, partitionId, start, end, status: PartitionStatus.READWRITE, fileType2inodeNum: new Map() };
  return { partition, peers: peersOf(copysetId) };
}

interface Sent {
  readonly address: string;
  readonly service: string;
  readonly method: string;
  readonly request: any;
}

type Answer = Record<string, unknown> | Promise<Record<string, unknown>>;

/** Answers every call through `answer`; GetLeader names no leader unless `leader` is set. */
class TxScript implements PeerTransport {
  readonly sent: Sent[] = [];
  leader: string | undefined;
  answer: (call: Sent) => Answer = () => ({ statusCode: MetaStatusCode.OK });

  async unary(address: string, service: string, method: string, request: unknown): Promise<any> {
    if (method === 'GetLeader') return { leader: { address: this.leader ?? '' } };
    const call = { address, service, method, request };
    this.sent.push(call);
    return this.answer(call);
  }
  close(): void {}

  /** `Service.Method@copyset` of every call (GetLeader left out). */
  trace(): string[] {
    return this.sent.map((call) => `${call.service.split('.').pop()}.${call.method}@${call.request.copysetId ?? call.request.dentry?.copysetId}`);
  }
  of(service: string, method: string): any[] {
    return this.sent.filter((call) => call.service === service && call.method === method).map((call) => call.request);
  }
}

function inode(inodeId: number, type: FsFileType = FsFileType.TYPE_FILE, extra: Partial<Inode> = {}): Inode {
  return { inodeId, fsId: FS, length: 0, ctime: 0, ctime_ns: 0, mtime: 0, mtime_ns: 0, atime: 0, atime_ns: 0, uid: 3, gid: 4, mode: 0o100644, nlink: 1, type, xattr: new Map(), parent: [ROOT], ...extra };
}

let transport: TxScript;
let txIds: TxIdSource;

function clientOf(rows: PartitionRoute[], random: () => number = () => 0): { client: MetaServerClient; fs: FsClient } {
  const client = new MetaServerClient({ partitions: rows, transport, clock: new FakeClock(), random, retry: { initialBackoffMs: 5, maxBackoffMs: 20, operationTimeoutMs: 10_000 } });
  return { client, fs: new FsClient({ client, fsId: FS, now: () => T, txIds }) };
}

/** One copyset: partitions 10 [0, 99] and 11 [100, 199]. */
const SINGLE = () => [row(10, 1, 0, 99), row(11, 1, 100, 199)];
/** Two copysets: partition 10 [0, 99] in copyset 1, 20 [100, 199] in copyset 2. */
const SPANNING = () => [row(10, 1, 0, 99), row(20, 2, 100, 199)];

beforeEach(() => {
  transport = new TxScript();
  txIds = new TxIdSource(() => 0.25);
});

describe('TxIdSource', () => {
  it('clientId: a 53-bit safe integer drawn from the injected source; seqs from 1; ackedBelow = lowest unanswered, else the next', () => {
    expect(new TxIdSource(() => 0.25).clientId).toBe(new TxIdSource(() => 0.25).clientId);
    expect(new TxIdSource(() => 0.5).clientId).not.toBe(new TxIdSource(() => 0.25).clientId);
    const top = new TxIdSource(() => 1 - Number.EPSILON);
    expect(Number.isSafeInteger(top.clientId)).toBe(true);
    expect(top.clientId).toBeGreaterThan(2 ** 52);
    expect(new TxIdSource(() => 0).clientId).toBe(0);
    expect(() => new TxIdSource(() => 1)).toThrow(RangeError);

    const source = new TxIdSource(() => 0.75);
    expect(source.ackedBelow()).toBe(1);
    const first = source.next();
    const second = source.next();
    const third = source.next();
    expect([first, second, third]).toEqual([1, 2, 3].map((seq) => ({ clientId: source.clientId, seq })));
    expect(source.ackedBelow()).toBe(1);
    source.answered(2);
    expect(source.ackedBelow()).toBe(1);
    source.answered(1);
    expect(source.ackedBelow()).toBe(3);
    source.answered(3);
    expect(source.ackedBelow()).toBe(4);
  });

  it('txRoutesOf: every partition of the file system with its copyset\'s peers', () => {
    const { client } = clientOf([...SPANNING(), { ...row(90, 9, 0, 5), partition: { ...row(90, 9, 0, 5).partition, fsId: FS + 1 } }]);
    expect(txRoutesOf(client.partitions, FS)).toEqual([
      { poolId: 1, copysetId: 1, partitionId: 10, start: 0, end: 99, peers: peersOf(1) },
      { poolId: 1, copysetId: 2, partitionId: 20, start: 100, end: 199, peers: peersOf(2) },
    ]);
  });
});

describe('a file system in ONE copyset', () => {
  /** Answers as a server holding inode 150 ('f', 'g') and an empty directory 'dir'. */
  const oneCopysetAnswers = (call: Sent): Answer => {
    switch (call.method) {
      case 'CreateInode':
      case 'Create':
        return { statusCode: MetaStatusCode.OK, inode: inode(150) };
      case 'GetInode':
        return { statusCode: MetaStatusCode.OK, inode: inode(150) };
      case 'GetDentry':
        return { statusCode: MetaStatusCode.OK, dentry: { fsId: FS, inodeId: 150, parentInodeId: ROOT, name: call.request.name, type: call.request.name === 'dir' ? FsFileType.TYPE_DIRECTORY : FsFileType.TYPE_FILE } };
      case 'ListDentry':
        return { statusCode: MetaStatusCode.OK, dentrys: [] };
      default:
        return { statusCode: MetaStatusCode.OK };
    }
  };

  it('\'metaraft\': create by one TxService.Create, rename by MetaraftService.Rename; link, unlink and rmdir each by one TxService call after their check', async () => {
    const { fs, client } = clientOf(SINGLE());
    transport.answer = oneCopysetAnswers;
    expect(await fs.create(ROOT, 'f', ATTRS)).toMatchObject({ inodeId: 150 });
    await fs.link(150, ROOT, 'g');
    await fs.unlink(ROOT, 'g');
    await fs.rmdir(ROOT, 'dir');
    await fs.rename(ROOT, 'f', 120, 'h');
    expect(transport.trace()).toEqual([
      'TxService.Create@1',
      'MetaServerService.GetInode@1',
      'TxService.Link@1',
      'MetaServerService.GetDentry@1',
      'TxService.Unlink@1',
      'MetaServerService.GetDentry@1',
      'TxService.Unlink@1',
      'MetaraftService.Rename@1',
    ]);
    const routes = txRoutesOf(client.partitions, FS);
    // The new inode in the parent's own partition: one copyset, so one entry at the server.
    expect(transport.of(TX, 'Create')).toEqual([
      {
        poolId: 1, copysetId: 1, fsId: FS, txId: { clientId: txIds.clientId, seq: 1 }, dst: { partitionId: 10, parentInodeId: ROOT, name: 'f' },
        inodePartitionId: 10, type: FsFileType.TYPE_FILE, mode: 0o100644, uid: 3, gid: 4, routes, time: T, ackedBelow: 1,
      },
    ]);
    expect(transport.of(TX, 'Link')).toEqual([
      { poolId: 1, copysetId: 1, fsId: FS, txId: { clientId: txIds.clientId, seq: 2 }, inodeId: 150, dst: { partitionId: 10, parentInodeId: ROOT, name: 'g' }, routes, time: T, ackedBelow: 2 },
    ]);
    expect(transport.of(TX, 'Unlink')).toEqual([
      { poolId: 1, copysetId: 1, fsId: FS, txId: { clientId: txIds.clientId, seq: 3 }, name: { partitionId: 10, parentInodeId: ROOT, name: 'g' }, directory: false, routes, time: T, ackedBelow: 3 },
      { poolId: 1, copysetId: 1, fsId: FS, txId: { clientId: txIds.clientId, seq: 4 }, name: { partitionId: 10, parentInodeId: ROOT, name: 'dir' }, directory: true, routes, time: T, ackedBelow: 4 },
    ]);
    expect(transport.of(META, 'CreateInode')).toEqual([]);
    expect(transport.of(META, 'CreateDentry')).toEqual([]);
    expect(transport.of(TX, 'Rename')).toEqual([]);
    expect(transport.of(MR, 'Rename')[0]).toMatchObject({ srcPartitionId: 10, dstPartitionId: 11, srcName: 'f', dstName: 'h' });
  });

  it('\'curvefs\': CurveFS\'s sequences, never TxService', async () => {
    const { client } = clientOf(SINGLE());
    const fs = new FsClient({ client, fsId: FS, now: () => T, renameProtocol: 'curvefs' });
    transport.answer = oneCopysetAnswers;
    await fs.create(ROOT, 'f', ATTRS);
    await fs.link(150, ROOT, 'g');
    await fs.unlink(ROOT, 'g');
    await fs.rmdir(ROOT, 'dir');
    expect(transport.trace()).toEqual([
      'MetaServerService.CreateInode@1',
      'MetaServerService.CreateDentry@1',
      'MetaServerService.GetInode@1',
      'MetaServerService.UpdateInode@1',
      'MetaServerService.CreateDentry@1',
      'MetaServerService.GetDentry@1',
      'MetaServerService.DeleteDentry@1',
      'MetaServerService.GetInode@1',
      'MetaServerService.UpdateInode@1',
      'MetaServerService.GetDentry@1',
      'MetaServerService.ListDentry@1',
      'MetaServerService.DeleteDentry@1',
      'MetaServerService.GetInode@1',
      'MetaServerService.UpdateInode@1',
    ]);
    expect(transport.of(META, 'UpdateInode')[0]).toMatchObject({ inodeId: 150, nlink: 2, parent: [ROOT, ROOT] });
  });
});

describe('a file system over several copysets', () => {
  it('rename: one TxService.Rename to the source parent\'s copyset, with both names, every route, the time and ackedBelow', async () => {
    const { fs } = clientOf(SPANNING());
    await fs.rename(150, 'a', ROOT, 'b');
    expect(transport.trace()).toEqual(['TxService.Rename@2']);
    expect(transport.of(TX, 'Rename')).toEqual([
      {
        poolId: 1, copysetId: 2, fsId: FS, txId: { clientId: txIds.clientId, seq: 1 },
        src: { partitionId: 20, parentInodeId: 150, name: 'a' }, dst: { partitionId: 10, parentInodeId: ROOT, name: 'b' },
        routes: txRoutesOf(fs.calls.partitions, FS), time: T, ackedBelow: 1,
      },
    ]);
  });

  it('a REDIRECTED answer: the same request, same txId, is sent to the leader; ackedBelow then advances past it', async () => {
    const { fs } = clientOf(SPANNING());
    const [follower, leader] = peersOf(1);
    transport.leader = leader;
    transport.answer = (call) => ({ statusCode: call.address === follower ? MetaStatusCode.REDIRECTED : MetaStatusCode.OK });
    await fs.rename(ROOT, 'a', 150, 'b');
    const sent = transport.sent.filter((call) => call.service === TX);
    expect(sent.map((call) => call.address)).toEqual([follower, leader]);
    expect(sent[1]!.request).toBe(sent[0]!.request);
    expect(sent[0]!.request.txId.seq).toBe(1);
    await fs.rename(ROOT, 'b', 150, 'c');
    expect(transport.of(TX, 'Rename').at(-1)).toMatchObject({ txId: { seq: 2 }, ackedBelow: 2 });
  });

  it('ackedBelow stays at the oldest operation still waiting for its answer; a failed one counts as answered', async () => {
    const { fs } = clientOf(SPANNING());
    let release: (answer: Record<string, unknown>) => void = () => undefined;
    transport.answer = (call) => (call.request.txId?.seq === 1 ? new Promise((resolve) => (release = resolve)) : { statusCode: MetaStatusCode.OK });
    const slow = fs.rename(ROOT, 'a', 150, 'b');
    await fs.rename(ROOT, 'c', 150, 'd');
    expect(transport.of(TX, 'Rename').map((request) => [request.txId.seq, request.ackedBelow])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    release({ statusCode: MetaStatusCode.TX_KEY_LOCKED });
    await expect(slow).rejects.toMatchObject({ code: 'TX_KEY_LOCKED', method: 'Rename' });
    await fs.rename(ROOT, 'e', 150, 'f');
    expect(transport.of(TX, 'Rename').at(-1)).toMatchObject({ txId: { seq: 3 }, ackedBelow: 3 });
  });

  it('create: one TxService.Create to the parent\'s copyset, the parent\'s partition first; a full one moves the inode to the next candidate (another copyset), still one call', async () => {
    const { fs, client } = clientOf(SPANNING());
    let full = false;
    transport.answer = (call) => {
      if (call.service !== TX) return { statusCode: MetaStatusCode.OK };
      if (full && call.request.inodePartitionId === 10) return { statusCode: MetaStatusCode.PARTITION_ALLOC_ID_FAIL };
      return call.request.inodePartitionId === 10
        ? { statusCode: MetaStatusCode.OK, inode: inode(7) }
        : { statusCode: MetaStatusCode.OK, inode: inode(160, FsFileType.TYPE_SYM_LINK, { symlink: 'target' }) };
    };
    expect((await fs.create(ROOT, 'near', ATTRS)).inodeId).toBe(7);
    expect(transport.trace()).toEqual(['TxService.Create@1']);
    expect(transport.of(TX, 'Create')[0]).toMatchObject({ txId: { seq: 1 }, dst: { partitionId: 10, parentInodeId: ROOT, name: 'near' }, inodePartitionId: 10, type: FsFileType.TYPE_FILE });
    transport.sent.length = 0;
    full = true;
    const made = await fs.symlink(ROOT, 'far', 'target', { uid: 3, gid: 4 });
    expect(made).toMatchObject({ inodeId: 160, symlink: 'target' });
    expect(transport.trace()).toEqual(['TxService.Create@1', 'TxService.Create@1']);
    const routes = txRoutesOf(client.partitions, FS);
    const far = { poolId: 1, copysetId: 1, fsId: FS, dst: { partitionId: 10, parentInodeId: ROOT, name: 'far' }, type: FsFileType.TYPE_SYM_LINK, mode: 0o120777, uid: 3, gid: 4, symlink: 'target', length: 6, routes, time: T };
    expect(transport.of(TX, 'Create')).toEqual([
      { ...far, txId: { clientId: txIds.clientId, seq: 2 }, inodePartitionId: 10, ackedBelow: 2 },
      { ...far, txId: { clientId: txIds.clientId, seq: 3 }, inodePartitionId: 20, ackedBelow: 3 },
    ]);
    expect(client.partitions.isWritable(client.partitions.partition(10)!)).toBe(false);
    transport.sent.length = 0;
    // Known full: the next create goes to partition 20 directly.
    await fs.create(ROOT, 'later', ATTRS);
    expect(transport.of(TX, 'Create').map((request) => [request.copysetId, request.inodePartitionId])).toEqual([[1, 20]]);
  });

  it('create, \'curvefs\': CurveFS\'s CreateInode (the parent\'s partition first, a full one skipped) then CreateDentry in the parent\'s copyset; DeleteInode when the entry fails; never TxService', async () => {
    const { client } = clientOf(SPANNING());
    const curvefs = new FsClient({ client, fsId: FS, now: () => T, renameProtocol: 'curvefs' });
    let full = false;
    transport.answer = (call) => {
      if (call.method === 'CreateInode') {
        if (full && call.request.partitionId === 10) return { statusCode: MetaStatusCode.PARTITION_ALLOC_ID_FAIL };
        return { statusCode: MetaStatusCode.OK, inode: inode(call.request.partitionId === 10 ? 7 : 160) };
      }
      if (call.method === 'CreateDentry' && call.request.dentry.name === 'taken') return { statusCode: MetaStatusCode.DENTRY_EXIST };
      return { statusCode: MetaStatusCode.OK };
    };
    expect((await curvefs.create(ROOT, 'near', ATTRS)).inodeId).toBe(7);
    expect(transport.trace()).toEqual(['MetaServerService.CreateInode@1', 'MetaServerService.CreateDentry@1']);
    transport.sent.length = 0;
    full = true;
    expect((await curvefs.mkdir(ROOT, 'far', ATTRS)).inodeId).toBe(160);
    expect(transport.trace()).toEqual(['MetaServerService.CreateInode@1', 'MetaServerService.CreateInode@2', 'MetaServerService.CreateDentry@1']);
    expect(transport.of(META, 'CreateDentry')[0].dentry).toMatchObject({ inodeId: 160, parentInodeId: ROOT, name: 'far', type: FsFileType.TYPE_DIRECTORY });
    transport.sent.length = 0;
    await expect(curvefs.create(ROOT, 'taken', ATTRS)).rejects.toMatchObject({ code: 'DENTRY_EXIST', method: 'CreateDentry' });
    expect(transport.trace()).toEqual(['MetaServerService.CreateInode@2', 'MetaServerService.CreateDentry@1', 'MetaServerService.DeleteInode@2']);
    expect(transport.of(META, 'DeleteInode')[0]).toMatchObject({ partitionId: 20, inodeId: 160 });
  });

  it('create: PARTITION_ALLOC_ID_FAIL from TxService.Create tries the next candidate with a NEW txId; none left → NO_WRITABLE_PARTITION', async () => {
    const { fs, client } = clientOf([row(10, 1, 0, 99), row(20, 2, 100, 199), row(30, 3, 200, 299)], () => 0.5);
    let creates = 0;
    transport.answer = (call) => {
      if (call.service === TX && call.method === 'Create') {
        creates++;
        return creates <= 2 ? { statusCode: MetaStatusCode.PARTITION_ALLOC_ID_FAIL } : { statusCode: MetaStatusCode.OK, inode: inode(250) };
      }
      return { statusCode: MetaStatusCode.OK };
    };
    expect((await fs.mkdir(ROOT, 'd', ATTRS)).inodeId).toBe(250);
    const sent = transport.of(TX, 'Create');
    expect(transport.trace()).toEqual(['TxService.Create@1', 'TxService.Create@1', 'TxService.Create@1']);
    expect(sent.map((request) => request.txId.seq)).toEqual([1, 2, 3]);
    // The parent's partition first, then the other two in the drawn order.
    expect(sent[0]!.inodePartitionId).toBe(10);
    expect(sent.slice(1).map((request) => request.inodePartitionId).sort()).toEqual([20, 30]);
    expect(sent.every((request) => request.copysetId === 1 && request.dst.partitionId === 10 && request.type === FsFileType.TYPE_DIRECTORY && request.mode === 0o40644)).toBe(true);
    const isWritable = (partitionId: number) => client.partitions.isWritable(client.partitions.partition(partitionId)!);
    expect([10, sent[1]!.inodePartitionId, sent[2]!.inodePartitionId].map(isWritable)).toEqual([false, false, true]);

    transport.sent.length = 0;
    transport.answer = (call) => (call.service === TX ? { statusCode: MetaStatusCode.PARTITION_ALLOC_ID_FAIL } : { statusCode: MetaStatusCode.OK });
    await expect(fs.create(ROOT, 'e', ATTRS)).rejects.toMatchObject({ code: 'NO_WRITABLE_PARTITION' });
    // Only the one writable partition left was tried, with its own txId.
    expect(transport.of(TX, 'Create').map((request) => [request.inodePartitionId, request.txId.seq])).toEqual([[sent[2]!.inodePartitionId, 4]]);
    expect(transport.of(META, 'CreateInode')).toEqual([]);
  });

  it('link: GetInode, then TxService.Link to the new parent\'s copyset, whether the inode is held there or not (\'curvefs\': the single-copyset path)', async () => {
    const { fs, client } = clientOf(SPANNING());
    transport.answer = (call) => (call.method === 'GetInode' ? { statusCode: MetaStatusCode.OK, inode: inode(call.request.inodeId, FsFileType.TYPE_FILE, { nlink: 1, parent: [ROOT] }) } : { statusCode: MetaStatusCode.OK });
    const linked = await fs.link(150, ROOT, 'hard');
    expect(transport.trace()).toEqual(['MetaServerService.GetInode@2', 'TxService.Link@1']);
    expect(transport.of(TX, 'Link')[0]).toMatchObject({ poolId: 1, copysetId: 1, inodeId: 150, dst: { partitionId: 10, parentInodeId: ROOT, name: 'hard' }, time: T });
    expect(linked).toMatchObject({ nlink: 2, parent: [ROOT, ROOT], ctime: T.sec, ctime_ns: T.nsec });
    transport.sent.length = 0;
    await fs.link(150, 120, 'near');
    expect(transport.trace()).toEqual(['MetaServerService.GetInode@2', 'TxService.Link@2']);
    expect(transport.of(TX, 'Link')).toHaveLength(1);
    expect(transport.of(TX, 'Link')[0]).toMatchObject({ poolId: 1, copysetId: 2, txId: { seq: 2 }, inodeId: 150, dst: { partitionId: 20, parentInodeId: 120, name: 'near' } });
    transport.sent.length = 0;
    const curvefs = new FsClient({ client, fsId: FS, now: () => T, renameProtocol: 'curvefs' });
    await curvefs.link(150, 120, 'near');
    expect(transport.trace()).toEqual(['MetaServerService.GetInode@2', 'MetaServerService.UpdateInode@2', 'MetaServerService.CreateDentry@2']);
  });

  it('unlink and rmdir: GetDentry, then TxService.Unlink wherever the inode is held (rmdir: no ListDentry; non-empty → NOT_EMPTY); \'curvefs\': the single-copyset path', async () => {
    const { fs, client } = clientOf(SPANNING());
    const entries: Record<string, { inodeId: number; type: FsFileType }> = {
      file: { inodeId: 150, type: FsFileType.TYPE_FILE },
      dir: { inodeId: 151, type: FsFileType.TYPE_DIRECTORY },
      full: { inodeId: 152, type: FsFileType.TYPE_DIRECTORY },
      near: { inodeId: 5, type: FsFileType.TYPE_FILE },
    };
    transport.answer = (call) => {
      if (call.method === 'GetDentry') return { statusCode: MetaStatusCode.OK, dentry: { fsId: FS, parentInodeId: ROOT, name: call.request.name, ...entries[call.request.name] } };
      if (call.method === 'GetInode') return { statusCode: MetaStatusCode.OK, inode: inode(5) };
      if (call.service === TX && call.request.name.name === 'full') return { statusCode: MetaStatusCode.TARGET_DIRECTORY_EXIST };
      return { statusCode: MetaStatusCode.OK };
    };
    await fs.unlink(ROOT, 'file');
    await fs.rmdir(ROOT, 'dir');
    expect(transport.trace()).toEqual(['MetaServerService.GetDentry@1', 'TxService.Unlink@1', 'MetaServerService.GetDentry@1', 'TxService.Unlink@1']);
    expect(transport.of(TX, 'Unlink').map((request) => [request.name, request.directory, request.txId.seq])).toEqual([
      [{ partitionId: 10, parentInodeId: ROOT, name: 'file' }, false, 1],
      [{ partitionId: 10, parentInodeId: ROOT, name: 'dir' }, true, 2],
    ]);
    const failure = await fs.rmdir(ROOT, 'full').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FsError);
    expect(failure).toMatchObject({ code: 'NOT_EMPTY' });
    // The client-side type checks stay.
    await expect(fs.rmdir(ROOT, 'file')).rejects.toMatchObject({ code: 'NOT_DIRECTORY' });
    await expect(fs.unlink(ROOT, 'dir')).rejects.toMatchObject({ code: 'IS_DIRECTORY' });
    transport.sent.length = 0;
    // The inode in the entry's own copyset: still one TxService.Unlink.
    await fs.unlink(ROOT, 'near');
    expect(transport.trace()).toEqual(['MetaServerService.GetDentry@1', 'TxService.Unlink@1']);
    expect(transport.of(TX, 'Unlink')[0]).toMatchObject({ copysetId: 1, name: { partitionId: 10, parentInodeId: ROOT, name: 'near' }, directory: false });
    transport.sent.length = 0;
    const curvefs = new FsClient({ client, fsId: FS, now: () => T, renameProtocol: 'curvefs' });
    await curvefs.unlink(ROOT, 'near');
    expect(transport.trace()).toEqual(['MetaServerService.GetDentry@1', 'MetaServerService.DeleteDentry@1', 'MetaServerService.GetInode@1', 'MetaServerService.UpdateInode@1']);
  });

  it('a refusal is a MetaClientError of the TxService method; renameProtocol \'curvefs\' never uses TxService', async () => {
    const { fs, client } = clientOf(SPANNING());
    transport.answer = (call) => ({ statusCode: call.service === TX ? MetaStatusCode.TX_MISMATCH : MetaStatusCode.OK, inode: inode(150), dentry: { fsId: FS, inodeId: 150, parentInodeId: ROOT, name: 'x', type: FsFileType.TYPE_FILE } });
    const failure = await fs.link(150, ROOT, 'x').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MetaClientError);
    expect(failure).toMatchObject({ code: 'TX_MISMATCH', method: 'Link' });
    const curvefs = new FsClient({ client, fsId: FS, now: () => T, renameProtocol: 'curvefs' });
    transport.sent.length = 0;
    await curvefs.unlink(ROOT, 'x');
    await curvefs.link(150, ROOT, 'y');
    expect(transport.sent.some((call) => call.service === TX)).toBe(false);
    expect(() => new FsClient({ client, fsId: FS, renameProtocol: 'curvefs', txIds })).toThrow(RangeError);
  });
});
