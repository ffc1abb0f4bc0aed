/**
 * The client library: a routing, leader-finding, retrying client of metaraft's (and
 * CurveFS's) metaserver, and the file-system operations a FUSE client makes on top.
 */

export {
  ClientCallError,
  FsError,
  MetaClientError,
  RoutingError,
  isMetaError,
  metaStatusName,
  type ClientCallErrorCode,
  type FsErrorCode,
  type MetaStatusName,
  type RoutingErrorCode,
} from './client-errors.ts';
export { grpcTarget, isKnownPeerAddress, parsePeerAddress, type PeerAddress } from './peer-address.ts';
export {
  PartitionTable,
  copysetKey,
  type CopysetPeers,
  type PartitionRoute,
  type PartitionTableSource,
} from './partition-table.ts';
export {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  checkRetryPolicy,
  systemClock,
  type ClientClock,
  type RetryPolicy,
} from './retry-policy.ts';
export { TransportError, type PeerTransport, type TransportErrorCode } from './peer-transport.ts';
export { GrpcPeerTransport, type GrpcPeerTransportOptions } from './grpc-peer-transport.ts';
export {
  CopysetCaller,
  type AnswerVerdict,
  type CallPlan,
  type CallerStats,
  type CopysetCallerOptions,
  type CopysetRef,
} from './copyset-caller.ts';
export {
  CLI_SERVICE,
  COPYSET_SERVICE,
  META_SERVICE,
  METARAFT_SERVICE,
  MetaServerClient,
  TX_SERVICE,
  READ_METHODS,
  type CallOptions,
  type MetaMethod,
  type MetaRequest,
  type MetaResponse,
  type MetaServerClientOptions,
  type TxClientMethod,
} from './meta-server-client.ts';
export { placementOrder } from './inode-placement.ts';
export { FsCalls, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, modeOf, noWritablePartition, type InodeChanges, type NewInodeFields } from './fs-calls.ts';
export { FsTxCalls, sameCopyset, spansCopysets } from './fs-tx.ts';
export { TxIdSource } from './tx-ids.ts';
export { txRoutesOf } from './tx-routes.ts';
export {
  DEFAULT_LIST_PAGE_SIZE,
  FsClient,
  ROOT_INODE_ID,
  systemTime,
  type AttributeChanges,
  type DirectoryPage,
  type DirectoryPlusPage,
  type FsClientOptions,
  type NodeAttributes,
} from './fs-client.ts';
export type { AtomicRenameCall, AtomicRenameRequest, RenameProtocol, RenameTxCommit } from './fs-rename.ts';
