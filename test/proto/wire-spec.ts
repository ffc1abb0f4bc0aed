/**
 * wire.md's message tables, transcribed verbatim: the wire contract in code. Notation
 * (wire.md): `N name:type` then `!` required, `?` optional, `*` repeated; u32/u64/i64
 * are uint32/uint64/int64; `map<K, V>` is a map field. Enums list NAME=value.
 *
 * wire.test.ts checks the .proto files (through protobufjs reflection) and the
 * TypeScript interfaces (at compile time) against these strings.
 */

export const WIRE_ENUMS = {
  'curvefs.metaserver.MetaStatusCode':
    'OK=0, UNKNOWN_ERROR=1, PARAM_ERROR=2, NOT_FOUND=3, INODE_EXIST=4, DENTRY_EXIST=5, SYM_LINK_EMPTY=6, RPC_ERROR=7, COPYSET_NOTEXIST=8, REDIRECTED=9, OVERLOAD=10, TARGET_DIRECTORY_EXIST=11, HANDLE_PENDING_TX_FAILED=12, HANDLE_TX_FAILED=13, PARTITION_NOT_FOUND=14, PARTITION_EXIST=15, PARTITION_DELETING=16, PARTITION_ALLOC_ID_FAIL=17, SAVE_META_FAIL=18, S3_DELETE_ERR=19, PARTITION_ID_MISSMATCH=20, IDEMPOTENCE_OK=21, SERIALIZE_TO_STRING_FAILED=22, PARSE_FROM_STRING_FAILED=23, STORAGE_INTERNAL_ERROR=24, RPC_STREAM_ERROR=25, INODE_S3_META_TOO_LARGE=26, STORAGE_CLOSED=27, TX_FAILED=28, TX_WRITE_CONFLICT=29, TX_KEY_LOCKED=30, TX_COMMITTED=31, TX_ROLLBACKED=32, TX_TIMEOUT=33, TX_INPROGRESS=34, TX_MISMATCH=35',
  'curvefs.metaserver.DentryFlag': 'TYPE_FILE_FLAG=1, DELETE_MARK_FLAG=2, TRANSACTION_PREPARE_FLAG=4',
  'curvefs.metaserver.FsFileType': 'TYPE_DIRECTORY=1, TYPE_FILE=2, TYPE_SYM_LINK=3, TYPE_S3=4',
  'curvefs.metaserver.ManageInodeType': 'TYPE_NOT_MANAGE=0, TYPE_RECYCLE=1',
  'curvefs.common.PartitionStatus': 'READWRITE=1, READONLY=2, DELETING=3',
  'curvefs.metaserver.copyset.COPYSET_OP_STATUS':
    'COPYSET_OP_STATUS_SUCCESS=0, COPYSET_OP_STATUS_EXIST=1, COPYSET_OP_STATUS_COPYSET_NOTEXIST=2, COPYSET_OP_STATUS_FAILURE_UNKNOWN=3, COPYSET_OP_STATUS_COPYSET_IS_HEALTHY=4, COPYSET_OP_STATUS_PARSE_PEER_ERROR=5, COPYSET_OP_STATUS_PEER_MISMATCH=6',
} as const;

