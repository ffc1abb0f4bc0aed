/**
 * TypeScript shapes of package `metaraft.meta` (proto/metaraft/meta.proto, proto2), as
 * the codecs decode them. Field names are those of the executor's RenameRequest, so a
 * decoded request is handed to the executor as it is.
 * test/proto/wire.test.ts holds them to the .proto file.
 */

import type { MetaStatusCode, Time } from './metaserver-types.ts';

export interface MetaraftRenameRequest {
  readonly poolId: number;
  readonly copysetId: number;
  readonly fsId: number;
  readonly srcPartitionId: number;
  readonly srcParentInodeId: number;
  readonly srcName: string;
  readonly dstPartitionId: number;
  readonly dstParentInodeId: number;
  readonly dstName: string;
  /** Stamped on the changed inodes; the leader's clock when absent. */
  readonly create?: Time;
}

export interface MetaraftRenameResponse {
  readonly statusCode: MetaStatusCode;
  readonly appliedIndex?: number;
}
