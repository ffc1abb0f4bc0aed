import type { GroupId, NodeId } from '../../raft/types.ts';
import type { KvInput, KvOperation, KvOutput } from '../kv-model.ts';
import type { Random } from '../random.ts';
import type { SimEvent } from './event-queue.ts';
import { encodeCommand } from './kv-state-machine.ts';
import type { ReplicaReply } from './replica.ts';

/** A request from a client to one node, as the simulator routes it. */
export type ClientRequest =
  | { readonly kind: 'write'; readonly data: Uint8Array }
  | { readonly kind: 'read'; readonly key: string };

/** What a client needs from the simulator. */
export interface ClientNetwork {
  readonly random: Random;
  now(): number;
  schedule(delayMs: number, run: () => void): SimEvent;
  /** Sends a request to `node`; `reply` runs later on the client (never if lost or the node is down). */
  request(node: NodeId, group: GroupId, request: ClientRequest, reply: (reply: ReplicaReply) => void): void;
  /** The nodes hosting the group, as a directory service would tell a client. */
  members(group: GroupId): readonly NodeId[];
}

export interface ClientOptions {
  /** With no answer by then, the client tries another node (the write keeps its sequence number). */
  readonly timeoutMs: number;
  /** Pause before retrying after a refusal, so a leaderless group is not hammered. */
  readonly retryDelayMs: number;
}

export const DEFAULT_CLIENT_OPTIONS: ClientOptions = { timeoutMs: 300, retryDelayMs: 10 };

/** One client operation; `done` turns true once it has its answer. */
export interface OpHandle {
  readonly input: KvInput;
  readonly call: number;
  done: boolean;
  output: KvOutput | null;
  returned: number;
  attempts: number;
}

interface Attempt {
  readonly handle: OpHandle;
  readonly seq: number;
  readonly request: ClientRequest;
  readonly onDone: ((handle: OpHandle) => void) | undefined;
  number: number;
  timer: SimEvent | null;
}

/**
 * A client of one group. One operation at a time; writes carry (clientId, seq) so the
 * state machine applies a retried write once; it follows leader hints, retries on
 * refusal or timeout, and records its history with virtual call/return times.
 */
export class SimClient {
  private seq = 0;
  private target: NodeId = 0;
  private current: Attempt | null = null;
  private readonly completed: KvOperation[] = [];
  private lastAcknowledged = 0;

  constructor(
    readonly id: number,
    readonly group: GroupId,
    private readonly network: ClientNetwork,
    private readonly options: ClientOptions,
  ) {}

  get busy(): boolean {
    return this.current !== null;
  }

  /** The sequence number of the last write this client saw acknowledged. */
  get lastAcknowledgedSeq(): number {
    return this.lastAcknowledged;
  }

  submit(input: KvInput, onDone?: (handle: OpHandle) => void): OpHandle {
    if (this.current !== null) throw new Error(`client ${this.id} already has an operation in flight`);
    const handle: OpHandle = { input, call: this.network.now(), done: false, output: null, returned: Number.POSITIVE_INFINITY, attempts: 0 };
    const seq = input.op === 'get' ? 0 : ++this.seq;
    const request: ClientRequest =
      input.op === 'get'
        ? { kind: 'read', key: input.key }
        : { kind: 'write', data: encodeCommand({ clientId: this.id, seq, op: input.op, key: input.key, value: input.value }) };
    this.current = { handle, seq, request, onDone, number: 0, timer: null };
    this.attempt();
    return handle;
  }

  /**
   * The history: completed operations, plus the write in flight with an unknown
   * outcome (return = Infinity). A read in flight has no effect and is left out.
   */
  history(): KvOperation[] {
    const out = this.completed.slice();
    const pending = this.current;
    if (pending !== null && pending.handle.input.op !== 'get') {
      out.push({ clientId: this.id, input: pending.handle.input, output: { value: '' }, call: pending.handle.call, return: Number.POSITIVE_INFINITY });
    }
    return out;
  }

  private attempt(): void {
    const current = this.current!;
    const number = ++current.number;
    current.handle.attempts = number;
    const target = this.chooseTarget();
    current.timer = this.network.schedule(this.options.timeoutMs, () => {
      if (this.current !== current || current.number !== number) return;
      this.target = 0; // no answer: try someone else
      this.attempt();
    });
    this.network.request(target, this.group, current.request, (reply) => {
      if (this.current === current && current.number === number) this.onReply(current, target, reply);
    });
  }

  private onReply(current: Attempt, from: NodeId, reply: ReplicaReply): void {
    if (reply.kind === 'ok') {
      current.timer!.cancelled = true;
      this.finish(current, { value: current.request.kind === 'read' ? reply.value : '' });
      return;
    }
    current.timer!.cancelled = true;
    const number = current.number;
    if (reply.kind === 'not-leader') this.target = reply.hint !== 0 && reply.hint !== from ? reply.hint : 0;
    // 'failed' (dropped, or overwritten by another leader's entry): retry the same node's
    // leader guess after a pause; the session table makes a re-applied write harmless.
    this.network.schedule(this.options.retryDelayMs, () => {
      if (this.current === current && current.number === number) this.attempt();
    });
  }

  private finish(current: Attempt, output: KvOutput): void {
    const handle = current.handle;
    handle.done = true;
    handle.output = output;
    handle.returned = this.network.now();
    this.current = null;
    if (current.seq > 0) this.lastAcknowledged = current.seq;
    this.completed.push({ clientId: this.id, input: handle.input, output, call: handle.call, return: handle.returned });
    current.onDone?.(handle);
  }

  private chooseTarget(): NodeId {
    const members = this.network.members(this.group);
    if (this.target !== 0 && members.includes(this.target)) return this.target;
    this.target = this.network.random.pick(members);
    return this.target;
  }
}
