/**
 * metaraft.tx.TxService's gate over real gRPC (a grpc-js server on 127.0.0.1 serving
 * txServiceHandlers of a fake backend): malformed → PARAM_ERROR, admission → OVERLOAD,
 * no transaction layer → TX_FAILED, otherwise the handler's answer, field for field.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsFileType, MetaStatusCode, TxState, serverServiceDefinition } from '../../src/proto/index.ts';
import type { ServiceBackend } from '../../src/service/service-backend.ts';
import { TX_SERVICE, txServiceHandlers, type TxHandlers } from '../../src/service/tx-service.ts';
import { GrpcCaller } from './harness.ts';

const TX = 'metaraft.tx.TxService';
const TX_ID = { clientId: 2 ** 52 + 3, seq: 7 };
const NAME = { partitionId: 3, parentInodeId: 1, name: 'a' };
const ROUTE = { poolId: 1, copysetId: 2, partitionId: 3, start: 0, end: 99, peers: ['127.0.0.1:1:0'] };

/** A backend whose admission, transaction layer and handler outcomes the test sets. */
class FakeBackend {
  admit = true;
  inFlight = 0;
  released = 0;
  tx: TxHandlers | undefined;
  readonly seen: [string, unknown][] = [];
  /** Thrown by every handler when set. */
  failure: Error | undefined;

  tryAdmit(): boolean {
    if (!this.admit) return false;
    this.inFlight++;
    return true;
  }
  release(): void {
    this.inFlight--;
    this.released++;
  }
}

function handlersOf(backend: FakeBackend): TxHandlers {
  const answer = async (method: string, request: unknown, reply: any): Promise<any> => {
    backend.seen.push([method, request]);
    if (backend.failure !== undefined) throw backend.failure;
    return reply;
  };
  return {
    rename: (r) => answer('rename', r, { statusCode: MetaStatusCode.TX_MISMATCH, appliedIndex: 5 }),
    link: (r) => answer('link', r, { statusCode: MetaStatusCode.OK, appliedIndex: 6 }),
    // The executor's shape: xattr as a record, which must reach the wire as a map.
    create: (r) =>
      answer('create', r, {
        statusCode: MetaStatusCode.OK,
        inode: { inodeId: 40, fsId: 9, length: 0, ctime: 1, ctime_ns: 0, mtime: 1, mtime_ns: 0, atime: 1, atime_ns: 0, uid: 1, gid: 1, mode: 0o100644, nlink: 1, type: FsFileType.TYPE_FILE, xattr: { 'user.a': new Uint8Array([9]) }, parent: [1] },
      }),
    unlink: (r) => answer('unlink', r, { statusCode: MetaStatusCode.NOT_FOUND }),
    prepare: (r) => answer('prepare', r, { statusCode: MetaStatusCode.OK, stamp: 77, appliedIndex: 78 }),
    resolve: (r) => answer('resolve', r, { statusCode: MetaStatusCode.OK, appliedIndex: 79 }),
    status: (r) => answer('status', r, { statusCode: MetaStatusCode.OK, state: TxState.ABORTED }),
  };
}

const server = new grpc.Server();
const backend = new FakeBackend();
let caller: GrpcCaller;
let target = '';

beforeAll(async () => {
  server.addService(serverServiceDefinition(TX) as unknown as grpc.ServiceDefinition, txServiceHandlers(backend as unknown as ServiceBackend));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  target = `127.0.0.1:${port}`;
  caller = new GrpcCaller(target);
});