export const WIRE_MESSAGES = {
  // #### metaserver
  'curvefs.metaserver.Time': '1 sec:u64!, 2 nsec:i64!',
  'curvefs.metaserver.Dentry':
    '1 fsId:u32!, 2 inodeId:u64!, 3 parentInodeId:u64!, 4 name:string!, 5 txId:u64?, 6 flag:u32?, 7 type:FsFileType?, 8 txSequence:u64?',
  'curvefs.metaserver.GetDentryRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 parentInodeId:u64!, 6 name:string!, 7 txId:u64?, 8 appliedIndex:u64?',
  'curvefs.metaserver.GetDentryResponse': '1 statusCode:MetaStatusCode!, 2 dentry:Dentry?, 3 appliedIndex:u64?',
  'curvefs.metaserver.ListDentryRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 dirInodeId:u64!, 6 txId:u64?, 7 last:string?, 8 count:u32?, 9 onlyDir:bool?, 10 appliedIndex:u64?',
  'curvefs.metaserver.ListDentryResponse': '1 statusCode:MetaStatusCode!, 2 dentrys:Dentry*, 3 appliedIndex:u64?',
  'curvefs.metaserver.CreateDentryRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 dentry:Dentry!, 5 create:Time?',
  'curvefs.metaserver.CreateDentryResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.DeleteDentryRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 txId:u64?, 6 parentInodeId:u64!, 7 name:string!, 8 type:FsFileType?, 9 create:Time?',
  'curvefs.metaserver.DeleteDentryResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.PrepareRenameTxRequest': '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 dentrys:Dentry*',
  'curvefs.metaserver.PrepareRenameTxResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.Inode':
    '1 inodeId:u64!, 2 fsId:u32!, 3 length:u64!, 4 ctime:u64!, 5 ctime_ns:u32!, 6 mtime:u64!, 7 mtime_ns:u32!, 8 atime:u64!, 9 atime_ns:u32!, 10 uid:u32!, 11 gid:u32!, 12 mode:u32!, 13 nlink:u32!, 14 type:FsFileType!, 15 symlink:string?, 16 rdev:u64?, 19 dtime:u64?, 20 openmpcount:u32?, 21 xattr:map<string, bytes>, 22 parent:u64*',
  'curvefs.metaserver.GetInodeRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 inodeId:u64!, 6 appliedIndex:u64?, 7 supportStreaming:bool?',
  'curvefs.metaserver.GetInodeResponse':
    '1 statusCode:MetaStatusCode!, 2 inode:Inode?, 3 appliedIndex:u64?, 4 streaming:bool?',
  'curvefs.metaserver.CreateInodeRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 length:u64!, 6 uid:u32!, 7 gid:u32!, 8 mode:u32!, 9 type:FsFileType!, 10 parent:u64!, 11 rdev:u64?, 12 symlink:string?, 13 create:Time?',
  'curvefs.metaserver.CreateInodeResponse': '1 statusCode:MetaStatusCode!, 2 inode:Inode?, 3 appliedIndex:u64?',
  'curvefs.metaserver.CreateRootInodeRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 uid:u32!, 6 gid:u32!, 7 mode:u32!, 8 create:Time?',
  'curvefs.metaserver.CreateRootInodeResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.CreateManageInodeRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 uid:u32!, 6 gid:u32!, 7 mode:u32!, 8 manageType:ManageInodeType!',
  'curvefs.metaserver.CreateManageInodeResponse': '1 statusCode:MetaStatusCode!, 2 inode:Inode?, 3 appliedIndex:u64?',
  'curvefs.metaserver.UpdateInodeRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 inodeId:u64!, 6 length:u64?, 7 ctime:u64?, 8 ctime_ns:u32?, 9 mtime:u64?, 10 mtime_ns:u32?, 11 atime:u64?, 12 atime_ns:u32?, 13 uid:u32?, 14 gid:u32?, 15 mode:u32?, 18 nlink:u32?, 20 xattr:map<string, bytes>, 21 parent:u64*',
  'curvefs.metaserver.UpdateInodeResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.DeleteInodeRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 inodeId:u64!',
  'curvefs.metaserver.DeleteInodeResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.InodeAttr':
    '1 inodeId:u64!, 2 fsId:u32!, 3 length:u64!, 4 ctime:u64!, 5 ctime_ns:u32!, 6 mtime:u64!, 7 mtime_ns:u32!, 8 atime:u64!, 9 atime_ns:u32!, 10 uid:u32!, 11 gid:u32!, 12 mode:u32!, 13 nlink:u32!, 14 type:FsFileType!, 15 symlink:string?, 16 rdev:u64?, 17 dtime:u32?, 18 openmpcount:u32?, 19 xattr:map<string, bytes>, 20 parent:u64*',
  'curvefs.metaserver.BatchGetInodeAttrRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 inodeId:u64*, 6 appliedIndex:u64?',
  'curvefs.metaserver.BatchGetInodeAttrResponse':
    '1 statusCode:MetaStatusCode!, 2 attr:InodeAttr*, 3 appliedIndex:u64?',
  'curvefs.metaserver.XAttr': '1 inodeId:u64!, 2 fsId:u32!, 3 xAttrInfos:map<string, bytes>',
  'curvefs.metaserver.BatchGetXAttrRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 fsId:u32!, 5 inodeId:u64*, 6 appliedIndex:u64?',
  'curvefs.metaserver.BatchGetXAttrResponse': '1 statusCode:MetaStatusCode!, 2 xattr:XAttr*, 3 appliedIndex:u64?',
  'curvefs.metaserver.CreatePartitionRequest': '1 partition:common.PartitionInfo!',
  'curvefs.metaserver.CreatePartitionResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',
  'curvefs.metaserver.DeletePartitionRequest': '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!',
  'curvefs.metaserver.DeletePartitionResponse': '1 statusCode:MetaStatusCode!, 2 appliedIndex:u64?',

  // #### common
  'curvefs.common.PartitionInfo':
    '1 fsId:u32!, 2 poolId:u32!, 3 copysetId:u32!, 4 partitionId:u32!, 5 start:u64!, 6 end:u64!, 7 txId:u64?, 8 nextId:u64?, 9 status:PartitionStatus!, 10 inodeNum:u64?, 11 dentryNum:u64?, 12 fileType2inodeNum:map<int32, uint64>, 13 manageFlag:bool?',
  'curvefs.common.Peer': '1 id:u64?, 2 address:string?',

  // #### copyset
  'curvefs.metaserver.copyset.CreateCopysetRequest.Copyset': '1 poolId:u32!, 2 copysetId:u32!, 3 peers:common.Peer*',
  'curvefs.metaserver.copyset.CreateCopysetRequest': '1 copysets:Copyset*',
  'curvefs.metaserver.copyset.CreateCopysetResponse': '1 status:COPYSET_OP_STATUS!',
  'curvefs.metaserver.copyset.CopysetStatusRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 peer:common.Peer?, 4 queryHash:bool?',
  'curvefs.metaserver.copyset.CopysetStatus':
    '1 state:u32!, 2 peer:common.Peer!, 3 leader:common.Peer!, 4 readonly:bool!, 5 term:i64!, 6 committedIndex:i64!, 7 knownAppliedIndex:i64!, 8 pendingIndex:i64!, 9 pendingQueueSize:i64!, 10 applyingIndex:i64!, 11 firstIndex:i64!, 12 lastIndex:i64!, 13 diskIndex:i64!, 14 epoch:u64!, 15 hash:string?',
  'curvefs.metaserver.copyset.CopysetStatusResponse':
    '1 status:COPYSET_OP_STATUS!, 2 copysetStatus:CopysetStatus?',
  'curvefs.metaserver.copyset.CopysetsStatusRequest': '1 copysets:CopysetStatusRequest*',
  'curvefs.metaserver.copyset.CopysetsStatusResponse': '1 status:CopysetStatusResponse*',

  // #### cli2
  'curvefs.metaserver.copyset.GetLeaderRequest2': '1 poolId:u32!, 2 copysetId:u32!, 3 peer:common.Peer?',
  'curvefs.metaserver.copyset.GetLeaderResponse2': '1 leader:common.Peer!',
  'curvefs.metaserver.copyset.AddPeerRequest2': '1 poolId:u32!, 2 copysetId:u32!, 3 addPeer:common.Peer!',
  'curvefs.metaserver.copyset.AddPeerResponse2': '1 oldPeers:common.Peer*, 2 newPeers:common.Peer*',
  'curvefs.metaserver.copyset.RemovePeerRequest2': '1 poolId:u32!, 2 copysetId:u32!, 3 removePeer:common.Peer!',
  'curvefs.metaserver.copyset.RemovePeerResponse2': '1 oldPeers:common.Peer*, 2 newPeers:common.Peer*',
  'curvefs.metaserver.copyset.ChangePeersRequest2': '1 poolId:u32!, 2 copysetId:u32!, 3 newPeers:common.Peer*',
  'curvefs.metaserver.copyset.ChangePeersResponse2': '1 oldPeers:common.Peer*, 2 newPeers:common.Peer*',
  'curvefs.metaserver.copyset.TransferLeaderRequest2': '1 poolId:u32!, 2 copysetId:u32!, 3 transferee:common.Peer!',
  'curvefs.metaserver.copyset.TransferLeaderResponse2': '',
} as const;

