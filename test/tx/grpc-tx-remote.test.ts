/**
 * GrpcTxRemote against small real grpc-js servers on 127.0.0.1 serving TxService,
 * MetaServerService and CliService2 with canned answers: leader search over the
 * target's peers, statuses passed through, fields (the bytes `part` included) intact,
 * the deadline and close() as TxRemoteError.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsFileType, MetaStatusCode, TxState, serverServiceDefinition, type ServiceName } from '../../src/proto/index.ts';
import { GrpcTxRemote } from '../../src/tx/grpc-tx-remote.ts';
import { TxRemoteError } from '../../src/tx/tx-remote.ts';

const TX = 'metaraft.tx.TxService';
const META = 'curvefs.metaserver.MetaServerService';
const CLI = 'curvefs.metaserver.copyset.CliService2';
const TX_ID = { clientId: 2 ** 53 - 1, seq: 12 };
const ROUTE = { poolId: 1, copysetId: 7, partitionId: 70, start: 0, end: 999, peers: ['127.0.0.1:9:0'] };
const FAST = { initialBackoffMs: 5, maxBackoffMs: 20, rpcTimeoutMs: 1_000 };

interface Received {
  readonly peer: string;
  readonly method: string;
  readonly request: any;
}

/** Per peer: what it answers to a method (a status or a whole answer). */
type Script = (method: string, request: any) => Record<string, unknown>;

class CannedPeer {
  readonly server = new grpc.Server();
  address = '';
  script: Script = () => ({ statusCode: MetaStatusCode.REDIRECTED });

  constructor(private readonly log: Received[]) {}

