import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newMessage } from '../../src/raft/messages.ts';
import { SnapshotAssembler, SnapshotTransferError, splitSnapshot } from '../../src/transport/snapshot-chunks.ts';

const metadata = { index: 42, term: 3, config: { voters: [1, 2, 3], learners: [], epoch: 1 } };
const snapshotMessage = (data: Uint8Array) =>
  newMessage({ type: 'snapshot', from: 1, to: 2, term: 3, snapshot: { metadata, data } });

describe('snapshot chunks', () => {
  it('reassembles exactly the bytes that were split, for any size and chunk size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 }), (data, chunkBytes) => {
        const chunks = splitSnapshot(7, snapshotMessage(data), chunkBytes);
        expect(chunks.length).toBe(Math.max(1, Math.ceil(data.length / chunkBytes)));
        const assembler = new SnapshotAssembler();
        const results = chunks.map((c) => assembler.accept(c));
        expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
        const m = results.at(-1)!;
        expect(m.snapshot!.metadata).toEqual(metadata);
        expect(Buffer.from(m.snapshot!.data).equals(Buffer.from(data))).toBe(true);
      }),
    );
  });

  it('refuses a lost chunk instead of yielding a partial snapshot', () => {
    const chunks = splitSnapshot(7, snapshotMessage(new Uint8Array(300).fill(9)), 100);
    const assembler = new SnapshotAssembler();
    assembler.accept(chunks[0]!);
    expect(() => assembler.accept(chunks[2]!)).toThrow(SnapshotTransferError);
  });

  it('refuses a corrupted chunk by checksum', () => {
    const chunks = splitSnapshot(7, snapshotMessage(new Uint8Array(300).fill(9)), 100);
    const bad = { ...chunks[1]!, data: new Uint8Array(100).fill(8) };
    const assembler = new SnapshotAssembler();
    assembler.accept(chunks[0]!);
    assembler.accept(bad);
    expect(() => assembler.accept(chunks[2]!)).toThrowError(/checksum/);
  });

  it('restarts cleanly when a new transfer begins after a failed one', () => {
    const chunks = splitSnapshot(7, snapshotMessage(new Uint8Array(250).fill(1)), 100);
    const assembler = new SnapshotAssembler();
    assembler.accept(chunks[0]!);
    expect(() => assembler.accept(chunks[2]!)).toThrow();
    for (const c of chunks.slice(0, -1)) expect(assembler.accept(c)).toBeNull();
    expect(assembler.accept(chunks.at(-1)!)!.snapshot!.data.length).toBe(250);
  });
});
