/**
 * A tiny synchronous network for paper tests (like etcd raft's test `network`):
 * messages are delivered in FIFO order until the cluster is quiet; storage is a
 * MemoryLogStorage per node written exactly as the Ready contract says.
 */
import { MemoryLogStorage } from '../../src/raft/memory-storage.ts';
import { newMessage } from '../../src/raft/messages.ts';
import { RaftNode } from '../../src/raft/raft-node.ts';
import { mulberry32 } from '../../src/testing/random.ts';
import type { ConfigState, Entry, Message, NodeId, RaftConfig, ReadState, Ready } from '../../src/raft/types.ts';

/** A seeded PRNG (mulberry32): nodes seeded by their ids draw different election timeouts. */
export const seededRandom = mulberry32;

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
  /** Read states each node's Readys carried, in order. */
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every Ready handled, in order (for checks on hardState / mustSync / messages). */
  readonly readies: { id: NodeId; ready: Ready }[] = [];
  /**
   * Applied to every message before delivery: return it (possibly rewritten) to deliver,
   * or null to drop it (a test can stash it and deliver() it later).
   */
  transform: ((m: Message) => Message | null) | null = null;
  private queue: Message[] = [];

  constructor(ids: NodeId[], options: Options = {}) {
    this.options = options;
    for (const id of ids) this.addNode(id, makeStorage(ids));
  }

  addNode(id: NodeId, storage: MemoryLogStorage, options: Options = {}): RaftNode {
    const node = makeNode(id, storage, { ...this.options, ...options });
    this.nodes.set(id, node);
    this.storages.set(id, storage);
    if (!this.applied.has(id)) this.applied.set(id, []);
    if (!this.readStates.has(id)) this.readStates.set(id, []);
    return node;
  }

  /** Takes the messages queued for delivery (they will not be delivered by settle). */
  takeQueued(): Message[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  /** Handles every pending Ready of one node, queueing its messages without delivering. */
  flush(id: NodeId): void {
    const node = this.node(id);
    while (node.hasReady()) this.handleReady(id, node, node.ready());
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
    this.transform = null;
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
  deliver(original: Message): void {
    if (this.cut.has(`${original.from}-${original.to}`) || this.dropTypes.has(original.type)) return;
    const m = this.transform === null ? original : this.transform(original);
    if (m === null) return;
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
    this.readies.push({ id, ready: rd });
    for (const rs of rd.readStates) this.readStates.get(id)!.push(rs);
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

// ---------------------------------------------------------------- driving one node by hand

/** Paper-only settings: no PreVote / CheckQuorum, so the §5 rules show unaltered. */
export const CLASSIC: Options = { preVote: false, checkQuorum: false };

export const EMPTY = new Uint8Array(0);

export function entry(index: number, term: number, data = '', type: Entry['type'] = 'normal'): Entry {
  return { index, term, type, data: new TextEncoder().encode(data) };
}

/** Entries from..from+terms.length-1 with the given terms. */
export function entriesWithTerms(terms: number[], from = 1): Entry[] {
  return terms.map((t, k) => entry(from + k, t, `e${from + k}`));
}

export interface Driven {
  readonly node: RaftNode;
  readonly storage: MemoryLogStorage;
}

/** A node whose durable log holds entries with `logTerms` and whose hard state has `term`. */
export function driven(id: NodeId, voters: NodeId[], options: Options = CLASSIC, logTerms: number[] = [], term = 0, seed = id): Driven {
  const storage = new MemoryLogStorage({ voters, learners: [], epoch: 0 });
  storage.append(entriesWithTerms(logTerms));
  storage.setHardState({ term: Math.max(term, ...logTerms, 0), vote: 0, commit: 0 });
  return { node: makeNode(id, storage, options, seed), storage };
}

/** Persists a Ready (steps 1–3 of the contract) without advancing. */
export function persist(storage: MemoryLogStorage, rd: Ready): void {
  if (rd.snapshot !== null) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState !== null) storage.setHardState(rd.hardState);
}

/** Handles every pending Ready (persist, advance) and returns them. */
export function drain(d: Driven): Ready[] {
  const out: Ready[] = [];
  while (d.node.hasReady()) {
    const rd = d.node.ready();
    persist(d.storage, rd);
    d.node.advance(rd);
    out.push(rd);
  }
  return out;
}

/** Messages of all pending Readys (handled as in drain). */
export function drainMessages(d: Driven): Message[] {
  return drain(d).flatMap((rd) => rd.messages);
}

export const msg = newMessage;

/** Terms of a storage's entries from firstIndex to lastIndex. */
export function storedTerms(storage: MemoryLogStorage): number[] {
  const out: number[] = [];
  for (let i = storage.firstIndex(); i <= storage.lastIndex(); i++) out.push(storage.term(i));
  return out;
}
