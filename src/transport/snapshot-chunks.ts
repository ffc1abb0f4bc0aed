import { crc32c } from '@node-rs/crc32';
import { newMessage } from '../raft/messages.ts';
import type { GroupId, Message, SnapshotMetadata } from '../raft/types.ts';

/**
 * InstallSnapshot in chunks (§7): a snapshot message is cut into chunks that travel on
 * their own stream; the receiver reassembles them in order and hands the core one
 * complete snapshot message, or nothing. A lost, duplicated, reordered or corrupted
 * chunk never yields a partial snapshot: the transfer is refused and the leader retries
 * after the core is told (reportSnapshot) or times out.
 */

/** Bytes per chunk: small enough for one gRPC message, large enough to amortize framing. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export interface SnapshotChunk {
  readonly group: GroupId;
  readonly from: number;
  readonly to: number;
  readonly term: number;
  readonly metadata: SnapshotMetadata;
  /** Byte offset of `data` in the whole snapshot payload. */
  readonly offset: number;
  readonly data: Uint8Array;
  readonly totalBytes: number;
  readonly last: boolean;
  /** CRC32C of the whole payload; carried by every chunk, checked on the last. */
  readonly checksum: number;
}

export type SnapshotTransferErrorCode = 'OUT_OF_ORDER' | 'CHECKSUM_MISMATCH' | 'SIZE_MISMATCH' | 'NOT_A_SNAPSHOT';

export class SnapshotTransferError extends Error {
  readonly code: SnapshotTransferErrorCode;
  constructor(code: SnapshotTransferErrorCode, message: string) {
    super(message);
    this.name = 'SnapshotTransferError';
    this.code = code;
  }
}

export function splitSnapshot(group: GroupId, m: Message, chunkBytes = DEFAULT_SNAPSHOT_CHUNK_BYTES): SnapshotChunk[] {
  if (m.type !== 'snapshot' || m.snapshot === null) throw new SnapshotTransferError('NOT_A_SNAPSHOT', `cannot split a ${m.type} message`);
  if (!(chunkBytes >= 1)) throw new SnapshotTransferError('SIZE_MISMATCH', `chunk size ${chunkBytes} must be >= 1`);
  const { metadata, data } = m.snapshot;
  const checksum = crc32c(data);
  const chunks: SnapshotChunk[] = [];
  let offset = 0;
  do {
    const end = Math.min(data.length, offset + chunkBytes);
    chunks.push({
      group,
      from: m.from,
      to: m.to,
      term: m.term,
      metadata,
      offset,
      data: data.subarray(offset, end),
      totalBytes: data.length,
      last: end === data.length,
      checksum,
    });
    offset = end;
  } while (offset < data.length);
  return chunks;
}

/** Reassembles one transfer at a time per (group, sender); a new snapshot restarts it. */
export class SnapshotAssembler {
  private readonly transfers = new Map<string, { first: SnapshotChunk; parts: Uint8Array[]; received: number }>();

  /** Returns the complete snapshot message on the last chunk, null before; throws on a bad chunk. */
  accept(chunk: SnapshotChunk): Message | null {
    const key = `${chunk.group}/${chunk.from}`;
    let transfer = this.transfers.get(key);
    if (chunk.offset === 0) {
      transfer = { first: chunk, parts: [], received: 0 };
      this.transfers.set(key, transfer);
    }
    if (transfer === undefined || !sameTransfer(transfer.first, chunk) || chunk.offset !== transfer.received) {
      this.transfers.delete(key);
      throw new SnapshotTransferError('OUT_OF_ORDER', `chunk at offset ${chunk.offset} of group ${chunk.group} from ${chunk.from} is out of order`);
    }
    transfer.parts.push(chunk.data);
    transfer.received += chunk.data.length;
    if (transfer.received > chunk.totalBytes) {
      this.transfers.delete(key);
      throw new SnapshotTransferError('SIZE_MISMATCH', `received ${transfer.received} bytes of a ${chunk.totalBytes}-byte snapshot`);
    }
    if (!chunk.last) return null;
    this.transfers.delete(key);
    if (transfer.received !== chunk.totalBytes) {
      throw new SnapshotTransferError('SIZE_MISMATCH', `snapshot ended at ${transfer.received} of ${chunk.totalBytes} bytes`);
    }
    const data = concat(transfer.parts, transfer.received);
    if (crc32c(data) !== chunk.checksum) {
      throw new SnapshotTransferError('CHECKSUM_MISMATCH', `snapshot of group ${chunk.group} from ${chunk.from} failed its checksum`);
    }
    return newMessage({
      type: 'snapshot',
      from: chunk.from,
      to: chunk.to,
      term: chunk.term,
      snapshot: { metadata: chunk.metadata, data },
    });
  }
}

function sameTransfer(a: SnapshotChunk, b: SnapshotChunk): boolean {
  return (
    a.term === b.term &&
    a.metadata.index === b.metadata.index &&
    a.metadata.term === b.metadata.term &&
    a.totalBytes === b.totalBytes &&
    a.checksum === b.checksum
  );
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