  async start(): Promise<void> {
    for (const service of [TX, META] as ServiceName[]) {
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const method of Object.keys(serverServiceDefinition(service))) {
        handlers[method] = (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
          const request = call.request.ok ? call.request.value : undefined;
          this.log.push({ peer: this.address, method, request });
          callback(null, this.script(method, request));
        };
      }
      this.server.addService(serverServiceDefinition(service) as unknown as grpc.ServiceDefinition, handlers);
    }
    // Every peer answers GetLeader naming no leader: the remote must move on to the next peer.
    this.server.addService(serverServiceDefinition(CLI) as unknown as grpc.ServiceDefinition, {
      GetLeader: (_call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
        this.log.push({ peer: this.address, method: 'GetLeader', request: undefined });
        callback(null, { leader: { address: '' } });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    this.address = `127.0.0.1:${port}:0`;
  }
}

const log: Received[] = [];
const a = new CannedPeer(log);
const b = new CannedPeer(log);
let remote: GrpcTxRemote;

beforeAll(async () => {
  await a.start();
  await b.start();
});

afterAll(() => {
  remote?.close();
  a.server.forceShutdown();
  b.server.forceShutdown();
});

beforeEach(() => {
  remote?.close();
  remote = new GrpcTxRemote({ retry: FAST, random: () => 0.5 });
  log.length = 0;
  a.script = () => ({ statusCode: MetaStatusCode.REDIRECTED });
  b.script = () => ({ statusCode: MetaStatusCode.OK });
});

const target = () => ({ poolId: 1, copysetId: 7, peers: [a.address, b.address] });
const methodsSent = () => log.map((entry) => `${entry.method}@${entry.peer === a.address ? 'a' : 'b'}`);

describe('GrpcTxRemote', () => {
  it('Prepare: a peer answering REDIRECTED (naming no leader) is left for the other; every field, the bytes included, arrives intact', async () => {
    const part = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    const request = { poolId: 1, copysetId: 7, txId: TX_ID, attemptTerm: 4, attemptN: 2, coordinator: ROUTE, fsId: 3, part };
    b.script = (method) => (method === 'Prepare' ? { statusCode: MetaStatusCode.OK, stamp: 901, appliedIndex: 902 } : { statusCode: MetaStatusCode.UNKNOWN_ERROR });
    const answer = await remote.prepare(target(), request, Date.now() + 5_000);
    expect(answer).toEqual({ statusCode: MetaStatusCode.OK, stamp: 901, appliedIndex: 902 });
    const prepares = log.filter((entry) => entry.method === 'Prepare');
    expect(prepares.map((entry) => entry.peer)).toEqual([a.address, b.address]);
    expect(prepares[1]!.request).toEqual(request);
    expect(prepares[1]!.request.part).toBeInstanceOf(Uint8Array);
    // The leader is remembered while the peers stay the same (a new array with the same peers).
    log.length = 0;
    await remote.prepare({ ...target(), peers: [a.address, b.address] }, request, Date.now() + 5_000);
    expect(methodsSent()).toEqual(['Prepare@b']);
    expect(remote.peersOf({ poolId: 1, copysetId: 7 })).toEqual([a.address, b.address]);
  });

  it('Resolve and Status: fields round-trip; a status other than REDIRECTED/OVERLOAD/COPYSET_NOTEXIST is the answer, not an error', async () => {
    a.script = (method) => (method === 'Resolve' ? { statusCode: MetaStatusCode.TX_KEY_LOCKED, appliedIndex: 3 } : { statusCode: MetaStatusCode.OK, state: TxState.IN_PROGRESS });
    const resolve = { poolId: 1, copysetId: 7, txId: TX_ID, commit: false, attemptTerm: 9, attemptN: 1 };
    expect(await remote.resolve(target(), resolve, Date.now() + 5_000)).toEqual({ statusCode: MetaStatusCode.TX_KEY_LOCKED, appliedIndex: 3 });
    const status = { poolId: 1, copysetId: 7, partitionId: 70, txId: TX_ID, stamp: 5, attemptTerm: 9, attemptN: 1, askerPoolId: 2, askerCopysetId: 8 };
    expect(await remote.status(target(), status, Date.now() + 5_000)).toEqual({ statusCode: MetaStatusCode.OK, state: TxState.IN_PROGRESS });
    expect(log.map((entry) => [entry.method, entry.request])).toEqual([
      ['Resolve', resolve],
      ['Status', status],
    ]);
  });

  it('COPYSET_NOTEXIST and OVERLOAD are retried: the first at another peer, the second after a backoff', async () => {
    a.script = () => ({ statusCode: MetaStatusCode.COPYSET_NOTEXIST });
    let overloads = 2;
    b.script = () => (overloads-- > 0 ? { statusCode: MetaStatusCode.OVERLOAD } : { statusCode: MetaStatusCode.OK, appliedIndex: 1 });
    const answer = await remote.resolve(target(), { poolId: 1, copysetId: 7, txId: TX_ID, commit: true, stamp: 5 }, Date.now() + 5_000);
    expect(answer.statusCode).toBe(MetaStatusCode.OK);
    expect(methodsSent().filter((m) => m.startsWith('Resolve'))).toEqual(['Resolve@a', 'Resolve@b', 'Resolve@b', 'Resolve@b']);
  });

  it('getDentry and getInode go to MetaServerService with the routing fields; the inode comes back in the executor\'s shape', async () => {
    a.script = (method) =>
      method === 'GetDentry'
        ? { statusCode: MetaStatusCode.OK, dentry: { fsId: 3, inodeId: 44, parentInodeId: 1, name: 'x', type: FsFileType.TYPE_FILE }, appliedIndex: 50 }
        : {
            statusCode: MetaStatusCode.OK,
            appliedIndex: 51,
            inode: { inodeId: 44, fsId: 3, length: 1, ctime: 1, ctime_ns: 1, mtime: 1, mtime_ns: 1, atime: 1, atime_ns: 1, uid: 0, gid: 0, mode: 0o100644, nlink: 1, type: FsFileType.TYPE_FILE, xattr: new Map([['user.k', new Uint8Array([5])]]), parent: [1] },
          };
    const dentry = await remote.getDentry(target(), { poolId: 1, copysetId: 7, partitionId: 70, fsId: 3, parentInodeId: 1, name: 'x' }, Date.now() + 5_000);
    expect(dentry).toEqual({ statusCode: MetaStatusCode.OK, dentry: { fsId: 3, inodeId: 44, parentInodeId: 1, name: 'x', type: FsFileType.TYPE_FILE }, appliedIndex: 50 });
    const inode = await remote.getInode(target(), { poolId: 1, copysetId: 7, partitionId: 70, fsId: 3, inodeId: 44 }, Date.now() + 5_000);
    expect(inode.inode?.xattr).toEqual({ 'user.k': new Uint8Array([5]) });
    expect(inode.inode?.parent).toEqual([1]);
    expect(log.map((entry) => entry.request)).toEqual([
      { poolId: 1, copysetId: 7, partitionId: 70, fsId: 3, parentInodeId: 1, name: 'x' },
      // A read carries the highest appliedIndex seen from the copyset.
      { poolId: 1, copysetId: 7, partitionId: 70, fsId: 3, inodeId: 44, appliedIndex: 50 },
    ]);
  });

  it('no leader before the deadline: TxRemoteError DEADLINE_EXCEEDED', async () => {
    b.script = () => ({ statusCode: MetaStatusCode.REDIRECTED });
    const failure = await remote.status(target(), { poolId: 1, copysetId: 7, partitionId: 70, txId: TX_ID, stamp: 1, attemptTerm: 1, attemptN: 1, askerPoolId: 1, askerCopysetId: 1 }, Date.now() + 150).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TxRemoteError);
    expect(failure).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(log.filter((entry) => entry.method === 'Status').length).toBeGreaterThanOrEqual(2);
  });

  it('a copyset with no known peers: DEADLINE_EXCEEDED at once, nothing sent', async () => {
    const failure = await remote.resolve({ poolId: 5, copysetId: 5, peers: [] }, { poolId: 5, copysetId: 5, txId: TX_ID, commit: true, stamp: 1 }, Date.now() + 5_000).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(log).toEqual([]);
  });

  it('after close(): TxRemoteError CLOSED', async () => {
    remote.close();
    const failure = await remote.prepare(target(), { poolId: 1, copysetId: 7, txId: TX_ID, attemptTerm: 1, attemptN: 1, coordinator: ROUTE, fsId: 3, part: new Uint8Array() }, Date.now() + 5_000).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TxRemoteError);
    expect(failure).toMatchObject({ code: 'CLOSED' });
    expect(log).toEqual([]);
  });
});
