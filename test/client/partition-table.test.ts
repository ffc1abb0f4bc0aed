import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetaServerClient, PartitionTable, RoutingError, grpcTarget, isKnownPeerAddress, parsePeerAddress, placementOrder, type PartitionRoute } from '../../src/client/index.ts';
import { PartitionStatus, type PartitionInfo } from '../../src/proto/index.ts';
import { Random } from '../../src/testing/random.ts';

const PEERS_A = ['10.0.0.1:6700:0', '10.0.0.2:6700:0', '10.0.0.3:6700:0'];
const PEERS_B = ['10.0.0.4:6700:0', '10.0.0.5:6700:0', '10.0.0.6:6700:0'];

function info(fsId: number, partitionId: number, start: number, end: number, extra: Partial<PartitionInfo> = {}): PartitionInfo {
  return { fsId, poolId: 1, copysetId: partitionId % 2, partitionId, start, end, status: PartitionStatus.READWRITE, fileType2inodeNum: new Map(), ...extra };
}

function route(partition: PartitionInfo): PartitionRoute {
  return { partition, peers: partition.copysetId === 0 ? PEERS_A : PEERS_B };
}

/** Disjoint ranges from a list of (gap, length) pairs, laid out left to right from `origin`. */
function layout(fsId: number, spans: readonly [number, number][], origin = 0): PartitionInfo[] {
  let next = origin;
  return spans.map(([gap, length], i) => {
    const start = next + gap;
    next = start + length;
    return info(fsId, fsId * 1000 + i, start, start + length - 1);
  });
}

const spansArbitrary = fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 12 });

describe('PartitionTable routing', () => {
  it('every id in a range routes to that partition; every id outside all ranges is NO_PARTITION', () => {
    fc.assert(
      fc.property(spansArbitrary, spansArbitrary, fc.integer({ min: 0, max: 2 ** 40 }), (spansOne, spansTwo, origin) => {
        const fsOne = layout(1, spansOne, origin);
        const fsTwo = layout(2, spansTwo, origin);
        // Given in a scrambled order: the table sorts.
        const table = new PartitionTable([...fsTwo, ...fsOne].reverse().map(route));
        const last = Math.max(...[...fsOne, ...fsTwo].map((p) => p.end));
        const wrong: string[] = [];
        for (let id = Math.max(0, origin - 3); id <= last + 3; id++) {
          const owner = fsOne.find((p) => p.start <= id && id <= p.end);
          const routed = table.findPartition(1, id);
          if (routed?.partitionId !== owner?.partitionId) wrong.push(`fs 1 inode ${id} -> ${routed?.partitionId}`);
          // A dentry lives with its parent.
          if (owner !== undefined && table.partitionOfDentry(1, id) !== routed) wrong.push(`fs 1 dentry of ${id}`);
          // The other file system's ranges never answer for fs 1, nor fs 1's for fs 2.
          const otherOwner = fsTwo.find((p) => p.start <= id && id <= p.end);
          if (table.findPartition(2, id)?.partitionId !== otherOwner?.partitionId) wrong.push(`fs 2 inode ${id}`);
        }
        expect(wrong).toEqual([]);
        // Outside every range: a RoutingError, not a wrong partition.
        const gap = fsOne.find((p, i) => i === 0 ? p.start > 0 : p.start > fsOne[i - 1]!.end + 1);
        const outside = gap !== undefined ? gap.start - 1 : last + 1;
        if (table.findPartition(1, outside) === undefined) expect(() => table.partitionOfInode(1, outside)).toThrow(RoutingError);
      }),
    );
  });

  it('names the fs and the id when nothing holds it', () => {
    const table = new PartitionTable([route(info(7, 1, 100, 199))]);
    expect(() => table.partitionOfInode(7, 200)).toThrow(/NO_PARTITION: no partition of fs 7 holds inode 200/);
    expect(() => table.partitionOfInode(8, 150)).toThrow(/fs 8/);
    try {
      table.partitionOfInode(7, 99);
    } catch (error) {
      expect((error as RoutingError).code).toBe('NO_PARTITION');
    }
  });

  it('refuses overlapping ranges, inverted ranges, duplicate ids and bad peer addresses', () => {
    expect(() => new PartitionTable([route(info(1, 1, 0, 10)), route(info(1, 3, 10, 20))])).toThrow(/overlap/);
    expect(() => new PartitionTable([route(info(1, 1, 5, 4))])).toThrow(/start 5 > end 4/);
    expect(() => new PartitionTable([route(info(1, 1, 0, 4)), route(info(2, 1, 10, 14))])).toThrow(/appears twice/);
    expect(() => new PartitionTable([{ partition: info(1, 1, 0, 4), peers: ['10.0.0.1:6700'] }])).toThrow(/ip:port:index/);
    expect(() => new PartitionTable([{ partition: info(1, 1, 0, 4), peers: [] }])).toThrow(/no peers/);
    // Two partitions of one copyset that disagree about its peers.
    expect(() => new PartitionTable([route(info(1, 1, 0, 4)), { partition: info(1, 3, 5, 9), peers: PEERS_A }])).toThrow(/disagree/);
    // Same ranges in different file systems are fine.
    expect(() => new PartitionTable([route(info(1, 1, 0, 10)), route(info(2, 3, 0, 10))])).not.toThrow();
  });

  it('knows each copyset\'s peers and lets them be replaced (membership change)', () => {
    const table = new PartitionTable([route(info(1, 1, 0, 10)), route(info(1, 2, 11, 20))]);
    expect(table.copyset(1, 1).peers).toEqual(PEERS_B);
    expect(table.copyset(1, 0).peers).toEqual(PEERS_A);
    expect(() => table.copyset(1, 9)).toThrow(/UNKNOWN_COPYSET/);
    table.setCopysetPeers(1, 1, ['10.0.0.9:6700:0']);
    expect(table.copysetOf(table.partitionOfInode(1, 5)).peers).toEqual(['10.0.0.9:6700:0']);
  });
});

