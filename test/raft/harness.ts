/**
 * A tiny synchronous network for paper tests (like etcd raft's test `network`):
 * messages are delivered in FIFO order until the cluster is quiet; storage is a
 * MemoryLogStorage per node written exactly as the Ready contract says.
 */
import { MemoryLogStorage } from '../../src/raft/memory-storage.ts';
import { RaftNode } from '../../src/raft/raft-node.ts';
import type { ConfigState, Entry, Message, NodeId, RaftConfig, Ready } from '../../src/raft/types.ts';

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export function makeStorage(voters: NodeId[], learners: NodeId[] = []): MemoryLogStorage {
  const config: ConfigState = { voters, learners, epoch: 0 };
  return new MemoryLogStorage(config);
}

export type Options = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export function makeNode(id: NodeId, storage: MemoryLogStorage, options: Options = {}, seed = id): RaftNode {
  return new RaftNode({ id, storage, random: seededRandom(seed), ...options });
}

export class TestNetwork {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly storages = new Map<NodeId, MemoryLogStorage>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly delivered: Message[] = [];
  /** Pairs "from-to" whose messages are dropped. */
  readonly cut = new Set<string>();
  /** Drop messages of these types. */
  readonly dropTypes = new Set<Message['type']>();
  readonly options: Options;
  private queue: Message[] = [];

  constructor(ids: NodeId[], options: Options = {}) {
    this.options = options;
    for (const id of ids) this.addNode(id, makeStorage(ids));
  }

  addNode(id: NodeId, storage: MemoryLogStorage): RaftNode {
    const node = makeNode(id, storage, this.options);
    this.nodes.set(id, node);
    this.storages.set(id, storage);
    if (!this.applied.has(id)) this.applied.set(id, []);
    return node;
  }

  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Restart a node from its storage (what was persisted). */
  restart(id: NodeId): RaftNode {
    const storage = this.storages.get(id)!;
    this.applied.set(id, []);
    return this.addNode(id, storage);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
    this.dropTypes.clear();
  }

  /** Processes every node's Ready and delivers messages until nothing moves. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const [id, node] of this.nodes) {
        while (node.hasReady()) {
          moved = true;
          this.handleReady(id, node, node.ready());
        }
      }
      const queue = this.queue;
      this.queue = [];
      for (const m of queue) {
        moved = true;
        this.deliver(m);
      }
      if (!moved) return;
    }
    throw new Error('network did not settle');
  }

  /** Delivers one message now (bypassing the queue). */
  deliver(m: Message): void {
    if (this.cut.has(`${m.from}-${m.to}`) || this.dropTypes.has(m.type)) return;
    const target = this.nodes.get(m.to);
    if (target === undefined) return;
    this.delivered.push(m);
    target.step(m);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.settle();
    }
  }

  /** Ticks node `id` until it campaigns, then settles: elects it if it can win. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.settle();
  }

  leader(): NodeId {
    const leaders = [...this.nodes.values()].filter((n) => n.status().role === 'leader');
    if (leaders.length === 0) return 0;
    const maxTerm = Math.max(...leaders.map((n) => n.status().term));
    return leaders.find((n) => n.status().term === maxTerm)!.id;
  }

  handleReady(id: NodeId, node: RaftNode, rd: Ready): void {
    const storage = this.storages.get(id)!;
    if (rd.snapshot !== null) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState !== null) storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.queue.push(m);
    const applied = this.applied.get(id)!;
    if (rd.snapshot !== null) applied.length = 0;
    for (const e of rd.committedEntries) applied.push(e);
    node.advance(rd);
  }

  /** Payloads of normal, non-empty entries a node applied, as strings. */
  appliedData(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  propose(id: NodeId, text: string): { index: number; term: number } {
    const r = this.node(id).propose(new TextEncoder().encode(text));
    this.settle();
    return r;
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
