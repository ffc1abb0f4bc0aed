/**
 * How the transaction layer of one metaserver reaches the leader of another copyset
 * (docs/transactions.md §4): Prepare, Resolve and Status of `metaraft.tx.TxService`,
 * and the two MetaServerService reads a coordinator plans with. Each call finds the
 * copyset's leader among `peers` itself (redirects, failover, backoff) until
 * `deadlineMs` (a Date.now() instant); it returns the leader's answer whatever its status,
 * and throws TxRemoteError only when no leader answered in time.
 */
import type { GetDentryRequest, GetDentryResponse, GetInodeRequest, GetInodeResponse } from '../executor/requests.ts';
import type { Inode } from '../metastore/types.ts';
import type {
  TxPrepareRequest,
  TxPrepareResponse,
  TxResolveRequest,
  TxResolveResponse,
  TxStatusRequest,
  TxStatusResponse,
} from '../proto/metaraft-tx-types.ts';

/** A copyset and the peers ("ip:port:0") it was last known to have. */
export interface CopysetAddress {
  readonly poolId: number;
  readonly copysetId: number;
  readonly peers: readonly string[];
}

/** A Prepare's answer with a created inode in the metastore's shape (xattr as a record), as reads return it. */
export type TxPrepareAnswer = Omit<TxPrepareResponse, 'inode'> & { readonly inode?: Inode };

export interface TxRemote {
  prepare(target: CopysetAddress, request: TxPrepareRequest, deadlineMs: number): Promise<TxPrepareAnswer>;
  resolve(target: CopysetAddress, request: TxResolveRequest, deadlineMs: number): Promise<TxResolveResponse>;
  status(target: CopysetAddress, request: TxStatusRequest, deadlineMs: number): Promise<TxStatusResponse>;
  getDentry(target: CopysetAddress, request: GetDentryRequest, deadlineMs: number): Promise<GetDentryResponse>;
  getInode(target: CopysetAddress, request: GetInodeRequest, deadlineMs: number): Promise<GetInodeResponse>;
  /** Releases connections. */
  close(): void;
}

export type TxRemoteErrorCode = 'DEADLINE_EXCEEDED' | 'CLOSED';

/** No leader of the target copyset answered before the deadline (or the remote is closed). */
export class TxRemoteError extends Error {
  readonly code: TxRemoteErrorCode;
  constructor(code: TxRemoteErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TxRemoteError';
    this.code = code;
  }
}
