import { RaftNode } from '../../raft/raft-node.ts';
import type { ConfigChange, Index, Message, NodeId, RaftConfig, Ready, Status, Term } from '../../raft/types.ts';

/** The part of RaftNode's API the simulator drives (so a test can wrap or replace it). */
export interface RaftCore {
  readonly id: NodeId;
  tick(): void;
  step(message: Message): void;
  propose(data: Uint8Array): { index: Index; term: Term };
  proposeConfigChange(change: ConfigChange): { index: Index; term: Term };
  campaign(): void;
  transferLeadership(to: NodeId): void;
  readIndex(context: string): void;
  reportUnreachable(peer: NodeId): void;
  reportSnapshot(peer: NodeId, ok: boolean): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  status(): Status;
}

export type CoreFactory = (config: RaftConfig) => RaftCore;

export const createRaftNode: CoreFactory = (config) => new RaftNode(config);
