/**
 * The two methods of `metaraft.raft.RaftTransport` as this transport serves and calls
 * them. InstallSnapshot uses the shared strict definitions of src/proto. Stream carries
 * raw bytes instead: the sender encodes each batch once (raft-batch-framing.ts) and the
 * receiver decodes it with the Raft codec itself, so that a malformed batch is dropped
 * and counted rather than failing the whole stream.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import {
  clientServiceDefinition,
  messageCodec,
  methodPath,
  serverServiceDefinition,
  type RaftAck,
  type ServerRequest,
  type SnapshotAck,
  type SnapshotChunk as WireSnapshotChunk,
} from '../proto/index.ts';

export const RAFT_TRANSPORT_SERVICE = 'metaraft.raft.RaftTransport';

export const STREAM_PATH = methodPath(RAFT_TRANSPORT_SERVICE, 'Stream');
export const INSTALL_SNAPSHOT_PATH = methodPath(RAFT_TRANSPORT_SERVICE, 'InstallSnapshot');

/** What the server's InstallSnapshot handler reads: each chunk decoded, or why it could not be. */
export type InboundChunk = ServerRequest<typeof RAFT_TRANSPORT_SERVICE, 'InstallSnapshot'>;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const ackCodec = messageCodec('metaraft.raft.Ack');

const rawStream: MethodDefinition<Buffer, RaftAck> = {
  path: STREAM_PATH,
  originalName: 'stream',
  requestStream: true,
  responseStream: true,
  requestSerialize: (bytes) => bytes,
  requestDeserialize: (bytes) => bytes,
  responseSerialize: (ack) => toBuffer(ackCodec.encode(ack)),
  responseDeserialize: (bytes) => ackCodec.decode(bytes),
};

/** The service definition the server adds (`server.addService(...)`). */
export function raftTransportServerDefinition(): Record<'Stream' | 'InstallSnapshot', MethodDefinition<unknown, unknown>> {
  const shared = serverServiceDefinition(RAFT_TRANSPORT_SERVICE);
  return {
    Stream: rawStream as MethodDefinition<unknown, unknown>,
    InstallSnapshot: shared.InstallSnapshot as MethodDefinition<unknown, unknown>,
  };
}

/** Serializers of the client side of both methods. */
export interface ClientMethods {
  readonly stream: Pick<MethodDefinition<Buffer, RaftAck>, 'requestSerialize' | 'responseDeserialize'>;
  readonly installSnapshot: Pick<MethodDefinition<WireSnapshotChunk, SnapshotAck>, 'requestSerialize' | 'responseDeserialize'>;
}

let clientMethods: ClientMethods | null = null;

export function raftTransportClientMethods(): ClientMethods {
  if (clientMethods === null) {
    const shared = clientServiceDefinition(RAFT_TRANSPORT_SERVICE);
    clientMethods = {
      stream: rawStream,
      installSnapshot: shared.InstallSnapshot as ClientMethods['installSnapshot'],
    };
  }
  return clientMethods;
}
