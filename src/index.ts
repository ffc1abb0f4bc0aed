/**
 * metaraft: a Raft-replicated metadata server re-creating CurveFS's metaserver.
 *
 * The public API: the MetaServer to embed, the client library, the multi-Raft host and
 * its plug-in interfaces, the typed errors, and the wire (proto) types. The simulator
 * and fault-injection hooks are exported separately, from `metaraft/testing`.
 */

// ---- the server
export { MetaServer } from './server/meta-server.ts';
export type { CopysetSummary, MetaServerStatus } from './server/meta-server.ts';
export {
  ConfigError,
  DEFAULT_CATCH_UP_TIMEOUT_MS,
  DEFAULT_PARTITION_CLEAN_PERIOD_MS,
  DEFAULT_TRASH_KEEP_SECONDS,
  DEFAULT_TRASH_SCAN_PERIOD_MS,
} from './server/meta-server-config.ts';
export type { ConfigErrorCode, CopysetRef, MetaServerConfig, ResolvedMetaServerConfig } from './server/meta-server-config.ts';
export type { MetaServerEventMap, MetaServerEventName, MetaServerEvents } from './server/meta-server-events.ts';
export {
  MAX_COPYSET_ID,
  MAX_PEER_INDEX,
  MAX_POOL_ID,
  PeerAddressError,
  UNKNOWN_PEER_ADDRESS,
  addressOfNodeId,
  canonicalPeerAddress,
  copysetOfGroupId,
  groupIdOf,
  nodeIdOfAddress,
  nodeIdOfPeer,
  peerOfNodeId,
} from './server/peer-id.ts';
export { CopysetNode } from './server/copyset-node.ts';
export { CopysetStateMachine } from './server/copyset-state-machine.ts';

// ---- the client library
export * from './client/index.ts';

// ---- the multi-Raft host and its interfaces
export {
  HostError,
  InMemoryHub,
  InMemoryTransport,
  OverloadError,
  RaftHost,
  RequestTimeoutError,
  SYSTEM_CLOCK,
} from './host/index.ts';
export type {
  Clock,
  Envelope,
  GroupStatus,
  HostErrorCode,
  HostEventMap,
  HostEventName,
  HostStats,
  ProposalOutcome,
  RaftHostOptions,
  RequestOptions,
  SnapshotSource,
  SnapshotTarget,
  StateMachine,
  StateMachineFactory,
  Transport,
  TransportHandler,
} from './host/index.ts';
export { GrpcTransport } from './transport/grpc-transport.ts';
export type { GrpcTransportOptions } from './transport/grpc-transport-options.ts';
export { TransportError as RaftTransportError } from './transport/transport-errors.ts';

// ---- errors of the lower layers
export { CompactedError, InvariantError, NotLeaderError, RaftError, UnavailableError } from './raft/errors.ts';
export type { RaftErrorCode } from './raft/errors.ts';
export { LogStoreError } from './storage/log-store.ts';
export type { LogStoreErrorCode } from './storage/log-store.ts';
export { SnapshotFileError, inspectSnapshotFile } from './storage/snapshot-file.ts';
export type { SnapshotFileErrorCode, SnapshotFileInfo } from './storage/snapshot-file.ts';
export { SnapshotLoadError } from './metastore/snapshot-io.ts';

// Operations across copysets (docs/transactions.md): the coordinator's timings, statistics and step hook, and their errors.
export { DEFAULT_TX_TIMINGS, TxManager } from './tx/tx-manager.ts';
export type { StepHook, TxStats, TxStep, TxTimings } from './tx/tx-manager.ts';
export { TxRemoteError } from './tx/tx-remote.ts';
export type { TxRemoteErrorCode } from './tx/tx-remote.ts';
export { TxFormatError } from './metastore/tx-records.ts';
export type { TxFormatErrorCode } from './metastore/tx-records.ts';

// ---- wire (proto) types, message codecs and service definitions
export * as proto from './proto/index.ts';
