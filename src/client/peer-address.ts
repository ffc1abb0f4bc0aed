/**
 * Peer addresses as CurveFS writes them, `"ip:port:index"` (index 0 for one metaserver
 * per port), and the gRPC target `"ip:port"` they are reached at. Several indexes on one
 * port are one process, so they share one connection.
 */

import { RoutingError } from './client-errors.ts';

export interface PeerAddress {
  readonly ip: string;
  readonly port: number;
  readonly index: number;
}

const MAX_PORT = 65_535;

/** Parses `"ip:port:index"` (parsing from the right, so an IPv6 ip keeps its colons). */
export function parsePeerAddress(address: string): PeerAddress {
  const parts = address.split(':');
  if (parts.length < 3) throw new RoutingError('INVALID_TABLE', `peer address "${address}" is not ip:port:index`);
  const index = Number(parts.pop());
  const port = Number(parts.pop());
  const ip = parts.join(':').replace(/^\[(.*)\]$/, '$1');
  if (ip === '' || !Number.isInteger(port) || port < 1 || port > MAX_PORT || !Number.isInteger(index) || index < 0) {
    throw new RoutingError('INVALID_TABLE', `peer address "${address}" is not ip:port:index`);
  }
  return { ip, port, index };
}

/** The gRPC target of a peer: `ip:port`, with an IPv6 ip in brackets. */
export function grpcTarget(address: string): string {
  const { ip, port } = parsePeerAddress(address);
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** True for an address that names a peer; braft answers an unknown leader as empty or `0.0.0.0:0:0`. */
export function isKnownPeerAddress(address: string | undefined): address is string {
  if (address === undefined || address === '') return false;
  try {
    const { ip, port } = parsePeerAddress(address);
    return ip !== '0.0.0.0' && port !== 0;
  } catch {
    return false;
  }
}