/** Field numbers wire.md says are left out and never reused. */
export const WIRE_RESERVED: Readonly<Record<string, readonly number[]>> = {
  'curvefs.metaserver.Inode': [17, 18],
  'curvefs.metaserver.UpdateInodeRequest': [16, 17, 19, 22, 23],
};

/** The services of wire.md's first table, with the request/response message names. */
export const WIRE_SERVICES = {
  'curvefs.metaserver.MetaServerService': [
    'GetDentry',
    'ListDentry',
    'CreateDentry',
    'DeleteDentry',
    'PrepareRenameTx',
    'GetInode',
    'CreateInode',
    'UpdateInode',
    'DeleteInode',
    'CreateRootInode',
    'CreateManageInode',
    'BatchGetInodeAttr',
    'BatchGetXAttr',
    'CreatePartition',
    'DeletePartition',
  ],
  'curvefs.metaserver.copyset.CopysetService': ['CreateCopysetNode', 'GetCopysetStatus', 'GetCopysetsStatus'],
  'curvefs.metaserver.copyset.CliService2': ['GetLeader', 'AddPeer', 'RemovePeer', 'ChangePeers', 'TransferLeader'],
} as const;

/** Request and response types wire.md names where they are not `<Method>Request/Response`. */
export const WIRE_METHOD_TYPES: Readonly<Record<string, readonly [string, string]>> = {
  CreateCopysetNode: ['CreateCopysetRequest', 'CreateCopysetResponse'],
  GetCopysetStatus: ['CopysetStatusRequest', 'CopysetStatusResponse'],
  GetCopysetsStatus: ['CopysetsStatusRequest', 'CopysetsStatusResponse'],
  GetLeader: ['GetLeaderRequest2', 'GetLeaderResponse2'],
  AddPeer: ['AddPeerRequest2', 'AddPeerResponse2'],
  RemovePeer: ['RemovePeerRequest2', 'RemovePeerResponse2'],
  ChangePeers: ['ChangePeersRequest2', 'ChangePeersResponse2'],
  TransferLeader: ['TransferLeaderRequest2', 'TransferLeaderResponse2'],
};

