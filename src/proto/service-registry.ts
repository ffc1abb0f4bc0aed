/**
 * Every gRPC service metaraft serves: each method's request and response message
 * types. test/proto/wire.test.ts holds this table to the .proto files.
 */

import type { MessageName, MessageTypes } from './message-registry.ts';

export const SERVICES = {
  'curvefs.metaserver.MetaServerService': {
    GetDentry: ['curvefs.metaserver.GetDentryRequest', 'curvefs.metaserver.GetDentryResponse'],
    ListDentry: ['curvefs.metaserver.ListDentryRequest', 'curvefs.metaserver.ListDentryResponse'],
    CreateDentry: ['curvefs.metaserver.CreateDentryRequest', 'curvefs.metaserver.CreateDentryResponse'],
    DeleteDentry: ['curvefs.metaserver.DeleteDentryRequest', 'curvefs.metaserver.DeleteDentryResponse'],
    PrepareRenameTx: ['curvefs.metaserver.PrepareRenameTxRequest', 'curvefs.metaserver.PrepareRenameTxResponse'],
    GetInode: ['curvefs.metaserver.GetInodeRequest', 'curvefs.metaserver.GetInodeResponse'],
    CreateInode: ['curvefs.metaserver.CreateInodeRequest', 'curvefs.metaserver.CreateInodeResponse'],
    UpdateInode: ['curvefs.metaserver.UpdateInodeRequest', 'curvefs.metaserver.UpdateInodeResponse'],
    DeleteInode: ['curvefs.metaserver.DeleteInodeRequest', 'curvefs.metaserver.DeleteInodeResponse'],
    CreateRootInode: ['curvefs.metaserver.CreateRootInodeRequest', 'curvefs.metaserver.CreateRootInodeResponse'],
    CreateManageInode: [
      'curvefs.metaserver.CreateManageInodeRequest',
      'curvefs.metaserver.CreateManageInodeResponse',
    ],
    BatchGetInodeAttr: [
      'curvefs.metaserver.BatchGetInodeAttrRequest',
      'curvefs.metaserver.BatchGetInodeAttrResponse',
    ],
    BatchGetXAttr: ['curvefs.metaserver.BatchGetXAttrRequest', 'curvefs.metaserver.BatchGetXAttrResponse'],
    CreatePartition: ['curvefs.metaserver.CreatePartitionRequest', 'curvefs.metaserver.CreatePartitionResponse'],
    DeletePartition: ['curvefs.metaserver.DeletePartitionRequest', 'curvefs.metaserver.DeletePartitionResponse'],
  },
  'curvefs.metaserver.copyset.CopysetService': {
    CreateCopysetNode: [
      'curvefs.metaserver.copyset.CreateCopysetRequest',
      'curvefs.metaserver.copyset.CreateCopysetResponse',
    ],
    GetCopysetStatus: [
      'curvefs.metaserver.copyset.CopysetStatusRequest',
      'curvefs.metaserver.copyset.CopysetStatusResponse',
    ],
    GetCopysetsStatus: [
      'curvefs.metaserver.copyset.CopysetsStatusRequest',
      'curvefs.metaserver.copyset.CopysetsStatusResponse',
    ],
  },
  'curvefs.metaserver.copyset.CliService2': {
    GetLeader: ['curvefs.metaserver.copyset.GetLeaderRequest2', 'curvefs.metaserver.copyset.GetLeaderResponse2'],
    AddPeer: ['curvefs.metaserver.copyset.AddPeerRequest2', 'curvefs.metaserver.copyset.AddPeerResponse2'],
    RemovePeer: ['curvefs.metaserver.copyset.RemovePeerRequest2', 'curvefs.metaserver.copyset.RemovePeerResponse2'],
    ChangePeers: [
      'curvefs.metaserver.copyset.ChangePeersRequest2',
      'curvefs.metaserver.copyset.ChangePeersResponse2',
    ],
    TransferLeader: [
      'curvefs.metaserver.copyset.TransferLeaderRequest2',
      'curvefs.metaserver.copyset.TransferLeaderResponse2',
    ],
  },
  // Stream: client-to-server batches, server-to-client acks. InstallSnapshot: chunks in, one ack out.
  'metaraft.raft.RaftTransport': {
    Stream: ['metaraft.raft.RaftBatch', 'metaraft.raft.Ack'],
    InstallSnapshot: ['metaraft.raft.SnapshotChunk', 'metaraft.raft.SnapshotAck'],
  },
  // metaraft's own metadata calls (proto/metaraft/meta.proto).
  'metaraft.meta.MetaraftService': {
    Rename: ['metaraft.meta.RenameRequest', 'metaraft.meta.RenameResponse'],
  },
  // Operations across copysets (proto/metaraft/tx.proto): client calls, then internal ones.
  'metaraft.tx.TxService': {
    Rename: ['metaraft.tx.RenameRequest', 'metaraft.tx.TxReply'],
    Link: ['metaraft.tx.LinkRequest', 'metaraft.tx.TxReply'],
    Create: ['metaraft.tx.CreateRequest', 'metaraft.tx.TxReply'],
    Unlink: ['metaraft.tx.UnlinkRequest', 'metaraft.tx.TxReply'],
    Prepare: ['metaraft.tx.PrepareRequest', 'metaraft.tx.PrepareResponse'],
    Resolve: ['metaraft.tx.ResolveRequest', 'metaraft.tx.ResolveResponse'],
    Status: ['metaraft.tx.StatusRequest', 'metaraft.tx.StatusResponse'],
  },
} as const satisfies Record<string, Record<string, readonly [MessageName, MessageName]>>;

export type ServiceName = keyof typeof SERVICES;
export type MethodName<S extends ServiceName> = keyof (typeof SERVICES)[S] & string;

type MethodEntry<S extends ServiceName, M extends MethodName<S>> = (typeof SERVICES)[S][M] extends readonly [
  infer Request extends MessageName,
  infer Response extends MessageName,
]
  ? { readonly request: Request; readonly response: Response }
  : never;

/** The decoded request type of a method, e.g. RequestOf<'curvefs.metaserver.MetaServerService', 'GetInode'>. */
export type RequestOf<S extends ServiceName, M extends MethodName<S>> = MessageTypes[MethodEntry<S, M>['request']];
export type ResponseOf<S extends ServiceName, M extends MethodName<S>> = MessageTypes[MethodEntry<S, M>['response']];

/**
 * MetaServerService's reads: answered from applied state without a log entry, so their
 * requests carry the client's appliedIndex. The client and the service both use this.
 */
export const META_READ_METHODS: ReadonlySet<string> = new Set<MethodName<'curvefs.metaserver.MetaServerService'>>([
  'GetDentry',
  'ListDentry',
  'GetInode',
  'BatchGetInodeAttr',
  'BatchGetXAttr',
]);

/** The gRPC path of a method: `/<package>.<Service>/<Method>`. */
export function methodPath(service: ServiceName, method: string): string {
  return `/${service}/${method}`;
}