afterAll(async () => {
  caller.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

beforeEach(() => {
  backend.admit = true;
  backend.tx = handlersOf(backend);
  backend.failure = undefined;
  backend.seen.length = 0;
  backend.released = 0;
});

/** Sends raw bytes as a TxService request (to send what the codecs refuse to encode). */
function sendRaw(method: string, bytes: Uint8Array): Promise<Buffer> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${TX}/${method}`,
      (value: Uint8Array) => Buffer.from(value),
      (value: Buffer) => value,
      bytes,
      (error, value) => {
        client.close();
        if (error) reject(error);
        else resolve(value!);
      },
    );
  });
}

describe('metaraft.tx.TxService gate', () => {
  it('TX_SERVICE names the service the registry holds, with its 7 methods', () => {
    expect(TX_SERVICE).toBe(TX);
    expect(Object.keys(txServiceHandlers(backend as unknown as ServiceBackend))).toEqual(['Rename', 'Link', 'Create', 'Unlink', 'Prepare', 'Resolve', 'Status']);
  });

  it('each rpc reaches its handler with the decoded request and answers what the handler returns', async () => {
    const rename = { poolId: 1, copysetId: 2, fsId: 9, txId: TX_ID, src: NAME, dst: { ...NAME, name: 'b' }, routes: [ROUTE], time: { sec: 1, nsec: 2 }, ackedBelow: 4 };
    expect(await caller.call(TX, 'Rename', rename)).toEqual({ statusCode: MetaStatusCode.TX_MISMATCH, appliedIndex: 5 });
    const link = { poolId: 1, copysetId: 2, fsId: 9, txId: TX_ID, inodeId: 40, dst: NAME, routes: [] };
    expect(await caller.call(TX, 'Link', link)).toEqual({ statusCode: MetaStatusCode.OK, appliedIndex: 6 });
    const create = { poolId: 1, copysetId: 2, fsId: 9, txId: TX_ID, dst: NAME, inodePartitionId: 4, type: FsFileType.TYPE_FILE, mode: 0o644, uid: 1, gid: 1, routes: [ROUTE] };
    const created = await caller.call(TX, 'Create', create);
    expect(created.statusCode).toBe(MetaStatusCode.OK);
    expect(created.inode?.inodeId).toBe(40);
    expect(created.inode?.xattr).toEqual(new Map([['user.a', new Uint8Array([9])]]));
    const unlink = { poolId: 1, copysetId: 2, fsId: 9, txId: TX_ID, name: NAME, directory: true, routes: [ROUTE] };
    expect(await caller.call(TX, 'Unlink', unlink)).toEqual({ statusCode: MetaStatusCode.NOT_FOUND });
    const prepare = { poolId: 1, copysetId: 2, txId: TX_ID, attemptTerm: 3, attemptN: 1, coordinator: ROUTE, fsId: 9, part: new Uint8Array([1, 2, 3, 0]) };
    expect(await caller.call(TX, 'Prepare', prepare)).toEqual({ statusCode: MetaStatusCode.OK, stamp: 77, appliedIndex: 78 });
    const resolve = { poolId: 1, copysetId: 2, txId: TX_ID, commit: true, stamp: 77 };
    expect(await caller.call(TX, 'Resolve', resolve)).toEqual({ statusCode: MetaStatusCode.OK, appliedIndex: 79 });
    const status = { poolId: 1, copysetId: 2, partitionId: 3, txId: TX_ID, stamp: 77, attemptTerm: 3, attemptN: 1, askerPoolId: 1, askerCopysetId: 5 };
    expect(await caller.call(TX, 'Status', status)).toEqual({ statusCode: MetaStatusCode.OK, state: TxState.ABORTED });

    expect(backend.seen).toEqual([
      ['rename', rename],
      ['link', link],
      ['create', create],
      ['unlink', unlink],
      ['prepare', prepare],
      ['resolve', resolve],
      ['status', status],
    ]);
    expect(backend.released).toBe(7);
    expect(backend.inFlight).toBe(0);
  });

  it('a request that does not decode is PARAM_ERROR and reaches no handler (nor takes a slot)', async () => {
    // Resolve with only poolId set: copysetId, txId and commit are missing.
    const bytes = protobuf.Writer.create().uint32((1 << 3) | 0).uint32(1).finish();
    const answer = await sendRaw('Resolve', bytes);
    const decoded = protobuf.Reader.create(answer);
    expect(decoded.uint32()).toBe((1 << 3) | 0);
    expect(decoded.uint32()).toBe(MetaStatusCode.PARAM_ERROR);
    expect(backend.seen).toEqual([]);
    expect(backend.released).toBe(0);
  });

  it('a server at its in-flight limit answers OVERLOAD without calling the handler', async () => {
    backend.admit = false;
    const answer = await caller.call(TX, 'Resolve', { poolId: 1, copysetId: 2, txId: TX_ID, commit: false, attemptTerm: 1, attemptN: 1 });
    expect(answer).toEqual({ statusCode: MetaStatusCode.OVERLOAD });
    expect(backend.seen).toEqual([]);
    expect(backend.released).toBe(0);
  });

  it('a server without a transaction layer answers TX_FAILED (and releases its slot)', async () => {
    backend.tx = undefined;
    const answer = await caller.call(TX, 'Unlink', { poolId: 1, copysetId: 2, fsId: 9, txId: TX_ID, name: NAME, directory: false, routes: [] });
    expect(answer).toEqual({ statusCode: MetaStatusCode.TX_FAILED });
    expect(backend.released).toBe(1);
    expect(backend.inFlight).toBe(0);
  });

  it('a handler that throws fails the call with gRPC INTERNAL; the slot is released', async () => {
    backend.failure = new Error('boom');
    const failure = await caller.call(TX, 'Status', { poolId: 1, copysetId: 2, partitionId: 3, txId: TX_ID, stamp: 1, attemptTerm: 1, attemptN: 1, askerPoolId: 1, askerCopysetId: 1 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: grpc.status.INTERNAL });
    expect(String((failure as grpc.ServiceError).details)).toContain('boom');
    expect(backend.released).toBe(1);
    expect(backend.inFlight).toBe(0);
  });
});
