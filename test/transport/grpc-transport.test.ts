import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope, TransportHandler } from '../../src/host/interfaces.ts';
import { messageCodec, WireMessageType, type RaftAck } from '../../src/proto/index.ts';
import { newMessage } from '../../src/raft/messages.ts';
import type { Message, NodeId } from '../../src/raft/types.ts';
import { GrpcTransport } from '../../src/transport/grpc-transport.ts';
import type { GrpcTransportOptions } from '../../src/transport/grpc-transport-options.ts';
import { encodeBatches, withSequence } from '../../src/transport/raft-batch-framing.ts';
import { STREAM_PATH } from '../../src/transport/raft-transport-rpc.ts';
import { SnapshotAssembler, splitSnapshot, type SnapshotChunk } from '../../src/transport/snapshot-chunks.ts';
import { TransportError } from '../../src/transport/transport-errors.ts';

/** Fast timers, but a liveness timeout generous enough for a loaded 2-core machine. */
const FAST: Partial<GrpcTransportOptions> = { keepaliveIntervalMs: 50, livenessTimeoutMs: 1500, initialBackoffMs: 20, maxBackoffMs: 200 };

/** Records what a transport delivers. */
class Recorder implements TransportHandler {
  readonly batches: Array<{ from: NodeId; envelopes: readonly Envelope[] }> = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshots: Message[] = [];
  /** Replaces the snapshot behaviour (default: reassemble with SnapshotAssembler and keep). */
  onSnapshot: ((from: NodeId, chunks: AsyncIterable<SnapshotChunk>) => Promise<void>) | null = null;

  receive(from: NodeId, envelopes: readonly Envelope[]): void {
    this.batches.push({ from, envelopes });
  }

  async receiveSnapshot(from: NodeId, chunks: AsyncIterable<SnapshotChunk>): Promise<void> {
    if (this.onSnapshot !== null) return this.onSnapshot(from, chunks);
    const assembler = new SnapshotAssembler();
    let message: Message | null = null;
    for await (const chunk of chunks) message = assembler.accept(chunk);
    if (message === null) throw new Error('incomplete snapshot');
    this.snapshots.push(message);
  }

  peerUnreachable(peer: NodeId): void {
    this.unreachable.push(peer);
  }

  /** Non-empty envelopes from `from`, in arrival order. */
  envelopesFrom(from: NodeId): Envelope[] {
    return this.batches.filter((b) => b.from === from).flatMap((b) => b.envelopes);
  }

  keepalivesFrom(from: NodeId): number {
    return this.batches.filter((b) => b.from === from && b.envelopes.length === 0).length;
  }
}

const running: GrpcTransport[] = [];

async function startNode(nodeId: NodeId, overrides: Partial<GrpcTransportOptions> = {}): Promise<{ transport: GrpcTransport; recorder: Recorder }> {
  const transport = await GrpcTransport.start({ nodeId, listenAddress: '127.0.0.1:0', ...FAST, ...overrides });
  running.push(transport);
  const recorder = new Recorder();
  transport.listen(recorder);
  return { transport, recorder };
}

/** Starts `ids.length` transports that all know each other, and waits until every stream is up. */
async function startMesh(ids: readonly NodeId[], overrides: Partial<GrpcTransportOptions> = {}) {
  const nodes = await Promise.all(ids.map((id) => startNode(id, overrides)));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.addPeer(b.transport.nodeId, b.transport.address);
  await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || a.transport.peerState(b.transport.nodeId) === 'up')), 10_000, 'all streams up');
  return nodes;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()));
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `condition` holds; a bounded wait, not a timing assertion. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A message whose fields identify it: batch `k`, position `i`. */
function tagged(from: NodeId, to: NodeId, k: number, i: number): Message {
  return newMessage({ type: 'append', from, to, term: 3, index: k, commit: i, entries: [{ term: 3, index: k + 1, type: 'normal', data: new Uint8Array([k % 256, i % 256]) }] });
}

