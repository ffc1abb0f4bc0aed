/**
 * Every message type metaraft speaks, by fully-qualified protobuf name, with its
 * TypeScript shape; and the typed codec of each.
 */

import type * as common from './common-types.ts';
import type * as copyset from './copyset-types.ts';
import type * as metaserver from './metaserver-types.ts';
import type * as metaraftMeta from './metaraft-meta-types.ts';
import type * as metaraftTx from './metaraft-tx-types.ts';
import type * as raft from './raft-wire-types.ts';
import { createMessageCodec, type MessageCodec } from './message-codec.ts';
import { protoRoot } from './proto-root.ts';

export interface MessageTypes {
  'curvefs.common.PartitionInfo': common.PartitionInfo;
  'curvefs.common.Peer': common.Peer;

  'curvefs.metaserver.Time': metaserver.Time;
  'curvefs.metaserver.Dentry': metaserver.Dentry;
  'curvefs.metaserver.GetDentryRequest': metaserver.GetDentryRequest;
  'curvefs.metaserver.GetDentryResponse': metaserver.GetDentryResponse;
  'curvefs.metaserver.ListDentryRequest': metaserver.ListDentryRequest;
  'curvefs.metaserver.ListDentryResponse': metaserver.ListDentryResponse;
  'curvefs.metaserver.CreateDentryRequest': metaserver.CreateDentryRequest;
  'curvefs.metaserver.CreateDentryResponse': metaserver.CreateDentryResponse;
  'curvefs.metaserver.DeleteDentryRequest': metaserver.DeleteDentryRequest;
  'curvefs.metaserver.DeleteDentryResponse': metaserver.DeleteDentryResponse;
  'curvefs.metaserver.PrepareRenameTxRequest': metaserver.PrepareRenameTxRequest;
  'curvefs.metaserver.PrepareRenameTxResponse': metaserver.PrepareRenameTxResponse;
  'curvefs.metaserver.Inode': metaserver.Inode;
  'curvefs.metaserver.GetInodeRequest': metaserver.GetInodeRequest;
  'curvefs.metaserver.GetInodeResponse': metaserver.GetInodeResponse;
  'curvefs.metaserver.CreateInodeRequest': metaserver.CreateInodeRequest;
  'curvefs.metaserver.CreateInodeResponse': metaserver.CreateInodeResponse;
  'curvefs.metaserver.CreateRootInodeRequest': metaserver.CreateRootInodeRequest;
  'curvefs.metaserver.CreateRootInodeResponse': metaserver.CreateRootInodeResponse;
  'curvefs.metaserver.CreateManageInodeRequest': metaserver.CreateManageInodeRequest;
  'curvefs.metaserver.CreateManageInodeResponse': metaserver.CreateManageInodeResponse;
  'curvefs.metaserver.UpdateInodeRequest': metaserver.UpdateInodeRequest;
  'curvefs.metaserver.UpdateInodeResponse': metaserver.UpdateInodeResponse;
  'curvefs.metaserver.DeleteInodeRequest': metaserver.DeleteInodeRequest;
  'curvefs.metaserver.DeleteInodeResponse': metaserver.DeleteInodeResponse;
  'curvefs.metaserver.InodeAttr': metaserver.InodeAttr;
  'curvefs.metaserver.BatchGetInodeAttrRequest': metaserver.BatchGetInodeAttrRequest;
  'curvefs.metaserver.BatchGetInodeAttrResponse': metaserver.BatchGetInodeAttrResponse;
  'curvefs.metaserver.XAttr': metaserver.XAttr;
  'curvefs.metaserver.BatchGetXAttrRequest': metaserver.BatchGetXAttrRequest;
  'curvefs.metaserver.BatchGetXAttrResponse': metaserver.BatchGetXAttrResponse;
  'curvefs.metaserver.CreatePartitionRequest': metaserver.CreatePartitionRequest;
  'curvefs.metaserver.CreatePartitionResponse': metaserver.CreatePartitionResponse;
  'curvefs.metaserver.DeletePartitionRequest': metaserver.DeletePartitionRequest;
  'curvefs.metaserver.DeletePartitionResponse': metaserver.DeletePartitionResponse;

