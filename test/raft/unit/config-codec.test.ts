import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeConfigChange, encodeConfigChange } from '../../../src/raft/config-codec.ts';
import { RaftError } from '../../../src/raft/errors.ts';
import type { ConfigChange } from '../../../src/raft/types.ts';

const SEED = 4242;

function refused(data: Uint8Array): RaftError {
  try {
    decodeConfigChange(data);
  } catch (e) {
    expect(e).toBeInstanceOf(RaftError);
    return e as RaftError;
  }
  throw new Error('decode accepted a bad payload');
}

describe('config-codec', () => {
  it('round-trips every change type and node id up to MAX_SAFE_INTEGER', () => {
    const change = fc.record({
      type: fc.constantFrom<ConfigChange['type']>('add-learner', 'promote', 'remove'),
      node: fc.oneof(fc.integer({ min: 1, max: 2 ** 32 + 5 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    });
    fc.assert(
      fc.property(change, (c) => {
        expect(decodeConfigChange(encodeConfigChange(c))).toEqual(c);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('has a fixed little-endian layout (it is written to disk and the wire)', () => {
    expect([...encodeConfigChange({ type: 'promote', node: 0x0102_0304_0506 })]).toEqual([2, 6, 5, 4, 3, 2, 1, 0, 0]);
    expect([...encodeConfigChange({ type: 'add-learner', node: 1 })]).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect([...encodeConfigChange({ type: 'remove', node: 2 ** 32 })]).toEqual([3, 0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('decodes from a view into a larger buffer', () => {
    const big = new Uint8Array(20).fill(0xee);
    big.set(encodeConfigChange({ type: 'remove', node: 77 }), 5);
    expect(decodeConfigChange(big.subarray(5, 14))).toEqual({ type: 'remove', node: 77 });
  });

  it('refuses bad payloads with CONFIG_CHANGE_REFUSED', () => {
    const good = encodeConfigChange({ type: 'remove', node: 3 });
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      good.subarray(0, 8),
      new Uint8Array([...good, 0]),
      Uint8Array.from([0, ...good.subarray(1)]), // type code 0
      Uint8Array.from([4, ...good.subarray(1)]), // unknown type
      Uint8Array.from([255, ...good.subarray(1)]),
      Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]), // node 0 is "none"
      Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0x20, 0]), // 2^53: not a safe integer
      Uint8Array.from([1, 255, 255, 255, 255, 255, 255, 255, 255]),
    ];
    for (const data of bad) expect(refused(data).code).toBe('CONFIG_CHANGE_REFUSED');
  });

  it('refuses random garbage unless it is exactly a valid encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (data) => {
        let decoded: ConfigChange | null = null;
        try {
          decoded = decodeConfigChange(data);
        } catch (e) {
          expect((e as RaftError).code).toBe('CONFIG_CHANGE_REFUSED');
          return;
        }
        expect([...encodeConfigChange(decoded)]).toEqual([...data]);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