// ---------------------------------------------------------------- parsing

export type Label = 'required' | 'optional' | 'repeated' | 'map';

export interface SpecField {
  readonly id: number;
  readonly name: string;
  /** As written in wire.md: u32, string, Dentry, common.Peer, map<string, bytes>... */
  readonly type: string;
  readonly label: Label;
}

/** Splits on ", " outside `map<...>`. */
function splitFields(line: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '<') depth++;
    if (c === '>') depth--;
    if (depth === 0 && line.startsWith(', ', i)) {
      parts.push(line.slice(start, i));
      start = i + 2;
    }
  }
  parts.push(line.slice(start));
  return parts.filter((part) => part !== '');
}

export function parseFields(line: string): SpecField[] {
  return splitFields(line).map((part) => {
    const match = /^(\d+) (\w+):(.+?)([!?*]?)$/.exec(part);
    if (match === null) throw new Error(`cannot parse wire.md field "${part}"`);
    const [, id, name, type, mark] = match as unknown as [string, string, string, string, string];
    const label: Label = type.startsWith('map<')
      ? 'map'
      : mark === '!'
        ? 'required'
        : mark === '?'
          ? 'optional'
          : mark === '*'
            ? 'repeated'
            : (() => {
                throw new Error(`field "${part}" has no label`);
              })();
    return { id: Number(id), name, type, label };
  });
}

