/**
 * TypeScript shapes of package `curvefs.common` (proto/curvefs/common.proto), as the
 * codecs decode them: 64-bit integers as safe numbers, map fields as Maps, absent
 * optional fields absent. test/proto/wire.test.ts holds them to the .proto files.
 */

export const PartitionStatus = {
  READWRITE: 1,
  READONLY: 2,
  DELETING: 3,
} as const;
export type PartitionStatus = (typeof PartitionStatus)[keyof typeof PartitionStatus];

export interface PartitionInfo {
  readonly fsId: number;
  readonly poolId: number;
  readonly copysetId: number;
  readonly partitionId: number;
  /** First inode id of the partition (inclusive). */
  readonly start: number;
  /** Last inode id of the partition (inclusive). */
  readonly end: number;
  readonly txId?: number;
  readonly nextId?: number;
  readonly status: PartitionStatus;
  readonly inodeNum?: number;
  readonly dentryNum?: number;
  /** FsFileType → number of inodes of that type. */
  readonly fileType2inodeNum: ReadonlyMap<number, number>;
  readonly manageFlag?: boolean;
}

export interface Peer {
  readonly id?: number;
  /** "ip:port:index" (index is 0 for one metaserver per port). */
  readonly address?: string;
}
