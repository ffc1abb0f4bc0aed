/**
 * The `raft` suite: the Raft core alone, in one process, no I/O.
 *
 * (a) committed entries/s of one 3-replica group; (b) the same, aggregated over many
 * groups; (c) CPU used by many idle groups ticking in real time.
 *
 * The driver is deliberately minimal (no simulator, no transport): each replica's
 * Ready is handled per the contract in src/raft/types.ts over a MemoryLogStorage, and
 * messages are handed straight to the destination replica's step().
 */
import { MemoryLogStorage } from '../src/raft/memory-storage.ts';
import { RaftError } from '../src/raft/errors.ts';
import { RaftNode } from '../src/raft/raft-node.ts';
import type { Message, NodeId, RaftConfig, Role } from '../src/raft/types.ts';
import { mulberry32 } from '../src/testing/random.ts';
import { Progress, collectGarbage, formatNumber, measureRate, progress, round, sleep, startCpuMeter, type RateResult, type Suite, type SuiteContext } from './harness.ts';

const REPLICAS = 3;
/** A pump that has not gone quiet after this many rounds is livelocked: a bug worth stopping for. */
const MAX_PUMP_ROUNDS = 100_000;
/** By default a replica's log is compacted every this many applied entries, as a state machine taking snapshots would. */
const DEFAULT_COMPACT_EVERY_ENTRIES = 16_384;
/** Entries kept behind the applied index at compaction, so in-process followers never need a snapshot. */
const COMPACT_KEEP_ENTRIES = 1_024;
/** Distinct pre-allocated payloads cycled through, so entries do not all share one buffer. */
const PAYLOAD_POOL_SIZE = 1_024;
const WARMUP_MS = 500;

type GroupOptions = Pick<RaftConfig, 'electionTicks' | 'heartbeatTicks' | 'quiesceAfterTicks'> & {
  readonly compactEveryEntries?: number;
};

class Replica {
  appliedEntries = 0;
  appliedIndex = 0;
  role: Role = 'follower';
  private lastCompaction = 0;

  constructor(
    readonly node: RaftNode,
    readonly storage: MemoryLogStorage,
    private readonly compactEveryEntries: number,
  ) {}

  /** Handles one Ready per the contract; its messages go to `outbox`, delivered once every replica had its turn. */
  handleReady(outbox: Message[]): void {
    const ready = this.node.ready();
    if (ready.snapshot) this.storage.applySnapshot(ready.snapshot);
    this.storage.append(ready.entries);
    if (ready.hardState) this.storage.setHardState(ready.hardState);
    for (const m of ready.messages) outbox.push(m);
    if (ready.snapshot) this.appliedIndex = ready.snapshot.metadata.index;
    for (const entry of ready.committedEntries) {
      if (entry.type === 'normal' && entry.data.length > 0) this.appliedEntries++;
      this.appliedIndex = entry.index;
    }
    this.role = ready.role;
    this.node.advance(ready);
    this.maybeCompact();
  }

  private maybeCompact(): void {
    if (this.appliedIndex - this.lastCompaction < this.compactEveryEntries) return;
    this.storage.createSnapshot(this.appliedIndex, this.node.status().config, new Uint8Array(0));
    this.storage.compact(this.appliedIndex - COMPACT_KEEP_ENTRIES);
    this.lastCompaction = this.appliedIndex;
  }
}

/** Three replicas of one group and the driver loop around them (exported for profiling scripts). */
export class Group {
  readonly replicas: Replica[] = [];
  private readonly outbox: Message[] = [];
  proposedIndex = 0;

  constructor(seed: number, options: GroupOptions = {}) {
    const { compactEveryEntries = DEFAULT_COMPACT_EVERY_ENTRIES, ...raftOptions } = options;
    const voters: NodeId[] = Array.from({ length: REPLICAS }, (_, i) => i + 1);
    for (const id of voters) {
      const storage = new MemoryLogStorage({ voters, learners: [], epoch: 0 });
      const node = new RaftNode({ id, storage, random: mulberry32(seed * 31 + id), ...raftOptions });
      this.replicas.push(new Replica(node, storage, compactEveryEntries));
    }
  }

  get leader(): Replica {
    return this.replicas[0]!;
  }

