import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { WireFormatError, messageCodec } from '../../src/proto/index.ts';
import type { Entry, Message, MessageType } from '../../src/raft/types.ts';
import {
  decodeRaftBatch,
  decodeRaftMessage,
  encodeRaftBatch,
  encodeRaftMessage,
  type RaftMessageBatch,
} from '../../src/transport/raft-codec.ts';

const MESSAGE_TYPES: readonly MessageType[] = [
  'append',
  'append-response',
  'heartbeat',
  'heartbeat-response',
  'pre-vote',
  'pre-vote-response',
  'vote',
  'vote-response',
  'snapshot',
  'snapshot-response',
  'timeout-now',
];

// Edge values matter more than spread: 0 and the largest safe integer are both legal.
const safeNat = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER));

const entryArbitrary: fc.Arbitrary<Entry> = fc.record({
  term: safeNat,
  index: safeNat,
  type: fc.constantFrom('normal' as const, 'config' as const),
  data: fc.uint8Array({ maxLength: 32 }),
});

const snapshotArbitrary = fc.record({
  metadata: fc.record({
    index: safeNat,
    term: safeNat,
    config: fc.record({
      voters: fc.array(safeNat, { maxLength: 5 }),
      learners: fc.array(safeNat, { maxLength: 3 }),
      epoch: safeNat,
    }),
  }),
  data: fc.uint8Array({ maxLength: 64 }),
});

const messageArbitrary: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...MESSAGE_TYPES),
  from: safeNat,
  to: safeNat,
  term: safeNat,
  logTerm: safeNat,
  index: safeNat,
  entries: fc.array(entryArbitrary, { maxLength: 4 }),
  commit: safeNat,
  reject: fc.boolean(),
  rejectHint: safeNat,
  snapshot: fc.option(snapshotArbitrary, { nil: null }),
  context: fc.string({ unit: 'grapheme', maxLength: 16 }),
});

const emptyMessage: Message = {
  type: 'heartbeat',
  from: 1,
  to: 2,
  term: 3,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 0,
  reject: false,
  rejectHint: 0,
  snapshot: null,
  context: '',
};

function wireError(action: () => unknown): WireFormatError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(WireFormatError);
    return error as WireFormatError;
  }
  throw new Error('expected a WireFormatError');
}

describe('raft codec', () => {
  it('decode(encode(m)) equals m for random messages', () => {
    fc.assert(
      fc.property(messageArbitrary, (message) => {
        expect(decodeRaftMessage(encodeRaftMessage(message))).toEqual(message);
      }),
      { numRuns: 300 },
    );
  });

  it('decode(encode(batch)) equals batch for random batches of many groups', () => {
    const batchArbitrary: fc.Arbitrary<RaftMessageBatch> = fc.record({
      fromNode: safeNat,
      toNode: safeNat,
      sequence: safeNat,
      messages: fc.array(fc.record({ groupId: safeNat, message: messageArbitrary }), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(batchArbitrary, (batch) => {
        expect(decodeRaftBatch(encodeRaftBatch(batch))).toEqual(batch);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps an empty snapshot distinct from no snapshot, and data as plain Uint8Array copies', () => {
    const withEmptySnapshot: Message = {
      ...emptyMessage,
      type: 'snapshot',
      snapshot: { metadata: { index: 0, term: 0, config: { voters: [], learners: [], epoch: 0 } }, data: new Uint8Array() },
    };
    expect(decodeRaftMessage(encodeRaftMessage(withEmptySnapshot))).toEqual(withEmptySnapshot);
    expect(decodeRaftMessage(encodeRaftMessage(emptyMessage)).snapshot).toBeNull();

    const bytes = encodeRaftMessage({ ...emptyMessage, entries: [{ term: 1, index: 1, type: 'normal', data: Uint8Array.of(9) }] });
    const entry = decodeRaftMessage(bytes).entries[0]!;
    expect(Object.getPrototypeOf(entry.data)).toBe(Uint8Array.prototype);
    expect(entry.data.buffer).not.toBe(bytes.buffer);
  });

  it('refuses numbers the wire cannot carry exactly', () => {
    expect(wireError(() => encodeRaftMessage({ ...emptyMessage, term: 2 ** 53 })).code).toBe('UNSAFE_INTEGER');
    expect(wireError(() => encodeRaftMessage({ ...emptyMessage, commit: -1 })).code).toBe('INVALID_FIELD');
    const LongClass = protobuf.util.Long as unknown as { fromString(text: string, unsigned?: boolean): protobuf.Long };
    const tooBig = protobuf.Writer.create()
      .uint32((1 << 3) | 0).int32(3) // heartbeat
      .uint32((4 << 3) | 0).uint64(LongClass.fromString('9007199254740992', true)) // term
      .finish();
    const error = wireError(() => decodeRaftMessage(tooBig));
    expect(error.code).toBe('UNSAFE_INTEGER');
    expect(error.fieldPath).toBe('term');
  });

  it('refuses message and entry types it does not know', () => {
    const wire = messageCodec('metaraft.raft.Message');
    const base = messageCodec('metaraft.raft.Message').decode(encodeRaftMessage(emptyMessage));
    // proto3 enums are open: the codec passes 42 through and the Raft gate must refuse it.
    const unknown = protobuf.Writer.create().uint32((1 << 3) | 0).int32(42).finish();
    expect(wireError(() => decodeRaftMessage(unknown)).code).toBe('UNKNOWN_ENUM');
    const unspecified = wire.encode({ ...base, type: 0 });
    expect(wireError(() => decodeRaftMessage(unspecified)).code).toBe('UNKNOWN_ENUM');
    const badEntry = wire.encode({ ...base, entries: [{ term: 1, index: 1, type: 0, data: new Uint8Array() }] });
    const entryError = wireError(() => decodeRaftMessage(badEntry));
    expect(entryError.code).toBe('UNKNOWN_ENUM');
    expect(entryError.fieldPath).toBe('entries[0].type');
    expect(wireError(() => encodeRaftMessage({ ...emptyMessage, type: 'bogus' as MessageType })).code).toBe(
      'UNKNOWN_ENUM',
    );
  });

  it('refuses a snapshot without metadata and a batch item without a message', () => {
    const wire = messageCodec('metaraft.raft.Message');
    const base = wire.decode(encodeRaftMessage(emptyMessage));
    const noMetadata = wire.encode({ ...base, type: 9, snapshot: { data: Uint8Array.of(1) } });
    expect(wireError(() => decodeRaftMessage(noMetadata)).code).toBe('INVALID_FIELD');

    const batch = messageCodec('metaraft.raft.RaftBatch').encode({
      from_node: 1,
      to_node: 2,
      sequence: 1,
      messages: [{ group_id: 7 }],
    });
    const error = wireError(() => decodeRaftBatch(batch));
    expect(error.code).toBe('INVALID_FIELD');
    expect(error.fieldPath).toBe('messages[0].message');
  });
});
