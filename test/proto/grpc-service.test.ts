import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MetaStatusCode,
  clientServiceDefinition,
  messageCodec,
  serverServiceDefinition,
  type GetInodeResponse,
  type RaftAck,
  type ServerRequest,
  type ServerResponse,
} from '../../src/proto/index.ts';

const METASERVER = 'curvefs.metaserver.MetaServerService';
const RAFT = 'metaraft.raft.RaftTransport';

describe('gRPC with the generated definitions (real server on 127.0.0.1)', () => {
  const server = new grpc.Server();
  let port = 0;
  const seenInodeIds: number[] = [];

  beforeAll(async () => {
    server.addService(serverServiceDefinition(METASERVER), {
      GetInode(
        call: grpc.ServerUnaryCall<ServerRequest<typeof METASERVER, 'GetInode'>, unknown>,
        callback: grpc.sendUnaryData<ServerResponse<typeof METASERVER, 'GetInode'>>,
      ) {
        // What the service layer will do: a request that failed to decode is PARAM_ERROR.
        if (!call.request.ok) {
          callback(null, { statusCode: MetaStatusCode.PARAM_ERROR });
          return;
        }
        seenInodeIds.push(call.request.value.inodeId);
        callback(null, { statusCode: MetaStatusCode.NOT_FOUND, appliedIndex: 41 });
      },
    });
    server.addService(serverServiceDefinition(RAFT), {
      Stream(call: grpc.ServerDuplexStream<ServerRequest<typeof RAFT, 'Stream'>, RaftAck>) {
        call.on('data', (batch: ServerRequest<typeof RAFT, 'Stream'>) => {
          if (batch.ok) call.write({ sequence: batch.value.sequence });
        });
        call.on('end', () => call.end());
      },
    });
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      );
    });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  function metaserverClient(): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
    const Client = grpc.makeGenericClientConstructor(clientServiceDefinition(METASERVER), 'MetaServerService');
    return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
  }

  it('GetInode: the request arrives decoded and the MetaStatusCode comes back', async () => {
    const client = metaserverClient();
    try {
      const response = await new Promise<GetInodeResponse>((resolve, reject) => {
        client.GetInode!(
          { poolId: 1, copysetId: 2, partitionId: 3, fsId: 4, inodeId: 2 ** 50 },
          (error: grpc.ServiceError | null, value: GetInodeResponse) => (error ? reject(error) : resolve(value)),
        );
      });
      expect(response).toEqual({ statusCode: MetaStatusCode.NOT_FOUND, appliedIndex: 41 });
      expect(seenInodeIds).toContain(2 ** 50);
    } finally {
      client.close();
    }
  });

  it('a request missing a required field is answered PARAM_ERROR, not a transport error', async () => {
    const client = metaserverClient();
    try {
      const noInodeId = Buffer.from(protobuf.Writer.create().uint32(8).uint32(1).finish());
      const response = await new Promise<GetInodeResponse>((resolve, reject) => {
        client.makeUnaryRequest(
          '/curvefs.metaserver.MetaServerService/GetInode',
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => messageCodec('curvefs.metaserver.GetInodeResponse').decode(bytes),
          noInodeId,
          (error, value) => (error ? reject(error) : resolve(value!)),
        );
      });
      expect(response.statusCode).toBe(MetaStatusCode.PARAM_ERROR);
    } finally {
      client.close();
    }
  });

  it('a method without a handler answers gRPC UNIMPLEMENTED', async () => {
    const client = metaserverClient();
    try {
      const error = await new Promise<grpc.ServiceError>((resolve) => {
        client.DeleteInode!(
          { poolId: 1, copysetId: 2, partitionId: 3, fsId: 4, inodeId: 5 },
          (failure: grpc.ServiceError | null) => resolve(failure!),
        );
      });
      expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      client.close();
    }
  });

  it('RaftTransport.Stream carries batches one way and acks the other', async () => {
    const Client = grpc.makeGenericClientConstructor(clientServiceDefinition(RAFT), 'RaftTransport');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client &
      Record<string, () => grpc.ClientDuplexStream<unknown, RaftAck>>;
    try {
      const stream = client.Stream!();
      const acks: number[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on('data', (ack: RaftAck) => acks.push(ack.sequence));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      for (const sequence of [1, 2, 3]) stream.write({ from_node: 1, to_node: 2, sequence, messages: [] });
      stream.end();
      await done;
      expect(acks).toEqual([1, 2, 3]);
    } finally {
      client.close();
    }
  });
});