  'curvefs.metaserver.copyset.CreateCopysetRequest.Copyset': copyset.CreateCopysetRequestCopyset;
  'curvefs.metaserver.copyset.CreateCopysetRequest': copyset.CreateCopysetRequest;
  'curvefs.metaserver.copyset.CreateCopysetResponse': copyset.CreateCopysetResponse;
  'curvefs.metaserver.copyset.CopysetStatusRequest': copyset.CopysetStatusRequest;
  'curvefs.metaserver.copyset.CopysetStatus': copyset.CopysetStatus;
  'curvefs.metaserver.copyset.CopysetStatusResponse': copyset.CopysetStatusResponse;
  'curvefs.metaserver.copyset.CopysetsStatusRequest': copyset.CopysetsStatusRequest;
  'curvefs.metaserver.copyset.CopysetsStatusResponse': copyset.CopysetsStatusResponse;
  'curvefs.metaserver.copyset.GetLeaderRequest2': copyset.GetLeaderRequest2;
  'curvefs.metaserver.copyset.GetLeaderResponse2': copyset.GetLeaderResponse2;
  'curvefs.metaserver.copyset.AddPeerRequest2': copyset.AddPeerRequest2;
  'curvefs.metaserver.copyset.AddPeerResponse2': copyset.AddPeerResponse2;
  'curvefs.metaserver.copyset.RemovePeerRequest2': copyset.RemovePeerRequest2;
  'curvefs.metaserver.copyset.RemovePeerResponse2': copyset.RemovePeerResponse2;
  'curvefs.metaserver.copyset.ChangePeersRequest2': copyset.ChangePeersRequest2;
  'curvefs.metaserver.copyset.ChangePeersResponse2': copyset.ChangePeersResponse2;
  'curvefs.metaserver.copyset.TransferLeaderRequest2': copyset.TransferLeaderRequest2;
  'curvefs.metaserver.copyset.TransferLeaderResponse2': copyset.TransferLeaderResponse2;

  'metaraft.raft.Entry': raft.WireEntry;
  'metaraft.raft.ConfigState': raft.WireConfigState;
  'metaraft.raft.SnapshotMetadata': raft.WireSnapshotMetadata;
  'metaraft.raft.Snapshot': raft.WireSnapshot;
  'metaraft.raft.Message': raft.WireMessage;
  'metaraft.raft.GroupMessage': raft.WireGroupMessage;
  'metaraft.raft.RaftBatch': raft.RaftBatch;
  'metaraft.raft.Ack': raft.RaftAck;
  'metaraft.raft.SnapshotChunk': raft.SnapshotChunk;
  'metaraft.raft.SnapshotAck': raft.SnapshotAck;

  'metaraft.meta.RenameRequest': metaraftMeta.MetaraftRenameRequest;
  'metaraft.meta.RenameResponse': metaraftMeta.MetaraftRenameResponse;

  'metaraft.tx.TxId': metaraftTx.TxIdWire;
  'metaraft.tx.Route': metaraftTx.TxRoute;
  'metaraft.tx.NameRef': metaraftTx.TxNameRef;
  'metaraft.tx.RenameRequest': metaraftTx.TxRenameRequest;
  'metaraft.tx.LinkRequest': metaraftTx.TxLinkRequest;
  'metaraft.tx.CreateRequest': metaraftTx.TxCreateRequest;
  'metaraft.tx.UnlinkRequest': metaraftTx.TxUnlinkRequest;
  'metaraft.tx.TxReply': metaraftTx.TxReply;
  'metaraft.tx.PrepareRequest': metaraftTx.TxPrepareRequest;
  'metaraft.tx.PrepareResponse': metaraftTx.TxPrepareResponse;
  'metaraft.tx.ResolveRequest': metaraftTx.TxResolveRequest;
  'metaraft.tx.ResolveResponse': metaraftTx.TxResolveResponse;
  'metaraft.tx.StatusRequest': metaraftTx.TxStatusRequest;
  'metaraft.tx.StatusResponse': metaraftTx.TxStatusResponse;
}

export type MessageName = keyof MessageTypes;

const codecs = new Map<string, MessageCodec<unknown>>();

/** The codec of one message type (built on first use, then shared). */
export function messageCodec<N extends MessageName>(name: N): MessageCodec<MessageTypes[N]> {
  let codec = codecs.get(name);
  if (codec === undefined) {
    codec = createMessageCodec<unknown>(protoRoot().lookupType(name));
    codecs.set(name, codec);
  }
  return codec as MessageCodec<MessageTypes[N]>;
}
