/**
 * What the gRPC services need from the server that hosts them (MetaServer implements
 * it; tests may too). Kept narrow so the services stay thin translators between the
 * wire and the copysets.
 */
import type { RaftHost } from '../host/raft-host.ts';
import type { GroupId, NodeId } from '../raft/types.ts';
import type { CopysetNode } from '../server/copyset-node.ts';
import type { TxHandlers } from './tx-service.ts';

export type CreateCopysetOutcome = 'created' | 'identical' | 'conflict';

export interface ServiceBackend {
  /** This process's Raft node id (derived from its advertised address). */
  readonly nodeId: NodeId;
  readonly host: RaftHost;
  /** Admits one MetaServerService request; false when the in-flight limit is reached (OVERLOAD). */
  tryAdmit(): boolean;
  /** Ends a request admitted by tryAdmit. */
  release(): void;
  /** The copyset if this process hosts it (loaded), else undefined. */
  copyset(groupId: GroupId): CopysetNode | undefined;
  /** True while the group is on disk but not loaded yet. */
  isLoading(groupId: GroupId): boolean;
  /** Creates the group here with these members; 'identical' if it exists with exactly them. */
  createCopyset(groupId: GroupId, members: readonly NodeId[]): Promise<CreateCopysetOutcome>;
  /** How long AddPeer/ChangePeers wait for a new learner to catch up before it is promoted. */
  readonly catchUpTimeoutMs: number;
  /** The transaction layer (metaraft.tx.TxService); absent: TxService answers TX_FAILED. */
  readonly tx?: TxHandlers;
}