export function parseEnum(line: string): Record<string, number> {
  return Object.fromEntries(
    line.split(', ').map((pair) => {
      const [name, value] = pair.split('=') as [string, string];
      return [name, Number(value)];
    }),
  );
}

// ---------------------------------------------------------------- type-level parsing

type FieldNameOf<F extends string> = F extends `${number} ${infer Name}:${string}` ? Name : never;
/** The field names of one wire.md line (a `map<K, V>` splits harmlessly: its tail names nothing). */
export type SpecFieldNames<Line extends string> = Line extends `${infer Head}, ${infer Rest}`
  ? FieldNameOf<Head> | SpecFieldNames<Rest>
  : FieldNameOf<Line>;

/**
 * metaraft's own Raft transport (proto/metaraft/raft.proto, proto3), in the same
 * notation; `?` marks a proto3 singular field.
 */
export const RAFT_MESSAGES = {
  'metaraft.raft.Entry': '1 term:u64?, 2 index:u64?, 3 type:EntryType?, 4 data:bytes?',
  'metaraft.raft.ConfigState': '1 voters:u64*, 2 learners:u64*, 3 epoch:u64?',
  'metaraft.raft.SnapshotMetadata': '1 index:u64?, 2 term:u64?, 3 config:ConfigState?',
  'metaraft.raft.Snapshot': '1 metadata:SnapshotMetadata?, 2 data:bytes?',
  'metaraft.raft.Message':
    '1 type:MessageType?, 2 from:u64?, 3 to:u64?, 4 term:u64?, 5 log_term:u64?, 6 index:u64?, 7 entries:Entry*, 8 commit:u64?, 9 reject:bool?, 10 reject_hint:u64?, 11 snapshot:Snapshot?, 12 context:string?',
  'metaraft.raft.GroupMessage': '1 group_id:u64?, 2 message:Message?',
  'metaraft.raft.RaftBatch': '1 from_node:u64?, 2 to_node:u64?, 3 sequence:u64?, 4 messages:GroupMessage*',
  'metaraft.raft.Ack': '1 sequence:u64?',
  'metaraft.raft.SnapshotChunk':
    '1 group_id:u64?, 2 from:u64?, 3 to:u64?, 4 term:u64?, 5 metadata:SnapshotMetadata?, 6 descriptor:bytes?, 7 offset:u64?, 8 data:bytes?, 9 last:bool?, 10 crc32c:u32?, 11 total_bytes:u64?',
  'metaraft.raft.SnapshotAck': '1 group_id:u64?, 2 accepted:bool?, 3 bytes_received:u64?, 4 error:string?',
} as const;

/**
 * metaraft's own metadata calls (proto/metaraft/meta.proto, proto2), in wire.md's
 * notation; `metaserver.X` names a type of package curvefs.metaserver.
 */
export const META_MESSAGES = {
  'metaraft.meta.RenameRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 fsId:u32!, 4 srcPartitionId:u32!, 5 srcParentInodeId:u64!, 6 srcName:string!, 7 dstPartitionId:u32!, 8 dstParentInodeId:u64!, 9 dstName:string!, 10 create:metaserver.Time?',
  'metaraft.meta.RenameResponse': '1 statusCode:metaserver.MetaStatusCode!, 2 appliedIndex:u64?',
} as const;

/** metaraft's own services: method → request/response names in package metaraft.meta. */
export const META_SERVICES = {
  'metaraft.meta.MetaraftService': ['Rename'],
} as const;

