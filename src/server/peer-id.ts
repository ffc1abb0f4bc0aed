/**
 * Peer addresses ↔ Raft node ids, and copyset ids ↔ Raft group ids.
 *
 * A CurveFS peer is named by its address `"ip:port:index"` (wire.md). A Raft replica is
 * named by a NodeId, which must be the same number in every process that speaks of it
 * (in logs, configurations, messages). metaraft derives the id from the address, and
 * the encoding is invertible, so that no table has to be shared or persisted:
 *
 *     nodeId = ((ipv4 as u32) × 2^16 + port) × 2^5 + index        (IPv4, index < 32)
 *
 * which fills exactly the 53 bits of a safe integer. Any process can turn an id from a
 * Raft configuration back into the address to connect to, and a leader hint into the
 * `Peer` a client asks for. Consequences: addresses are IPv4 literals (no host names,
 * no IPv6), and a process keeps its address for life (a moved process is a new peer:
 * add the new, remove the old, as with braft). `Peer.id` in a request is ignored when
 * an address is present (a coordinator may put its own server ids there); without an
 * address it must be an id of this encoding. Responses carry both.
 *
 * A copyset `(poolId, copysetId)` is the group `poolId × 2^20 + copysetId`. CurveFS
 * computes `poolId << 32 | copysetId`, but the log store keys groups by a u32, so the
 * 32 bits are split: poolId < 2^12 (4,096 pools), copysetId < 2^20 (about a million
 * per pool; CurveFS's coordinator numbers them from 1). Other ids: COPYSET_NOTEXIST.
 */
import type { Peer } from '../proto/index.ts';
import type { GroupId, NodeId } from '../raft/types.ts';

const PORT_SPAN = 2 ** 16;
const INDEX_SPAN = 2 ** 5;
/** Largest index in `ip:port:index` (5 bits; CurveFS runs one metaserver per port, index 0). */
export const MAX_PEER_INDEX = INDEX_SPAN - 1;
const COPYSET_SPAN = 2 ** 20;
/** poolId × 2^20 + copysetId must fit the log store's u32 group id. */
export const MAX_POOL_ID = 2 ** 12 - 1;
export const MAX_COPYSET_ID = COPYSET_SPAN - 1;
/** What braft answers for "no leader known". */
export const UNKNOWN_PEER_ADDRESS = '0.0.0.0:0:0';

export class PeerAddressError extends Error {
  readonly code = 'BAD_PEER_ADDRESS';
  constructor(message: string) {
    super(message);
    this.name = 'PeerAddressError';
  }
}

export interface ParsedPeerAddress {
  readonly ip: string;
  readonly port: number;
  readonly index: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipToNumber(ip: string): number | null {
  const match = IPV4.exec(ip);
  if (match === null) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255 || String(octet) !== match[i]) return null; // no leading zeros: one spelling per address
    value = value * 256 + octet;
  }
  return value;
}

function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `"ip:port:index"`; `"ip:port"` means index 0. Throws PeerAddressError. */
export function parsePeerAddress(address: string): ParsedPeerAddress {
  const parts = address.split(':');
  if (parts.length !== 2 && parts.length !== 3) throw new PeerAddressError(`peer address "${address}" is not ip:port:index`);
  const [ip, portText, indexText = '0'] = parts as [string, string, string?];
  const port = Number(portText);
  const index = Number(indexText);
  if (ipToNumber(ip) === null) throw new PeerAddressError(`peer address "${address}": "${ip}" is not an IPv4 address`);
  if (!/^\d+$/.test(portText) || !Number.isInteger(port) || port < 1 || port > 65535) throw new PeerAddressError(`peer address "${address}": bad port "${portText}"`);
  if (!/^\d+$/.test(indexText) || index > MAX_PEER_INDEX) throw new PeerAddressError(`peer address "${address}": index must be 0..${MAX_PEER_INDEX}`);
  return { ip, port, index };
}

/** The canonical `"ip:port:index"` of an address (`"ip:port"` gets index 0). */
export function canonicalPeerAddress(address: string): string {
  const { ip, port, index } = parsePeerAddress(address);
  return `${ip}:${port}:${index}`;
}

/** The node id of a peer address (see the module doc). */
export function nodeIdOfAddress(address: string): NodeId {
  const { ip, port, index } = parsePeerAddress(address);
  return (ipToNumber(ip)! * PORT_SPAN + port) * INDEX_SPAN + index;
}

/** The peer address `"ip:port:index"` of a node id; throws PeerAddressError for ids not of this encoding. */
export function addressOfNodeId(id: NodeId): string {
  if (!Number.isSafeInteger(id) || id <= 0) throw new PeerAddressError(`node id ${id} is not a positive safe integer`);
  const index = id % INDEX_SPAN;
  const rest = Math.floor(id / INDEX_SPAN);
  const port = rest % PORT_SPAN;
  const ip = Math.floor(rest / PORT_SPAN);
  if (port === 0) throw new PeerAddressError(`node id ${id} does not encode a peer address (port 0)`);
  return `${numberToIp(ip)}:${port}:${index}`;
}

/** The gRPC target `"ip:port"` of a node id. */
export function grpcTargetOfNodeId(id: NodeId): string {
  const { ip, port } = parsePeerAddress(addressOfNodeId(id));
  return `${ip}:${port}`;
}

/** The node id a wire Peer names: its address if set, else its id. Throws PeerAddressError. */
export function nodeIdOfPeer(peer: Peer | undefined): NodeId {
  if (peer === undefined) throw new PeerAddressError('no peer given');
  if (peer.address !== undefined && peer.address !== '') return nodeIdOfAddress(peer.address);
  if (peer.id !== undefined) {
    addressOfNodeId(peer.id); // validates
    return peer.id;
  }
  throw new PeerAddressError('a peer needs an address ("ip:port:index") or an id');
}

/** The wire Peer of a node id (0 = none known, answered as braft does). */
export function peerOfNodeId(id: NodeId): Peer {
  if (id === 0) return { id: 0, address: UNKNOWN_PEER_ADDRESS };
  return { id, address: addressOfNodeId(id) };
}

export function groupIdOf(poolId: number, copysetId: number): GroupId | null {
  if (!Number.isSafeInteger(poolId) || poolId < 0 || poolId > MAX_POOL_ID) return null;
  if (!Number.isSafeInteger(copysetId) || copysetId < 0 || copysetId >= COPYSET_SPAN) return null;
  const group = poolId * COPYSET_SPAN + copysetId;
  return group > 0 ? group : null;
}

export function copysetOfGroupId(group: GroupId): { poolId: number; copysetId: number } {
  return { poolId: Math.floor(group / COPYSET_SPAN), copysetId: group % COPYSET_SPAN };
}