  /** One round: every replica handles its Ready once, then the messages are delivered. Returns whether anything moved. */
  round(): boolean {
    let moved = false;
    for (const replica of this.replicas) {
      if (!replica.node.hasReady()) continue;
      replica.handleReady(this.outbox);
      moved = true;
    }
    if (this.outbox.length === 0) return moved;
    for (const m of this.outbox) this.replicas[m.to - 1]!.node.step(m);
    this.outbox.length = 0;
    return true;
  }

  pumpUntilQuiet(): void {
    for (let rounds = 0; this.round(); rounds++) {
      if (rounds >= MAX_PUMP_ROUNDS) throw new Error(`group did not go quiet after ${MAX_PUMP_ROUNDS} rounds`);
    }
  }

  /** Makes replica 1 the leader and waits until its no-op is applied everywhere. */
  electFirstReplica(): void {
    this.leader.node.campaign();
    this.pumpUntilQuiet();
    const status = this.leader.node.status();
    if (status.role !== 'leader') throw new Error(`replica 1 did not become leader (role ${status.role}, term ${status.term})`);
    this.proposedIndex = status.lastIndex;
  }

  /** Proposes up to `count` entries on the leader while at most `window` are uncommitted. */
  propose(count: number, window: number, payloads: readonly Uint8Array[]): number {
    const leader = this.leader;
    let proposed = 0;
    while (proposed < count && this.proposedIndex - leader.appliedIndex < window) {
      try {
        this.proposedIndex = leader.node.propose(payloads[this.proposedIndex % payloads.length]!).index;
      } catch (error) {
        if (error instanceof RaftError) break; // flow control (dropped) or lost leadership: stop this batch
        throw error;
      }
      proposed++;
    }
    return proposed;
  }

  tick(): void {
    for (const replica of this.replicas) replica.node.tick();
  }

  /** Entries applied on every replica (the slowest one). */
  appliedOnAll(): number {
    return Math.min(...this.replicas.map((r) => r.appliedEntries));
  }
}

function makePayloads(bytes: number): Uint8Array[] {
  return Array.from({ length: PAYLOAD_POOL_SIZE }, (_, i) => new Uint8Array(bytes).fill(i & 0xff));
}

/** Creates `count` groups and elects replica 1 of each. */
export function makeGroups(count: number, label: string, options?: GroupOptions): Group[] {
  const groups: Group[] = [];
  const bar = new Progress(label);
  for (let g = 0; g < count; g++) {
    const group = new Group(g + 1, options);
    group.electFirstReplica();
    groups.push(group);
    bar.tick(() => `${g + 1} of ${count} groups elected`);
  }
  return groups;
}

/** Drains what is in flight so every replica applies everything the leader committed. */
function drain(groups: readonly Group[]): void {
  for (const group of groups) {
    // A follower learns the final commit index from the next append or heartbeat.
    group.pumpUntilQuiet();
    group.tick();
    group.pumpUntilQuiet();
  }
}

async function throughputOneGroup(context: SuiteContext, payloads: readonly Uint8Array[]): Promise<void> {
  const { sizes, report } = context;
  const batch = sizes['batch']!;
  const window = sizes['window']!;
  report.measured(
    `one-group: 1 group x ${REPLICAS} replicas in one process, MemoryLogStorage, no I/O, no fsync; ${sizes['payload-bytes']} B payloads; ` +
      `each step proposes up to ${batch} entries on the leader (at most ${window} uncommitted), then every replica handles one Ready and ` +
      `its messages are stepped straight into the peers; each replica compacts its log every ${sizes['compact-every']} applied entries; ` +
      `${WARMUP_MS} ms warm-up, then ${sizes['duration-ms']} ms measured.`,
  );
  const [group] = makeGroups(1, 'one-group setup', { compactEveryEntries: sizes['compact-every']! });
  collectGarbage(); // start clean: garbage of an earlier run must not be collected on this one's clock
  const g = group!;
  const leader = g.leader;
  const result = measureRate({
    warmupMs: WARMUP_MS,
    durationMs: sizes['duration-ms']!,
    progress: new Progress('one-group'),
    unit: 'entries committed',
    step: () => {
      const before = leader.appliedEntries;
      g.propose(batch, window, payloads);
      g.round();
      return leader.appliedEntries - before;
    },
  });
  const committedEverywhere = g.appliedOnAll();
  drain([g]);
  checkConverged([g]);
  report.figure({ name: 'one-group-committed', value: Math.round(result.perSecond), unit: 'entries/s', target: { op: '>=', value: 200_000 } });
  report.figure({ name: 'one-group-cpu', value: round(result.cpu.percentOfOneCore, 1), unit: '% of a core' });
  report.figure({ name: 'one-group-committed-per-cpu-second', value: Math.round(perCpuSecond(result)), unit: 'entries/CPU-s' });
  report.measured(
    `one-group: ${formatNumber(result.units)} entries committed on the leader in ${round(result.seconds, 2)} s; ` +
      `${formatNumber(committedEverywhere)} (warm-up included) applied on all ${REPLICAS} replicas when the clock stopped; logs identical after draining.`,
  );
}

