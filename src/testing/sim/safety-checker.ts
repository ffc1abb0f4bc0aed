import type { Entry, GroupId, Index, NodeId, Role, Term } from '../../raft/types.ts';
import type { MemoryLogStorage } from '../../raft/memory-storage.ts';

/** A broken safety property found by the simulator. The message starts with the seed. */
export class SafetyViolation extends Error {
  readonly code = 'SAFETY_VIOLATION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SafetyViolation';
  }
}

/** What the cross-replica checks read from one live replica. */
export interface ReplicaView {
  readonly node: NodeId;
  readonly storage: MemoryLogStorage;
  readonly role: Role;
  readonly term: Term;
  readonly commit: Index;
  /** The core's last index, counting entries not yet written to `storage`. */
  readonly lastIndex: Index;
  readonly applied: Index;
  readonly stateHash: () => string;
}

/** An entry known to be committed, and the highest term its commit can have happened in. */
interface CommittedRecord {
  readonly term: Term;
  readonly data: Uint8Array;
  readonly witnessTerm: Term;
  readonly witness: NodeId;
}

class GroupHistory {
  /** Every leader ever seen, by term (at most one per term: §5.2 Election Safety). */
  readonly leaders = new Map<Term, NodeId>();
  /** Every (index, term) ever appended anywhere, and its data (§5.3 Log Matching). */
  readonly entries = new Map<string, Uint8Array>();
  /** Committed entries by index (State Machine Safety, §5.4.3). */
  readonly committed: (CommittedRecord | undefined)[] = [];
  /** State hash by applied index: replicas at equal applied index hold equal state. */
  readonly stateHashes = new Map<Index, { hash: string; node: NodeId }>();
}

/**
 * The simulator's invariant checker. Cheap checks run on every append and apply; the
 * cross-replica checks (check()) run periodically and on demand. Everything is kept
 * for the whole run, so a property broken at any time is caught.
 */
export class SafetyChecker {
  private readonly groups = new Map<GroupId, GroupHistory>();

  constructor(private readonly seed: number, private readonly clock: () => number) {}

  fail(message: string): never {
    throw new SafetyViolation(`seed=${this.seed}: t=${this.clock()}ms: ${message}`);
  }

  onLeader(group: GroupId, term: Term, node: NodeId): void {
    const leaders = this.history(group).leaders;
    const previous = leaders.get(term);
    if (previous !== undefined && previous !== node) {
      this.fail(`group ${group}: two leaders in term ${term}: ${previous} and ${node} (§5.2 Election Safety)`);
    }
    leaders.set(term, node);
  }

  onAppend(group: GroupId, node: NodeId, entries: readonly Entry[]): void {
    const seen = this.history(group).entries;
    for (const entry of entries) {
      const key = `${entry.index}/${entry.term}`;
      const data = seen.get(key);
      if (data === undefined) seen.set(key, entry.data);
      else if (data !== entry.data && !bytesEqual(data, entry.data)) {
        this.fail(`group ${group}: node ${node} appended a different entry at index ${entry.index} term ${entry.term} (§5.3 Log Matching)`);
      }
    }
  }

  /** An entry applied (hence committed) on `node`, whose current term is `nodeTerm`. */
  onApplied(group: GroupId, node: NodeId, entry: Entry, nodeTerm: Term): void {
    this.recordCommitted(group, node, entry.index, entry.term, entry.data, nodeTerm, 'applied');
  }

  onStateHash(group: GroupId, node: NodeId, applied: Index, hash: string): void {
    const hashes = this.history(group).stateHashes;
    const known = hashes.get(applied);
    if (known === undefined) hashes.set(applied, { hash, node });
    else if (known.hash !== hash) {
      this.fail(`group ${group}: state at applied index ${applied} differs: node ${known.node} has ${known.hash}, node ${node} has ${hash}`);
    }
  }