function batchOf(from: NodeId, to: NodeId, k: number, groups: number): Envelope[] {
  return Array.from({ length: groups }, (_, i) => ({ group: 100 + i, message: tagged(from, to, k, i) }));
}

async function freePort(): Promise<number> {
  const probe = new GrpcTransport({ nodeId: 99, listenAddress: '127.0.0.1:0' });
  const port = await probe.start();
  await probe.close();
  return port;
}

const snapshotMetadata = { index: 500, term: 4, config: { voters: [1, 2, 3], learners: [], epoch: 2 } };

function snapshotChunks(from: NodeId, to: NodeId, bytes: number, chunkBytes: number, group = 7): { data: Uint8Array; chunks: SnapshotChunk[] } {
  const data = new Uint8Array(randomBytes(bytes));
  const message = newMessage({ type: 'snapshot', from, to, term: 4, snapshot: { metadata: snapshotMetadata, data } });
  return { data, chunks: splitSnapshot(group, message, chunkBytes) };
}

describe('GrpcTransport: batches', () => {
  it('two transports exchange batches of many groups, in order, both ways', async () => {
    const [a, b] = await startMesh([1, 2]);
    const BATCHES = 200;
    const GROUPS = 10;
    for (let k = 0; k < BATCHES; k++) {
      a!.transport.send(2, batchOf(1, 2, k, GROUPS));
      b!.transport.send(1, batchOf(2, 1, k, GROUPS));
    }
    await waitFor(() => b!.recorder.envelopesFrom(1).length === BATCHES * GROUPS && a!.recorder.envelopesFrom(2).length === BATCHES * GROUPS, 15_000, 'all envelopes');
    for (const [recorder, from, to] of [[b!.recorder, 1, 2], [a!.recorder, 2, 1]] as const) {
      const got = recorder.envelopesFrom(from).map((e) => [e.group, e.message.from, e.message.to, e.message.index, e.message.commit, e.message.entries[0]!.data[1]]);
      const expected = Array.from({ length: BATCHES * GROUPS }, (_, n) => {
        const k = Math.floor(n / GROUPS);
        const i = n % GROUPS;
        return [100 + i, from, to, k, i, i];
      });
      expect(got).toEqual(expected);
    }
    // One batch per send(): the receiver saw the same boundaries (keepalives aside).
    expect(b!.recorder.batches.filter((x) => x.envelopes.length > 0).every((x) => x.envelopes.length === GROUPS)).toBe(true);
    expect(a!.transport.metrics.messagesSent).toBe(BATCHES * GROUPS);
    expect(b!.transport.metrics.messagesReceived).toBe(BATCHES * GROUPS);
    await waitFor(() => a!.transport.metrics.batchesAcked === a!.transport.metrics.batchesSent, 5000, 'every batch acked');
  });

  it('three transports: every ordered pair keeps its order', async () => {
    const nodes = await startMesh([1, 2, 3]);
    const BATCHES = 60;
    for (let k = 0; k < BATCHES; k++) {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          from.transport.send(to.transport.nodeId, batchOf(from.transport.nodeId, to.transport.nodeId, k, 4));
        }
      }
    }
    await waitFor(() => nodes.every((n) => n.recorder.batches.reduce((sum, x) => sum + x.envelopes.length, 0) === 2 * BATCHES * 4), 15_000, 'all envelopes');
    for (const to of nodes) {
      for (const from of nodes) {
        if (from === to) continue;
        const indexes = to.recorder.envelopesFrom(from.transport.nodeId).map((e) => e.message.index * 10 + e.message.commit);
        expect(indexes).toEqual(Array.from({ length: BATCHES * 4 }, (_, n) => Math.floor(n / 4) * 10 + (n % 4)));
        expect(to.recorder.envelopesFrom(from.transport.nodeId).every((e) => e.message.from === from.transport.nodeId)).toBe(true);
      }
    }
  });

  it('splits a send larger than maxBatchBytes into consecutive batches and counts a message too big to travel', async () => {
    const [a, b] = await startMesh([1, 2], { maxBatchBytes: 2048, maxQueuedBytesPerPeer: 1 << 20 });
    const envelopes = Array.from({ length: 40 }, (_, i) => ({
      group: i + 1,
      message: newMessage({ type: 'append', from: 1, to: 2, term: 2, index: i, entries: [{ term: 2, index: i + 1, type: 'normal', data: new Uint8Array(200).fill(i) }] }),
    }));
    const huge = { group: 99, message: newMessage({ type: 'append', from: 1, to: 2, term: 2, index: 0, entries: [{ term: 2, index: 1, type: 'normal', data: new Uint8Array(4096) }] }) };
    a!.transport.send(2, [...envelopes.slice(0, 20), huge, ...envelopes.slice(20)]);
    await waitFor(() => b!.recorder.envelopesFrom(1).length === 40, 10_000, '40 envelopes');
    expect(b!.recorder.envelopesFrom(1).map((e) => e.group)).toEqual(envelopes.map((e) => e.group));
    expect(b!.recorder.batches.filter((x) => x.envelopes.length > 0).length).toBeGreaterThan(4);
    expect(a!.transport.metrics.messagesOversized).toBe(1);
  });

  it('keepalives (empty batches) flow while nothing else is sent', async () => {
    const [a, b] = await startMesh([1, 2]);
    await waitFor(() => b!.recorder.keepalivesFrom(1) >= 3 && a!.recorder.keepalivesFrom(2) >= 3, 10_000, 'three keepalives each way');
    expect(b!.recorder.batches.every((x) => x.from === 1 && x.envelopes.length === 0)).toBe(true);
    expect(b!.transport.metrics.keepalivesReceived).toBeGreaterThanOrEqual(3);
    expect(a!.transport.metrics.keepalivesSent).toBeGreaterThanOrEqual(3);
  });

  it('a peer restarted on the same port is reached again through a re-opened stream', async () => {
    const [a, b] = await startMesh([1, 2]);
    const port = b!.transport.port;
    a!.transport.send(2, batchOf(1, 2, 0, 3));
    await waitFor(() => b!.recorder.envelopesFrom(1).length === 3, 5000, 'first batch');
    await b!.transport.close();
    await waitFor(() => a!.recorder.unreachable.includes(2), 5000, 'peerUnreachable(2)');
    expect(() => a!.transport.send(2, batchOf(1, 2, 1, 3))).not.toThrow();
    const restarted = await startNode(2, { listenAddress: `127.0.0.1:${port}` });
    restarted.transport.addPeer(1, a!.transport.address);
    // Messages sent while the stream is down are dropped (Raft retries): keep sending until one lands.
    let k = 2;
    await waitFor(() => {
      a!.transport.send(2, batchOf(1, 2, k++, 1));
      return restarted.recorder.envelopesFrom(1).length > 0;
    }, 10_000, 'a batch on the re-opened stream');
    expect(a!.transport.metrics.reconnects).toBeGreaterThanOrEqual(1);
    expect(a!.transport.metrics.streamFailures).toBeGreaterThanOrEqual(1);
    expect(a!.transport.peerState(2)).toBe('up');
    // What arrives after the restart still arrives in order.
    const indexes = restarted.recorder.envelopesFrom(1).map((e) => e.message.index);
    expect(indexes).toEqual([...indexes].sort((x, y) => x - y));
  });

  it('send to a dead peer never throws, drops, and reports peerUnreachable once per outage and again while it lasts', async () => {
    const port = await freePort();
    const { transport, recorder } = await startNode(1, { livenessTimeoutMs: 200, keepaliveIntervalMs: 40, peers: new Map([[5, `127.0.0.1:${port}`]]) });
    await waitFor(() => recorder.unreachable.length >= 1, 5000, 'first report');
    const reportsBefore = transport.metrics.unreachableReports;
    for (let k = 0; k < 500; k++) expect(() => transport.send(5, batchOf(1, 5, k, 2))).not.toThrow();
    // 500 sends during one outage add no report of their own.
    expect(transport.metrics.unreachableReports).toBe(reportsBefore);
    await waitFor(() => recorder.unreachable.length >= 3, 5000, 'repeated reports while the outage lasts');
    expect(transport.metrics.messagesDroppedWhileDown).toBeGreaterThanOrEqual(1000);
    expect(new Set(recorder.unreachable)).toEqual(new Set([5]));
    expect(transport.peerState(5)).not.toBe('up');
  });

  it('reports a node without a known address unreachable, and drops what is sent to it', async () => {
    const { transport, recorder } = await startNode(1);
    transport.send(8, batchOf(1, 8, 0, 1));
    transport.send(8, batchOf(1, 8, 1, 1));
    await waitFor(() => recorder.unreachable.includes(8), 5000, 'peerUnreachable(8)');
    expect(transport.metrics.batchesDroppedUnknownPeer).toBe(2);
    expect(recorder.unreachable.filter((p) => p === 8)).toHaveLength(1);
    await expect(transport.sendSnapshot(8, [])).rejects.toMatchObject({ code: 'UNKNOWN_PEER' });
  });

  it('refuses a batch addressed to another node id (the sender learns the peer is unreachable)', async () => {
    const [a, b] = await startMesh([1, 2]);
    // Node 1 believes node 3 lives at node 2's address.
    a!.transport.addPeer(3, b!.transport.address);
    a!.transport.send(3, batchOf(1, 3, 0, 2));
    await waitFor(() => b!.transport.metrics.batchesRefused >= 1, 5000, 'a refusal');
    await waitFor(() => a!.recorder.unreachable.includes(3), 5000, 'peerUnreachable(3)');
    expect(b!.recorder.envelopesFrom(1)).toHaveLength(0);
    // The wrong peer keeps taking and refusing streams: that is one outage, not a report per attempt.
    await sleep(400);
    expect(a!.recorder.unreachable.filter((p) => p === 3)).toHaveLength(1);
    // The stream between the real pair is unaffected.
    a!.transport.send(2, batchOf(1, 2, 1, 2));
    await waitFor(() => b!.recorder.envelopesFrom(1).length === 2, 5000, 'the well-addressed batch');
  });

  it('drops malformed batches with a counter and keeps serving the stream', async () => {
    const { transport, recorder } = await startNode(2);
    const client = new grpc.Client(transport.address, grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest(STREAM_PATH, (b: Buffer) => b, (b: Buffer) => messageCodec('metaraft.raft.Ack').decode(b));
      const acks: number[] = [];
      call.on('data', (ack: RaftAck) => acks.push(ack.sequence));
      call.on('error', () => undefined);
      const valid = (sequence: number, term: number) =>
        withSequence(encodeBatches(1, 2, [{ group: 4, message: newMessage({ type: 'vote', from: 1, to: 2, term }) }], 1 << 20).batches[0]!.body, sequence);
      const raftBatch = messageCodec('metaraft.raft.RaftBatch');
      const wireMessage = { type: WireMessageType.MESSAGE_TYPE_VOTE, from: 1, to: 2, term: 1, log_term: 0, index: 0, commit: 0, reject: false, reject_hint: 0, context: '' };
      call.write(Buffer.from([0xff, 0xff, 0xff, 0xff])); // not protobuf at all
      call.write(valid(1, 11));
      // A message type the core does not know (UNSPECIFIED).
      call.write(Buffer.from(raftBatch.encode({ from_node: 1, to_node: 2, sequence: 2, messages: [{ group_id: 4, message: { ...wireMessage, type: WireMessageType.MESSAGE_TYPE_UNSPECIFIED } }] })));
      // A group message without its message.
      call.write(Buffer.from(raftBatch.encode({ from_node: 1, to_node: 2, sequence: 3, messages: [{ group_id: 4 }] })));
      // A term beyond Number.MAX_SAFE_INTEGER: uint64 2^63 as a raw varint in field 4 of the message.
      const unsafeTerm = Buffer.from(raftBatch.encode({ from_node: 1, to_node: 2, sequence: 4, messages: [{ group_id: 4, message: wireMessage }] }));
      call.write(patchTermToHuge(unsafeTerm));
      call.write(valid(5, 12));
      await waitFor(() => recorder.envelopesFrom(1).length === 2 && acks.includes(5), 5000, 'the valid batches and their ack');
      expect(recorder.envelopesFrom(1).map((e) => e.message.term)).toEqual([11, 12]);
      expect(transport.metrics.batchesMalformed).toBe(4);
      call.end();
    } finally {
      client.close();
    }
  });

  it('validates its options at construction', () => {
    expect(() => new GrpcTransport({ nodeId: 0, listenAddress: '127.0.0.1:0' })).toThrow(TransportError);
    expect(() => new GrpcTransport({ nodeId: 1, listenAddress: 'nowhere' })).toThrow(/host:port/);
    expect(() => new GrpcTransport({ nodeId: 1, listenAddress: '127.0.0.1:0', keepaliveIntervalMs: 500, livenessTimeoutMs: 100 })).toThrow(/livenessTimeoutMs/);
    expect(() => new GrpcTransport({ nodeId: 1, listenAddress: '127.0.0.1:0', maxBatchBytes: 1 << 20, maxQueuedBytesPerPeer: 1000 })).toThrow(/maxQueuedBytesPerPeer/);
  });

  it('close() ends streams: the peer sees the outage, and the closed transport stays quiet', async () => {
    const [a, b] = await startMesh([1, 2]);
    await a!.transport.close();
    await waitFor(() => b!.recorder.unreachable.includes(1), 5000, 'peerUnreachable(1) at node 2');
    expect(() => a!.transport.send(2, batchOf(1, 2, 0, 1))).not.toThrow();
    await expect(a!.transport.sendSnapshot(2, [])).rejects.toMatchObject({ code: 'CLOSED' });
    const delivered = b!.recorder.envelopesFrom(1).length;
    await sleep(100);
    expect(b!.recorder.envelopesFrom(1).length).toBe(delivered);
  });
});