/**
 * metaraft's operations across copysets (proto/metaraft/tx.proto, proto2;
 * docs/transactions.md section 15), in the same notation.
 */
export const TX_MESSAGES = {
  'metaraft.tx.TxId': '1 clientId:u64!, 2 seq:u64!',
  'metaraft.tx.Route': '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 start:u64!, 5 end:u64!, 6 peers:string*',
  'metaraft.tx.NameRef': '1 partitionId:u32!, 2 parentInodeId:u64!, 3 name:string!',
  'metaraft.tx.RenameRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 fsId:u32!, 4 txId:TxId!, 5 src:NameRef!, 6 dst:NameRef!, 7 routes:Route*, 8 time:metaserver.Time?, 9 ackedBelow:u64?',
  'metaraft.tx.LinkRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 fsId:u32!, 4 txId:TxId!, 5 inodeId:u64!, 6 dst:NameRef!, 7 routes:Route*, 8 time:metaserver.Time?, 9 ackedBelow:u64?',
  'metaraft.tx.CreateRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 fsId:u32!, 4 txId:TxId!, 5 dst:NameRef!, 6 inodePartitionId:u32!, 7 type:metaserver.FsFileType!, 8 mode:u32!, 9 uid:u32!, 10 gid:u32!, 11 rdev:u64?, 12 symlink:string?, 13 routes:Route*, 14 time:metaserver.Time?, 15 ackedBelow:u64?, 16 length:u64?',
  'metaraft.tx.UnlinkRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 fsId:u32!, 4 txId:TxId!, 5 name:NameRef!, 6 directory:bool!, 7 routes:Route*, 8 time:metaserver.Time?, 9 ackedBelow:u64?',
  'metaraft.tx.TxReply': '1 statusCode:metaserver.MetaStatusCode!, 2 inode:metaserver.Inode?, 3 appliedIndex:u64?',
  'metaraft.tx.PrepareRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 txId:TxId!, 4 attemptTerm:u64!, 5 attemptN:u64!, 6 coordinator:Route!, 7 fsId:u32!, 8 part:bytes!',
  'metaraft.tx.PrepareResponse':
    '1 statusCode:metaserver.MetaStatusCode!, 2 stamp:u64?, 3 appliedIndex:u64?, 4 inode:metaserver.Inode?',
  'metaraft.tx.ResolveRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 txId:TxId!, 4 commit:bool!, 5 stamp:u64?, 6 attemptTerm:u64?, 7 attemptN:u64?',
  'metaraft.tx.ResolveResponse': '1 statusCode:metaserver.MetaStatusCode!, 2 appliedIndex:u64?',
  'metaraft.tx.StatusRequest':
    '1 poolId:u32!, 2 copysetId:u32!, 3 partitionId:u32!, 4 txId:TxId!, 5 stamp:u64!, 6 attemptTerm:u64!, 7 attemptN:u64!, 8 askerPoolId:u32!, 9 askerCopysetId:u32!',
  'metaraft.tx.StatusResponse': '1 statusCode:metaserver.MetaStatusCode!, 2 state:TxState?',
} as const;

export const TX_ENUMS = {
  'metaraft.tx.TxState': 'COMMITTED=1, ABORTED=2, IN_PROGRESS=3',
} as const;

/** metaraft.tx.TxService: method → [request, response] names in package metaraft.tx. */
export const TX_SERVICES = {
  'metaraft.tx.TxService': {
    Rename: ['RenameRequest', 'TxReply'],
    Link: ['LinkRequest', 'TxReply'],
    Create: ['CreateRequest', 'TxReply'],
    Unlink: ['UnlinkRequest', 'TxReply'],
    Prepare: ['PrepareRequest', 'PrepareResponse'],
    Resolve: ['ResolveRequest', 'ResolveResponse'],
    Status: ['StatusRequest', 'StatusResponse'],
  },
} as const;
