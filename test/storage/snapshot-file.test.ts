import fc from 'fast-check';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/raft/errors.ts';
import { crc32c } from '../../src/storage/checksum.ts';
import {
  type SnapshotFileMetadata,
  type SnapshotPair,
  SnapshotFileError,
  inspectSnapshotFile,
  readSnapshotFile,
  readSnapshotPairs,
  writeSnapshotFile,
} from '../../src/storage/snapshot-file.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metaraft-snapshot-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const metadata: SnapshotFileMetadata = {
  index: 2 ** 40 + 7,
  term: 9,
  config: { voters: [1, 2, 2 ** 33], learners: [4], epoch: 5 },
  userData: new Uint8Array([0xde, 0xad]),
};

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const smallPairs: SnapshotPair[] = [
  [bytes(1, 0, 0, 0, 1), bytes(10, 20)],
  [bytes(2, 7), bytes()],
  [bytes(3), bytes(1, 2, 3, 4, 5, 6, 7, 8, 9)],
];

function plainPairs(pairs: readonly SnapshotPair[]): number[][][] {
  return pairs.map(([k, v]) => [Array.from(k), Array.from(v)]);
}

let fileCounter = 0;
function freshPath(): string {
  return join(dir, `snap-${fileCounter++}`);
}

/** Loads a file, returning the error code (or 'ok') and how many pairs reached the caller. */
async function tryLoad(path: string): Promise<{ code: string; delivered: number; error?: SnapshotFileError }> {
  let delivered = 0;
  try {
    await readSnapshotFile(path, () => delivered++);
    return { code: 'ok', delivered };
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotFileError);
    const e = error as SnapshotFileError;
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/offset \d+/);
    return { code: e.code, delivered, error: e };
  }
}

async function writeSmall(): Promise<{ path: string; file: Buffer }> {
  const path = freshPath();
  await writeSnapshotFile(path, metadata, smallPairs);
  return { path, file: await readFile(path) };
}