/**
 * Rewrites the `term` (field 4) of the only message in an encoded single-message batch to
 * 2^63, which no JS number holds exactly: decoding must refuse it.
 */
function patchTermToHuge(batch: Buffer): Buffer {
  const raft = messageCodec('metaraft.raft.RaftBatch').decode(batch);
  const message = messageCodec('metaraft.raft.Message').encode(raft.messages[0]!.message!);
  // term = 1 was encoded as tag 0x20 followed by 0x01.
  const at = Buffer.from(message).indexOf(Buffer.from([0x20, 0x01]));
  if (at < 0) throw new Error('term field not found');
  const hugeVarint = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  const patched = Buffer.concat([Buffer.from(message.subarray(0, at + 1)), hugeVarint, Buffer.from(message.subarray(at + 2))]);
  const groupMessage = Buffer.concat([Buffer.from([0x08, 0x04, 0x12]), varint(patched.length), patched]);
  return Buffer.concat([Buffer.from([0x08, 0x01, 0x10, 0x02, 0x18, 0x04, 0x22]), varint(groupMessage.length), groupMessage]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

describe('GrpcTransport: snapshots', () => {
  it('a chunked snapshot of several MB arrives intact', async () => {
    const [a, b] = await startMesh([1, 2]);
    const { data, chunks } = snapshotChunks(1, 2, 6 * 1024 * 1024 + 12345, 512 * 1024);
    await a!.transport.sendSnapshot(2, chunks);
    expect(b!.recorder.snapshots).toHaveLength(1);
    const received = b!.recorder.snapshots[0]!;
    expect(received.snapshot!.metadata).toEqual(snapshotMetadata);
    expect(received.from).toBe(1);
    expect(received.term).toBe(4);
    expect(Buffer.from(received.snapshot!.data).equals(Buffer.from(data))).toBe(true);
    expect(a!.transport.metrics.snapshotsSent).toBe(1);
    expect(b!.transport.metrics.snapshotsReceived).toBe(1);
  });

  it('streams chunks from an async source', async () => {
    const [a, b] = await startMesh([1, 2]);
    const { data, chunks } = snapshotChunks(1, 2, 300_000, 64 * 1024);
    async function* slowly(): AsyncIterable<SnapshotChunk> {
      for (const chunk of chunks) {
        await sleep(1);
        yield chunk;
      }
    }
    await a!.transport.sendSnapshot(2, slowly());
    expect(Buffer.from(b!.recorder.snapshots[0]!.snapshot!.data).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses a corrupted snapshot before its handler sees the last chunk', async () => {
    const [a, b] = await startMesh([1, 2]);
    const seen: number[] = [];
    let handlerError: unknown = null;
    b!.recorder.onSnapshot = async (_from, stream) => {
      try {
        for await (const chunk of stream) seen.push(chunk.offset);
      } catch (error) {
        handlerError = error;
        throw error;
      }
    };
    const { chunks } = snapshotChunks(1, 2, 1024 * 1024, 128 * 1024);
    const corrupted = chunks.map((c, i) => (i === 3 ? { ...c, data: flipOneByte(c.data) } : c));
    const failure = await a!.transport.sendSnapshot(2, corrupted).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransportError);
    expect((failure as TransportError).code).toBe('SNAPSHOT_REFUSED');
    expect((failure as TransportError).message).toMatch(/CHECKSUM_MISMATCH/);
    expect(handlerError).not.toBeNull();
    expect(seen).toHaveLength(chunks.length - 1); // the last chunk was held back
    expect(b!.transport.metrics.snapshotsRefused).toBe(1);
  });

  it('refuses chunks out of order, a truncated transfer, and one addressed to another node', async () => {
    const [a, b] = await startMesh([1, 2]);
    const { chunks } = snapshotChunks(1, 2, 400_000, 100_000);
    const swapped = [chunks[0]!, chunks[2]!, chunks[1]!, ...chunks.slice(3)];
    await expect(a!.transport.sendSnapshot(2, swapped)).rejects.toThrow(/OUT_OF_ORDER/);
    await expect(a!.transport.sendSnapshot(2, chunks.slice(0, -1))).rejects.toThrow(/SIZE_MISMATCH/);
    const misaddressed = snapshotChunks(1, 3, 1000, 500).chunks;
    await expect(a!.transport.sendSnapshot(2, misaddressed)).rejects.toThrow(/addressed to node 3/);
    expect(b!.recorder.snapshots).toHaveLength(0);
    // The handler's own refusal travels back as the reason.
    b!.recorder.onSnapshot = async () => {
      throw Object.assign(new Error('group 7 is not on this host'), { code: 'NO_SUCH_GROUP' });
    };
    await expect(a!.transport.sendSnapshot(2, chunks)).rejects.toThrow(/NO_SUCH_GROUP: group 7 is not on this host/);
  });

  it('limits concurrent inbound installs and refuses beyond the limit', async () => {
    const [a, b] = await startMesh([1, 2], { maxConcurrentSnapshotInstalls: 2 });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    b!.recorder.onSnapshot = async (_from, stream) => {
      started++;
      await released;
      for await (const chunk of stream) void chunk;
    };
    const transfer = () => a!.transport.sendSnapshot(2, snapshotChunks(1, 2, 50_000, 10_000).chunks);
    const first = transfer();
    const second = transfer();
    await waitFor(() => started === 2, 5000, 'two installs in progress');
    await expect(transfer()).rejects.toThrow(/busy/);
    expect(started).toBe(2);
    release();
    await Promise.all([first, second]);
    // With the slots free again, a new transfer is taken.
    await transfer();
    expect(started).toBe(3);
    expect(b!.transport.metrics.snapshotsRefused).toBe(1);
    expect(b!.transport.metrics.snapshotsReceived).toBe(3);
  }, 30_000);
});

function flipOneByte(data: Uint8Array): Uint8Array {
  const copy = new Uint8Array(data);
  copy[17] = copy[17]! ^ 0xff;
  return copy;
}
