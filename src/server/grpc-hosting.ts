/**
 * One port for everything (the brief of MetaServer): the CurveFS services are added to
 * the gRPC server the Raft transport serves on, and the transport learns peer addresses
 * from node ids on first use (peer-id.ts makes ids invertible).
 */
import * as grpc from '@grpc/grpc-js';
import type { Envelope, Transport, TransportHandler } from '../host/interfaces.ts';
import { invariant } from '../raft/errors.ts';
import type { NodeId } from '../raft/types.ts';
import type { GrpcTransport } from '../transport/grpc-transport.ts';
import type { SnapshotChunk } from '../transport/snapshot-chunks.ts';
import { PeerAddressError, grpcTargetOfNodeId } from './peer-id.ts';

/**
 * The grpc.Server a GrpcTransport will bind in start(). SEAM(shared-server): the
 * transport has no public way yet to co-host services; until it does, its server is
 * reached here, before start(), and checked to be a grpc-js Server.
 */
export function transportServer(transport: GrpcTransport): grpc.Server {
  const server = (transport as unknown as { server?: unknown }).server;
  invariant(server instanceof grpc.Server, 'the gRPC transport keeps its grpc.Server in `server` (SEAM shared-server)');
  return server;
}

/** A Transport that registers each peer it sends to, by decoding the peer's node id into its address. */
export class SelfAddressingTransport implements Transport {
  private readonly known = new Set<NodeId>();

  constructor(
    private readonly inner: GrpcTransport,
    private readonly self: NodeId,
  ) {}

  listen(handler: TransportHandler): void {
    this.inner.listen(handler);
  }

  send(to: NodeId, envelopes: readonly Envelope[]): void {
    this.ensurePeer(to);
    this.inner.send(to, envelopes);
  }

  sendSnapshot(to: NodeId, chunks: AsyncIterable<SnapshotChunk> | Iterable<SnapshotChunk>): Promise<void> {
    this.ensurePeer(to);
    return this.inner.sendSnapshot(to, chunks);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Makes `peer` known to the transport (no-op for itself, known peers and ids that encode no address). */
  ensurePeer(peer: NodeId): void {
    if (peer === this.self || this.known.has(peer)) return;
    this.known.add(peer);
    try {
      this.inner.addPeer(peer, grpcTargetOfNodeId(peer));
    } catch (error) {
      // An id that names no address cannot be reached: the transport reports it unreachable.
      if (!(error instanceof PeerAddressError)) throw error;
    }
  }
}