describe('placement of a new inode', () => {
  const partitions = [
    info(1, 1, 0, 99),
    info(1, 2, 100, 199),
    info(1, 3, 200, 299, { status: PartitionStatus.READONLY }),
    info(1, 4, 300, 399),
    info(1, 5, 400, 499, { nextId: 500 }), // no ids left
    info(2, 6, 0, 99), // another file system
  ];

  it('prefers the parent\'s partition, then the other writable partitions of the fs in a seeded order', () => {
    const table = new PartitionTable(partitions.map(route));
    const random = new Random(1);
    const order = placementOrder(table, 1, 150, () => random.next()).map((p) => p.partitionId);
    expect(order[0]).toBe(2);
    expect([...order].sort()).toEqual([1, 2, 4]);
    // Deterministic for a seed, and the tail is shuffled across seeds.
    const tailOf = (seed: number) => {
      const random = new Random(seed);
      return placementOrder(table, 1, 450, () => random.next()).map((p) => p.partitionId).join(',');
    };
    expect(tailOf(5)).toBe(tailOf(5));
    const tails = new Set(Array.from({ length: 30 }, (_, seed) => tailOf(seed)));
    expect(tails.size).toBeGreaterThan(1);
    for (const tail of tails) expect(tail.split(',').sort()).toEqual(['1', '2', '4']);
  });

  it('skips a partition marked full after PARTITION_ALLOC_ID_FAIL', () => {
    const table = new PartitionTable(partitions.map(route));
    table.markFull(2);
    const random = new Random(3);
    const order = placementOrder(table, 1, 150, () => random.next()).map((p) => p.partitionId);
    expect(order).not.toContain(2);
    expect([...order].sort()).toEqual([1, 4]);
  });
});

describe('reading the table from the cluster (PartitionTableSource hook)', () => {
  it('refreshPartitions replaces one file system\'s rows and keeps the others', async () => {
    const loads: number[] = [];
    const client = new MetaServerClient({
      partitions: [route(info(1, 1, 0, 99)), route(info(2, 3, 0, 99))],
      partitionSource: {
        load: async (fsId) => {
          loads.push(fsId);
          return [route(info(1, 5, 0, 49)), route(info(1, 7, 50, 199))];
        },
      },
      transport: { unary: async () => Promise.reject(new Error('no calls expected')), close: () => undefined },
    });
    expect(() => client.partitions.partitionOfInode(1, 150)).toThrow(RoutingError);
    await client.refreshPartitions(1);
    expect(loads).toEqual([1]);
    expect(client.partitions.partitionOfInode(1, 150).partitionId).toBe(7);
    expect(client.partitions.partitionOfInode(1, 10).partitionId).toBe(5);
    expect(client.partitions.partitionOfInode(2, 10).partitionId).toBe(3);
    expect(client.partitions.partition(1)).toBeUndefined();
    client.close();
  });

  it('without a source, refreshPartitions says so', async () => {
    const client = new MetaServerClient({ partitions: [route(info(1, 1, 0, 99))], transport: { unary: async () => ({}) as never, close: () => undefined } });
    await expect(client.refreshPartitions(1)).rejects.toThrow(/no partitionSource/);
  });
});

describe('peer addresses', () => {
  it('parse ip:port:index, IPv6 included, and map to the gRPC target of the process', () => {
    expect(parsePeerAddress('10.1.2.3:6700:2')).toEqual({ ip: '10.1.2.3', port: 6700, index: 2 });
    expect(parsePeerAddress('[::1]:6700:0')).toEqual({ ip: '::1', port: 6700, index: 0 });
    expect(grpcTarget('10.1.2.3:6700:2')).toBe('10.1.2.3:6700');
    expect(grpcTarget('::1:6700:0')).toBe('[::1]:6700');
    for (const bad of ['10.1.2.3:6700', ':6700:0', '10.1.2.3:x:0', '10.1.2.3:70000:0', '10.1.2.3:6700:-1']) {
      expect(() => parsePeerAddress(bad)).toThrow(RoutingError);
    }
  });

  it('an unknown leader (empty, 0.0.0.0:0:0) is not a peer', () => {
    expect(isKnownPeerAddress('')).toBe(false);
    expect(isKnownPeerAddress(undefined)).toBe(false);
    expect(isKnownPeerAddress('0.0.0.0:0:0')).toBe(false);
    expect(isKnownPeerAddress('10.0.0.1:6700:0')).toBe(true);
  });
});
