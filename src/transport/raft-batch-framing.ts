/**
 * Outbound RaftBatch bytes. A batch is encoded once, when it is sent, without its
 * sequence number: the number is only known when the batch is written to a stream
 * (numbers restart from 1 on every stream, and queued batches may be dropped first).
 * Protobuf merges concatenated encodings of one message, so appending the encoding of
 * field 3 alone completes the batch without re-encoding its messages.
 */
import type { Envelope } from '../host/interfaces.ts';
import { invariant } from '../raft/errors.ts';
import type { NodeId } from '../raft/types.ts';
import { encodeRaftBatch } from './raft-codec.ts';

/** Tag of RaftBatch.sequence: field 3, wire type 0 (varint). */
const SEQUENCE_TAG = (3 << 3) | 0;
/** A varint of a safe integer takes at most 8 bytes (53 bits / 7), plus the tag byte. */
const MAX_SEQUENCE_SUFFIX_BYTES = 9;

/** One encoded batch waiting to be written: everything but its sequence number. */
export interface EncodedBatch {
  readonly body: Uint8Array;
  readonly messageCount: number;
}

/** The result of encoding one send(): batches in order, and messages too big to send at all. */
export interface EncodedSend {
  readonly batches: readonly EncodedBatch[];
  readonly oversizedMessages: number;
}

/**
 * Encodes the envelopes for `toNode` as one batch, or as several consecutive batches
 * (order kept) when one would exceed `maxBatchBytes`. A single message larger than the
 * limit cannot travel and is counted instead (the host must bound its appends).
 * Throws WireFormatError for a message the wire cannot carry (a bug upstream).
 */
export function encodeBatches(fromNode: NodeId, toNode: NodeId, envelopes: readonly Envelope[], maxBatchBytes: number): EncodedSend {
  const batches: EncodedBatch[] = [];
  let oversizedMessages = 0;
  const encodeRange = (from: number, to: number): void => {
    const slice = envelopes.slice(from, to);
    const body = encodeRaftBatch({ fromNode, toNode, sequence: 0, messages: slice.map((e) => ({ groupId: e.group, message: e.message })) });
    if (body.length + MAX_SEQUENCE_SUFFIX_BYTES <= maxBatchBytes) {
      batches.push({ body, messageCount: slice.length });
    } else if (to - from === 1) {
      oversizedMessages++;
    } else {
      // Halving keeps the number of re-encodings logarithmic in the batch size.
      const middle = from + Math.ceil((to - from) / 2);
      encodeRange(from, middle);
      encodeRange(middle, to);
    }
  };
  encodeRange(0, envelopes.length);
  if (envelopes.length === 0) invariant(batches.length === 1, 'an empty batch (keepalive) always fits');
  return { batches, oversizedMessages };
}

/** The complete batch bytes: `body` followed by RaftBatch.sequence = `sequence`. */
export function withSequence(body: Uint8Array, sequence: number): Buffer {
  invariant(Number.isSafeInteger(sequence) && sequence > 0, `batch sequence numbers are positive safe integers, got ${sequence}`);
  const out = Buffer.allocUnsafe(body.length + MAX_SEQUENCE_SUFFIX_BYTES);
  out.set(body, 0);
  let at = body.length;
  out[at++] = SEQUENCE_TAG;
  let rest = sequence;
  // Division, not bit shifts: shifts would truncate to 32 bits.
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return out.subarray(0, at);
}