async function throughputManyGroups(context: SuiteContext, payloads: readonly Uint8Array[]): Promise<void> {
  const { sizes, report } = context;
  const groupCount = sizes['groups']!;
  const batch = sizes['group-batch']!;
  const window = sizes['window']!;
  report.measured(
    `many-groups: ${groupCount} groups x ${REPLICAS} replicas in one process, no I/O, ${sizes['payload-bytes']} B payloads; ` +
      `each step visits every group: up to ${batch} proposals on its leader, then one Ready per replica and direct delivery; ` +
      `each replica compacts its log every ${sizes['compact-every']} applied entries; ` +
      `aggregate entries committed on the leaders; ${WARMUP_MS} ms warm-up, then ${sizes['duration-ms']} ms measured.`,
  );
  const groups = makeGroups(groupCount, 'many-groups setup', { compactEveryEntries: sizes['compact-every']! });
  collectGarbage();
  const result = measureRate({
    warmupMs: WARMUP_MS,
    durationMs: sizes['duration-ms']!,
    progress: new Progress('many-groups'),
    unit: 'entries committed',
    step: () => {
      let committed = 0;
      for (const group of groups) {
        const before = group.leader.appliedEntries;
        group.propose(batch, window, payloads);
        group.round();
        committed += group.leader.appliedEntries - before;
      }
      return committed;
    },
  });
  drain(groups);
  checkConverged(groups);
  report.figure({ name: 'many-groups-committed', value: Math.round(result.perSecond), unit: 'entries/s', target: { op: '>=', value: 200_000 } });
  report.figure({ name: 'many-groups-cpu', value: round(result.cpu.percentOfOneCore, 1), unit: '% of a core' });
  report.figure({ name: 'many-groups-committed-per-cpu-second', value: Math.round(perCpuSecond(result)), unit: 'entries/CPU-s' });
  report.measured(`many-groups: ${formatNumber(result.units)} entries committed over ${groupCount} groups in ${round(result.seconds, 2)} s.`);
}

/**
 * Work per CPU second (user + system, all threads, so GC threads count too): steadier
 * than per wall second on a shared machine, where the process may not get a whole core.
 */
function perCpuSecond(result: RateResult): number {
  return result.units / Math.max(result.cpu.cpuMs / 1000, Number.EPSILON);
}

function checkConverged(groups: readonly Group[]): void {
  for (const group of groups) {
    const counts = group.replicas.map((r) => r.appliedEntries);
    if (counts.some((c) => c !== counts[0])) throw new Error(`replicas applied different entry counts after draining: ${counts.join(', ')}`);
  }
}

interface IdleRun {
  /** Figure name. */
  readonly name: string;
  /** 0: heartbeats every tick forever; otherwise an idle leader quiesces its group after this many ticks. */
  readonly quiesceAfterTicks: number;
}

const IDLE_ELECTION_TICKS = 10;
const IDLE_HEARTBEAT_TICKS = 1;
/** Ticks run before measuring: settles timers and, with quiescence on, lets every group go quiet. */
const IDLE_WARMUP_EXTRA_TICKS = 10;

