/**
 * Snapshot chunks on the InstallSnapshot stream: their wire form, and the gate every
 * inbound transfer passes. The gate checks what the transport can check on its own
 * (addressing, order, size, checksum) while the chunks stream through, so that a
 * corrupted transfer fails before its last chunk reaches the handler; the handler may
 * check again (SnapshotAssembler does).
 */
import { crc32c } from '@node-rs/crc32';
import type { SnapshotChunk as WireSnapshotChunk } from '../proto/index.ts';
import type { NodeId } from '../raft/types.ts';
import { snapshotMetadataFromWire, snapshotMetadataToWire } from './raft-codec.ts';
import type { InboundChunk } from './raft-transport-rpc.ts';
import { SnapshotTransferError, type SnapshotChunk } from './snapshot-chunks.ts';

const CHUNK_TYPE = 'metaraft.raft.SnapshotChunk';
const NO_DESCRIPTOR = new Uint8Array(0);

/**
 * The wire form of a chunk. Metadata and checksum ride on every chunk (the proto allows
 * it), so the receiver never has to wait for the last chunk to know either.
 */
export function chunkToWire(chunk: SnapshotChunk): WireSnapshotChunk {
  return {
    group_id: chunk.group,
    from: chunk.from,
    to: chunk.to,
    term: chunk.term,
    metadata: snapshotMetadataToWire(chunk.metadata),
    descriptor: NO_DESCRIPTOR,
    offset: chunk.offset,
    data: chunk.data,
    last: chunk.last,
    crc32c: chunk.checksum,
    total_bytes: chunk.totalBytes,
  };
}

/** Validates one inbound transfer, chunk by chunk. */
export class InboundSnapshotGate {
  private first: SnapshotChunk | null = null;
  private received = 0;
  private runningChecksum = 0;
  private finished = false;

  constructor(
    private readonly ownNode: NodeId,
    private readonly maxChunkBytes: number,
  ) {}

  /** Bytes of payload accepted so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Whether the last chunk passed (the transfer is complete and its checksum matched). */
  get complete(): boolean {
    return this.finished;
  }

  /** The chunk a decoded wire chunk stands for; throws SnapshotTransferError or WireFormatError when refused. */
  accept(inbound: InboundChunk): SnapshotChunk {
    if (!inbound.ok) throw inbound.error;
    if (this.finished) throw new SnapshotTransferError('OUT_OF_ORDER', 'a chunk arrived after the last one');
    const chunk = this.fromWire(inbound.value);
    this.checkSameTransfer(chunk);
    if (chunk.offset !== this.received) {
      throw new SnapshotTransferError('OUT_OF_ORDER', `chunk at offset ${chunk.offset}, expected ${this.received}`);
    }
    if (chunk.data.length > this.maxChunkBytes) {
      throw new SnapshotTransferError('SIZE_MISMATCH', `chunk of ${chunk.data.length} bytes exceeds ${this.maxChunkBytes}`);
    }
    this.received += chunk.data.length;
    if (this.received > chunk.totalBytes) {
      throw new SnapshotTransferError('SIZE_MISMATCH', `received ${this.received} bytes of a ${chunk.totalBytes}-byte snapshot`);
    }
    this.runningChecksum = crc32c(chunk.data, this.runningChecksum);
    if (chunk.last) this.finish(chunk);
    return chunk;
  }

  /** Called when the stream ended: a transfer without its last chunk is refused. */
  end(): void {
    if (!this.finished) throw new SnapshotTransferError('SIZE_MISMATCH', `the transfer ended after ${this.received} bytes, before its last chunk`);
  }

  private finish(chunk: SnapshotChunk): void {
    if (this.received !== chunk.totalBytes) {
      throw new SnapshotTransferError('SIZE_MISMATCH', `snapshot ended at ${this.received} of ${chunk.totalBytes} bytes`);
    }
    if (this.runningChecksum !== chunk.checksum) {
      throw new SnapshotTransferError('CHECKSUM_MISMATCH', `snapshot of group ${chunk.group} from ${chunk.from} failed its checksum`);
    }
    this.finished = true;
  }

  private fromWire(wire: WireSnapshotChunk): SnapshotChunk {
    if (wire.to !== this.ownNode) throw new SnapshotTransferError('NOT_A_SNAPSHOT', `chunk addressed to node ${wire.to} reached node ${this.ownNode}`);
    if (wire.from <= 0 || wire.group_id <= 0) throw new SnapshotTransferError('NOT_A_SNAPSHOT', `chunk without a sender or group (from ${wire.from}, group ${wire.group_id})`);
    // The first chunk must carry the metadata; later ones may leave it out.
    const metadata =
      wire.metadata === undefined && this.first !== null
        ? this.first.metadata
        : snapshotMetadataFromWire(wire.metadata, CHUNK_TYPE, 'metadata');
    return {
      group: wire.group_id,
      from: wire.from,
      to: wire.to,
      term: wire.term,
      metadata,
      offset: wire.offset,
      data: wire.data,
      totalBytes: wire.total_bytes,
      last: wire.last,
      checksum: wire.crc32c,
    };
  }

  private checkSameTransfer(chunk: SnapshotChunk): void {
    const first = this.first;
    if (first === null) {
      this.first = chunk;
      return;
    }
    const same =
      chunk.group === first.group &&
      chunk.from === first.from &&
      chunk.term === first.term &&
      chunk.metadata.index === first.metadata.index &&
      chunk.metadata.term === first.metadata.term &&
      chunk.totalBytes === first.totalBytes &&
      chunk.checksum === first.checksum;
    if (!same) throw new SnapshotTransferError('OUT_OF_ORDER', `chunk at offset ${chunk.offset} belongs to another transfer`);
  }
}