/** Rewrites the checksum so that the structural checks behind it are reached. */
function reseal(file: Buffer): Buffer {
  const out = Buffer.from(file);
  out.writeUInt32LE(crc32c(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

describe('snapshot file', () => {
  it('round-trips metadata and pairs, and inspect reports them', async () => {
    const { path, file } = await writeSmall();
    const { info, pairs } = await readSnapshotPairs(path);
    expect(plainPairs(pairs)).toEqual(plainPairs(smallPairs));
    expect(info.metadata.index).toBe(metadata.index);
    expect(info.metadata.term).toBe(9);
    expect(info.metadata.config).toEqual(metadata.config);
    expect(Array.from(info.metadata.userData)).toEqual([0xde, 0xad]);
    const inspected = await inspectSnapshotFile(path);
    expect(inspected.pairCount).toBe(3);
    expect(inspected.bytes).toBe(file.length);
    expect(inspected.checksum).toBe(file.readUInt32LE(file.length - 4));
    expect(file.subarray(0, 9).toString('latin1')).toBe('METARAFT\x01');
    // End marker then checksum over everything before it.
    expect(file.readUInt32LE(file.length - 8)).toBe(0);
    expect(file.readUInt32LE(file.length - 4)).toBe(crc32c(file.subarray(0, file.length - 4)));
    expect(await readdir(dir)).not.toContain(`${path.split('/').pop()}.tmp`);
  });

  it('writes from an async iterable and carries pairs larger than its buffers', async () => {
    const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
    async function* pairs(): AsyncGenerator<SnapshotPair> {
      yield [bytes(1), bytes(1)];
      yield [bytes(2), big];
      for (let i = 0; i < 20_000; i++) yield [Buffer.from(`key-${i}`), Buffer.alloc(60, i & 0xff)];
    }
    const path = freshPath();
    const written = await writeSnapshotFile(path, metadata, pairs());
    expect(written.pairCount).toBe(20_002);
    let count = 0;
    let bigSeen = false;
    const info = await readSnapshotFile(path, (key, value) => {
      if (count === 1) bigSeen = Buffer.from(value).equals(Buffer.from(big)) && key[0] === 2;
      if (count >= 2) expect(Buffer.from(key).toString()).toBe(`key-${count - 2}`);
      count++;
    });
    expect(bigSeen).toBe(true);
    expect(count).toBe(20_002);
    expect(info.checksum).toBe(written.checksum);
  });

  it('refuses every truncation of a small file without delivering a pair', async () => {
    const { file } = await writeSmall();
    const path = freshPath();
    for (let length = 0; length < file.length; length++) {
      await writeFile(path, file.subarray(0, length));
      const { code, delivered } = await tryLoad(path);
      expect(delivered, `truncated to ${length}`).toBe(0);
      expect(['SNAPSHOT_TRUNCATED', 'SNAPSHOT_MISSING_END_MARKER', 'SNAPSHOT_BAD_MAGIC', 'SNAPSHOT_BAD_CHECKSUM'], `truncated to ${length}`).toContain(code);
      // Cut inside the magic: the file is too short, not foreign.
      if (length < 13) expect(code).toBe('SNAPSHOT_TRUNCATED');
    }
  });

  it('refuses every single bit flip without delivering a pair', async () => {
    const { file } = await writeSmall();
    const path = freshPath();
    for (let at = 0; at < file.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(file);
        flipped[at]! ^= 1 << bit;
        await writeFile(path, flipped);
        const { code, delivered } = await tryLoad(path);
        expect(code, `bit ${bit} of byte ${at}`).not.toBe('ok');
        expect(delivered).toBe(0);
        if (at < 8) expect(code).toBe('SNAPSHOT_BAD_MAGIC');
        if (at === 8) expect(code).toBe('SNAPSHOT_BAD_VERSION');
        if (at >= file.length - 4) expect(code).toBe('SNAPSHOT_BAD_CHECKSUM');
      }
    }
  });

  it('names the cause: foreign file, version, trailing garbage, missing end marker, bad metadata', async () => {
    const { file } = await writeSmall();
    const path = freshPath();
    const cases: Array<[string, Buffer, string]> = [
      ['foreign', Buffer.from('CURVEFS\x02' + 'x'.repeat(40), 'latin1'), 'SNAPSHOT_BAD_MAGIC'],
      ['empty', Buffer.alloc(0), 'SNAPSHOT_TRUNCATED'],
      ['version 2', reseal(Buffer.concat([file.subarray(0, 8), Buffer.from([2]), file.subarray(9)])), 'SNAPSHOT_BAD_VERSION'],
      ['trailing garbage', Buffer.concat([file, Buffer.from('garbage')]), 'SNAPSHOT_TRAILING_BYTES'],
      ['missing end marker', reseal(Buffer.concat([file.subarray(0, file.length - 8), Buffer.alloc(4)])), 'SNAPSHOT_MISSING_END_MARKER'],
      ['checksum cut', file.subarray(0, file.length - 2), 'SNAPSHOT_TRUNCATED'],
    ];
    // Metadata with an extra unexplained byte and a valid checksum: a writer bug, not bit rot.
    const metadataLength = file.readUInt32LE(9);
    const longer = Buffer.concat([file.subarray(0, 13 + metadataLength), Buffer.from([0]), file.subarray(13 + metadataLength)]);
    longer.writeUInt32LE(metadataLength + 1, 9);
    cases.push(['metadata', reseal(longer), 'SNAPSHOT_CORRUPT']);
    const hugeKey = Buffer.from(file);
    hugeKey.writeUInt32LE(0xffff_fff0, 13 + metadataLength);
    cases.push(['huge key length', reseal(hugeKey), 'SNAPSHOT_CORRUPT']);
    for (const [name, content, code] of cases) {
      await writeFile(path, content);
      const result = await tryLoad(path);
      expect(result.code, name).toBe(code);
      expect(result.delivered, name).toBe(0);
      await expect(inspectSnapshotFile(path), name).rejects.toThrow(SnapshotFileError);
    }
    const missing = await tryLoad(join(dir, 'does-not-exist'));
    expect(missing.code).toBe('SNAPSHOT_IO');
  });

  it('leaves the previous file in place and no temporary file when the pairs fail', async () => {
    const { path, file } = await writeSmall();
    function* failing(): Generator<SnapshotPair> {
      yield [bytes(1), bytes(2)];
      throw new Error('frozen view broke');
    }
    await expect(writeSnapshotFile(path, { ...metadata, index: 99 }, failing())).rejects.toThrow('frozen view broke');
    expect(Buffer.compare(await readFile(path), file)).toBe(0);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await expect(writeSnapshotFile(freshPath(), metadata, [[bytes(), bytes(1)]])).rejects.toThrow(InvariantError);
  });

  it('round-trips random pair sets (property)', async () => {
    const pairArb = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 24 }), fc.uint8Array({ maxLength: 100 }));
    const metaArb = fc.record({
      index: fc.maxSafeNat(),
      term: fc.maxSafeNat(),
      config: fc.record({ voters: fc.array(fc.nat(), { maxLength: 5 }), learners: fc.array(fc.nat(), { maxLength: 3 }), epoch: fc.nat() }),
      userData: fc.uint8Array({ maxLength: 16 }),
    });
    await fc.assert(
      fc.asyncProperty(metaArb, fc.array(pairArb, { maxLength: 200 }), async (meta, pairs) => {
        const path = freshPath();
        await writeSnapshotFile(path, meta, pairs);
        const { info, pairs: read } = await readSnapshotPairs(path);
        expect(plainPairs(read)).toEqual(plainPairs(pairs));
        expect({ ...info.metadata, userData: Array.from(info.metadata.userData) }).toEqual({ ...meta, userData: Array.from(meta.userData) });
        await rm(path);
      }),
      { numRuns: 60 },
    );
  });
});