  /** Runs every cross-replica check over the live replicas of one group. */
  checkGroup(group: GroupId, replicas: readonly ReplicaView[]): void {
    for (const replica of replicas) this.checkCommittedPrefix(group, replica);
    for (let i = 0; i < replicas.length; i++) {
      for (let j = i + 1; j < replicas.length; j++) this.checkLogsMatch(group, replicas[i]!, replicas[j]!);
    }
    for (const replica of replicas) {
      if (replica.role === 'leader') this.checkLeaderCompleteness(group, replica);
      this.onStateHash(group, replica.node, replica.applied, replica.stateHash());
    }
  }

  /** Entries up to a replica's commit index must be the committed ones (and become so). */
  private checkCommittedPrefix(group: GroupId, replica: ReplicaView): void {
    const { storage } = replica;
    const first = storage.firstIndex();
    const last = Math.min(storage.lastIndex(), replica.commit);
    // A follower may learn a commit index covering entries it holds but has not written
    // yet (they are in a Ready waiting for the disk): compare with the core's own log.
    if (replica.commit > replica.lastIndex) {
      this.fail(`group ${group}: node ${replica.node} commit ${replica.commit} is beyond its last index ${replica.lastIndex}`);
    }
    const durable = storage.hardState();
    if (durable.commit > storage.lastIndex()) {
      this.fail(`group ${group}: node ${replica.node} stored commit ${durable.commit} is beyond its stored last index ${storage.lastIndex()}`);
    }
    if (last < first) return;
    const entries = storage.entries(first, last + 1);
    for (const entry of entries) {
      this.recordCommitted(group, replica.node, entry.index, entry.term, entry.data, replica.term, 'committed');
    }
  }

  private recordCommitted(group: GroupId, node: NodeId, index: Index, term: Term, data: Uint8Array, nodeTerm: Term, how: string): void {
    const committed = this.history(group).committed;
    const known = committed[index];
    if (known === undefined) {
      committed[index] = { term, data, witnessTerm: nodeTerm, witness: node };
      return;
    }
    if (known.term !== term || (known.data !== data && !bytesEqual(known.data, data))) {
      this.fail(
        `group ${group}: node ${node} ${how} index ${index} term ${term}, but node ${known.witness} committed term ${known.term} there (§5.4.3 State Machine Safety)`,
      );
    }
  }

  /** Two logs holding an entry with the same index and term agree on everything before it (§5.3). */
  private checkLogsMatch(group: GroupId, a: ReplicaView, b: ReplicaView): void {
    const lo = Math.max(a.storage.firstIndex(), b.storage.firstIndex());
    let k = Math.min(a.storage.lastIndex(), b.storage.lastIndex());
    while (k >= lo && a.storage.term(k) !== b.storage.term(k)) k--;
    for (let i = k - 1; i >= lo; i--) {
      if (a.storage.term(i) !== b.storage.term(i)) {
        this.fail(
          `group ${group}: logs of nodes ${a.node} and ${b.node} agree at index ${k} (term ${a.storage.term(k)}) but differ at ${i} (§5.3 Log Matching)`,
        );
      }
    }
  }

  /** A leader of a term after an entry's commit holds that entry (§5.4 Leader Completeness). */
  private checkLeaderCompleteness(group: GroupId, leader: ReplicaView): void {
    const committed = this.history(group).committed;
    const first = leader.storage.firstIndex();
    const last = leader.storage.lastIndex();
    for (let index = first; index < committed.length; index++) {
      const record = committed[index];
      if (record === undefined || record.witnessTerm >= leader.term) continue;
      if (index > last || leader.storage.term(index) !== record.term) {
        this.fail(`group ${group}: leader ${leader.node} of term ${leader.term} lacks committed entry ${index} (term ${record.term}) (§5.4 Leader Completeness)`);
      }
    }
  }

  private history(group: GroupId): GroupHistory {
    let history = this.groups.get(group);
    if (history === undefined) {
      history = new GroupHistory();
      this.groups.set(group, history);
    }
    return history;
  }

  /** Leaders seen per term (for tests that count elections). */
  leadersByTerm(group: GroupId): ReadonlyMap<Term, NodeId> {
    return this.history(group).leaders;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
