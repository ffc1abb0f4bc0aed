/**
 * A TxRemote that serves a call in process when this metaserver leads the target
 * copyset, and over the network otherwise. Leaders of several copysets often share a
 * process; their Prepare, Resolve, Status and planning reads then cost no gRPC round
 * trip, no encoding and no admission slot. The answer is the one the copyset would give
 * over gRPC (a leader that just lost its term answers REDIRECTED, as it would there).
 */
import type { GetDentryRequest, GetDentryResponse, GetInodeRequest, GetInodeResponse } from '../executor/requests.ts';
import type {
  TxPrepareRequest,
  TxResolveRequest,
  TxResolveResponse,
  TxStatusRequest,
  TxStatusResponse,
} from '../proto/metaraft-tx-types.ts';
import type { CopysetNode } from '../server/copyset-node.ts';
import type { TxHandlers } from '../service/tx-service.ts';
import type { CopysetAddress, TxPrepareAnswer, TxRemote } from './tx-remote.ts';

export class LocalFirstRemote implements TxRemote {
  constructor(
    private readonly remote: TxRemote,
    private readonly copyset: (poolId: number, copysetId: number) => CopysetNode | undefined,
    private readonly handlers: Pick<TxHandlers, 'prepare' | 'resolve' | 'status'>,
  ) {}

  /** The copyset when this process leads it now. */
  private leading(target: CopysetAddress): CopysetNode | undefined {
    const node = this.copyset(target.poolId, target.copysetId);
    return node !== undefined && node.term !== 0 ? node : undefined;
  }

  prepare(target: CopysetAddress, request: TxPrepareRequest, deadlineMs: number): Promise<TxPrepareAnswer> {
    // The handler answers in the executor's shape already (the service converts it for the wire).
    return this.leading(target) !== undefined ? (this.handlers.prepare(request) as Promise<TxPrepareAnswer>) : this.remote.prepare(target, request, deadlineMs);
  }

  resolve(target: CopysetAddress, request: TxResolveRequest, deadlineMs: number): Promise<TxResolveResponse> {
    return this.leading(target) !== undefined ? this.handlers.resolve(request) : this.remote.resolve(target, request, deadlineMs);
  }

  status(target: CopysetAddress, request: TxStatusRequest, deadlineMs: number): Promise<TxStatusResponse> {
    return this.leading(target) !== undefined ? this.handlers.status(request) : this.remote.status(target, request, deadlineMs);
  }

  getDentry(target: CopysetAddress, request: GetDentryRequest, deadlineMs: number): Promise<GetDentryResponse> {
    const node = this.leading(target);
    return node !== undefined ? node.read('GetDentry', request) : this.remote.getDentry(target, request, deadlineMs);
  }

  getInode(target: CopysetAddress, request: GetInodeRequest, deadlineMs: number): Promise<GetInodeResponse> {
    const node = this.leading(target);
    return node !== undefined ? node.read('GetInode', request) : this.remote.getInode(target, request, deadlineMs);
  }

  close(): void {
    this.remote.close();
  }
}