async function idleGroups(context: SuiteContext, run: IdleRun): Promise<void> {
  const { sizes, report } = context;
  const groupCount = sizes['groups']!;
  const tickMs = sizes['tick-ms']!;
  const idleMs = sizes['idle-ms']!;
  const warmupTicks = run.quiesceAfterTicks + IDLE_WARMUP_EXTRA_TICKS;
  const quiescence =
    run.quiesceAfterTicks === 0
      ? 'quiescence off: every leader heartbeats every tick (no coalescing)'
      : `quiescence on (quiesceAfterTicks ${run.quiesceAfterTicks}): idle leaders stop heartbeating once followers are caught up`;
  report.measured(
    `${run.name}: ${groupCount} groups x ${REPLICAS} replicas with leaders elected, no proposals; a real setInterval every ${tickMs} ms ` +
      `ticks all ${groupCount * REPLICAS} replicas (electionTicks ${IDLE_ELECTION_TICKS}, heartbeatTicks ${IDLE_HEARTBEAT_TICKS}) and delivers ` +
      `messages directly; ${quiescence}; process CPU (user + system) over ${idleMs} ms of real time after ${warmupTicks} warm-up ticks.`,
  );
  const options = { electionTicks: IDLE_ELECTION_TICKS, heartbeatTicks: IDLE_HEARTBEAT_TICKS, quiesceAfterTicks: run.quiesceAfterTicks };
  const groups = makeGroups(groupCount, `${run.name} setup`, options);
  const terms = groups.map((g) => g.leader.node.status().term);
  let ticks = 0;
  const timer = setInterval(() => {
    for (const group of groups) {
      group.tick();
      group.pumpUntilQuiet();
    }
    ticks++;
  }, tickMs);
  try {
    const bar = new Progress(run.name);
    while (ticks < warmupTicks) {
      await sleep(tickMs);
      bar.tick(() => `warming up: ${ticks} of ${warmupTicks} ticks`);
    }
    collectGarbage();
    const stop = startCpuMeter();
    const ticksBefore = ticks;
    const end = Date.now() + idleMs;
    while (Date.now() < end) {
      await sleep(Math.min(250, end - Date.now()));
      bar.tick(() => `${ticks - ticksBefore} ticks measured`);
    }
    const reading = stop();
    const ticksMeasured = ticks - ticksBefore;
    const stable = groups.every((g, i) => g.leader.role === 'leader' && g.leader.node.status().term === terms[i]);
    report.figure({ name: run.name, value: round(reading.percentOfOneCore, 2), unit: '% of a core', target: { op: '<=', value: 5 } });
    report.measured(
      `${run.name}: ${ticksMeasured} ticks in ${round(reading.wallMs / 1000, 2)} s (${round(reading.cpuMs, 0)} ms CPU, ` +
        `${round(reading.cpuMs / Math.max(1, ticksMeasured), 2)} ms per tick of all groups); ` +
        `leaders ${stable ? 'all stable (no election during the run)' : 'NOT stable: some group changed term or leader'}.`,
    );
    if (!stable) progress(`${run.name}: warning: some group changed leader or term while idle`);
  } finally {
    clearInterval(timer);
  }
}

const suite: Suite = {
  name: 'raft',
  description: 'Raft core alone in one process, no I/O: committed entries/s of one group and of many, CPU of idle groups',
  flags: {
    'duration-ms': { description: 'measured time of each throughput run, ms', default: 5_000, quick: 1_000 },
    'payload-bytes': { description: 'bytes of data per entry', default: 64, quick: 64 },
    batch: { description: 'proposals per step on the single group', default: 256, quick: 256 },
    'group-batch': { description: 'proposals per step on each of many groups', default: 16, quick: 16 },
    'compact-every': { description: 'entries applied between log compactions of a replica (a snapshot)', default: DEFAULT_COMPACT_EVERY_ENTRIES, quick: DEFAULT_COMPACT_EVERY_ENTRIES },
    window: { description: 'most uncommitted proposals per group', default: 4_096, quick: 4_096 },
    groups: { description: 'groups in the many-group and idle runs', default: 1_000, quick: 100 },
    'tick-ms': { description: 'real tick interval of the idle run, ms', default: 100, quick: 100 },
    'idle-ms': { description: 'measured real time of the idle run, ms', default: 5_000, quick: 2_000 },
  },
  async run(context) {
    const payloads = makePayloads(context.sizes['payload-bytes']!);
    await throughputOneGroup(context, payloads);
    await throughputManyGroups(context, payloads);
    await idleGroups(context, { name: 'idle-groups-cpu', quiesceAfterTicks: 0 });
    await idleGroups(context, { name: 'idle-groups-quiesced-cpu', quiesceAfterTicks: 2 * IDLE_ELECTION_TICKS });
  },
};

export default suite;
