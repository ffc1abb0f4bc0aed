/**
 * The sending side of InstallSnapshot: one call per transfer, on a connection of its
 * own so that megabytes of snapshot never queue in front of the peer's Raft stream.
 * Chunks are written as the call takes them (flow control), and writing stops as soon
 * as the receiver answered (a refusal may come before the last chunk).
 */
import * as grpc from '@grpc/grpc-js';
import type { SnapshotAck, SnapshotChunk as WireSnapshotChunk } from '../proto/index.ts';
import { INSTALL_SNAPSHOT_PATH, raftTransportClientMethods } from './raft-transport-rpc.ts';
import { chunkToWire } from './snapshot-chunk-wire.ts';
import type { SnapshotChunk } from './snapshot-chunks.ts';
import { TransportError } from './transport-errors.ts';

/** A receiver that takes no chunk for this long has stalled: the transfer is abandoned. */
export const SNAPSHOT_STALL_TIMEOUT_MS = 30_000;

/**
 * Streams `chunks` to the InstallSnapshot service at `address`. Resolves when the
 * receiver accepted the snapshot; rejects with SNAPSHOT_REFUSED (its reason) or
 * PEER_UNREACHABLE. `active` holds the call while it runs, so that close() can cancel it.
 */
export async function sendSnapshotChunks(
  address: string,
  channelOptions: grpc.ChannelOptions,
  chunks: AsyncIterable<SnapshotChunk> | Iterable<SnapshotChunk>,
  active: Set<grpc.Call>,
): Promise<void> {
  const methods = raftTransportClientMethods().installSnapshot;
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions);
  let answered = false;
  let call: grpc.ClientWritableStream<WireSnapshotChunk> | null = null;
  const answer = new Promise<SnapshotAck>((resolve, reject) => {
    call = client.makeClientStreamRequest(INSTALL_SNAPSHOT_PATH, methods.requestSerialize, methods.responseDeserialize, (error, ack) => {
      answered = true;
      if (error !== null || ack === undefined) reject(new TransportError('PEER_UNREACHABLE', `snapshot transfer to ${address} failed: ${error?.details ?? 'no answer'}`, { cause: error }));
      else resolve(ack);
    });
  });
  answer.catch(() => undefined); // observed below; this only keeps an early failure from being "unhandled"
  const stream = call! as grpc.ClientWritableStream<WireSnapshotChunk>;
  active.add(stream);
  try {
    try {
      for await (const chunk of chunks) {
        if (answered) break;
        if (!stream.write(chunkToWire(chunk))) await writable(stream, answer);
      }
    } catch (sourceError) {
      stream.cancel(); // the chunks could not be produced (file gone...): abandon the transfer
      throw sourceError;
    }
    if (!answered) stream.end();
    const ack = await answer;
    if (!ack.accepted) throw new TransportError('SNAPSHOT_REFUSED', `node at ${address} refused the snapshot: ${ack.error}`);
  } finally {
    active.delete(stream);
    client.close();
  }
}

/** Waits until the call takes more data, the receiver answers, or the stall timeout passes. */
async function writable(stream: grpc.ClientWritableStream<WireSnapshotChunk>, answer: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let onDrain: (() => void) | null = null;
  try {
    await Promise.race([
      new Promise<void>((resolve) => stream.once('drain', (onDrain = resolve))),
      answer.then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => {
          stream.cancel();
          reject(new TransportError('PEER_UNREACHABLE', `snapshot receiver took no chunk for ${SNAPSHOT_STALL_TIMEOUT_MS} ms`));
        }, SNAPSHOT_STALL_TIMEOUT_MS);
      }),
    ]);
  } finally {
    if (timer !== null) clearTimeout(timer);
    if (onDrain !== null) stream.off('drain', onDrain);
  }
}
