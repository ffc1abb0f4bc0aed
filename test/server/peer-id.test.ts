/** Address ↔ node id: invertible, canonical, and refusing what it cannot encode. */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { MAX_POOL_ID, addressOfNodeId, canonicalPeerAddress, copysetOfGroupId, groupIdOf, nodeIdOfAddress, nodeIdOfPeer, peerOfNodeId } from '../../src/server/peer-id.ts';

test('every ip:port:index maps to a safe positive id and back', () => {
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 31 }), (ip, port, index) => {
      const address = `${ip}:${port}:${index}`;
      const id = nodeIdOfAddress(address);
      expect(Number.isSafeInteger(id) && id > 0).toBe(true);
      expect(addressOfNodeId(id)).toBe(address);
    }),
  );
  expect(nodeIdOfAddress('255.255.255.255:65535:31')).toBe(Number.MAX_SAFE_INTEGER);
});

test('distinct addresses get distinct ids; ip:port means index 0', () => {
  expect(nodeIdOfAddress('127.0.0.1:6701:0')).not.toBe(nodeIdOfAddress('127.0.0.1:6702:0'));
  expect(nodeIdOfAddress('127.0.0.1:6701:0')).not.toBe(nodeIdOfAddress('127.0.0.1:6701:1'));
  expect(nodeIdOfAddress('127.0.0.1:6701')).toBe(nodeIdOfAddress('127.0.0.1:6701:0'));
  expect(canonicalPeerAddress('10.0.0.1:80')).toBe('10.0.0.1:80:0');
});

test('malformed addresses are refused', () => {
  for (const bad of ['', 'host:80:0', '1.2.3:80:0', '1.2.3.256:80:0', '01.2.3.4:80:0', '1.2.3.4:0:0', '1.2.3.4:70000:0', '1.2.3.4:80:32', '1.2.3.4:80:0:1', '[::1]:80:0']) {
    expect(() => nodeIdOfAddress(bad), bad).toThrow(/peer address/);
  }
  expect(() => addressOfNodeId(5)).toThrow(); // port 0
});

test('a Peer is named by its address; an id alone must be of the encoding', () => {
  const id = nodeIdOfAddress('10.1.2.3:9000:0');
  expect(nodeIdOfPeer({ id: 42, address: '10.1.2.3:9000:0' })).toBe(id);
  expect(nodeIdOfPeer({ id })).toBe(id);
  expect(() => nodeIdOfPeer({ id: 3 })).toThrow();
  expect(peerOfNodeId(0).address).toBe('0.0.0.0:0:0');
  expect(peerOfNodeId(id)).toEqual({ id, address: '10.1.2.3:9000:0' });
});

test('copyset ids map to u32 group ids and back', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_POOL_ID }), fc.integer({ min: 1, max: 2 ** 20 - 1 }), (poolId, copysetId) => {
      const group = groupIdOf(poolId, copysetId)!;
      expect(group).toBeGreaterThan(0);
      expect(group).toBeLessThan(2 ** 32);
      expect(copysetOfGroupId(group)).toEqual({ poolId, copysetId });
    }),
  );
  expect(groupIdOf(0, 0)).toBeNull();
  expect(groupIdOf(MAX_POOL_ID + 1, 1)).toBeNull();
  expect(groupIdOf(1, 2 ** 20)).toBeNull();
});
