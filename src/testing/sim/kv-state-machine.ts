/**
 * The simulator's replicated state machine: a string key-value map with put/append,
 * a per-client session table (last applied sequence number) so that a retried write
 * takes effect once, snapshot encode/decode, and a state hash to compare replicas.
 */

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export type KvWriteOp = 'put' | 'append';

/** A write as it travels in a log entry. */
export interface KvCommand {
  readonly clientId: number;
  readonly seq: number;
  readonly op: KvWriteOp;
  readonly key: string;
  readonly value: string;
}

/** First byte of an encoded command; anything else in a log entry is opaque test data. */
const COMMAND_TAG = 0x7b; // '{'

export function encodeCommand(command: KvCommand): Uint8Array {
  return textEncoder.encode('{' + JSON.stringify([command.clientId, command.seq, command.op, command.key, command.value]));
}

export function decodeCommand(data: Uint8Array): KvCommand | null {
  if (data.length === 0 || data[0] !== COMMAND_TAG) return null;
  const [clientId, seq, op, key, value] = JSON.parse(textDecoder.decode(data.subarray(1))) as [number, number, KvWriteOp, string, string];
  return { clientId, seq, op, key, value };
}

interface EncodedState {
  readonly data: [string, string][];
  readonly sessions: [number, number][];
  readonly opaque: number;
  readonly opaqueCount: number;
}

export class KvStateMachine {
  private readonly data = new Map<string, string>();
  private readonly sessions = new Map<number, number>();
  /** A running digest of opaque (non-command) entries, so they count in the state hash. */
  private opaque = 0x811c9dc5;
  private opaqueCount = 0;

  /** Applies one normal entry's data (empty data, the leader's no-op, changes nothing). */
  apply(entryData: Uint8Array): void {
    if (entryData.length === 0) return;
    const command = decodeCommand(entryData);
    if (command === null) {
      this.foldOpaque(entryData);
      return;
    }
    const lastSeq = this.sessions.get(command.clientId) ?? 0;
    if (command.seq <= lastSeq) return; // a retry of a write already applied
    this.sessions.set(command.clientId, command.seq);
    if (command.op === 'put') this.data.set(command.key, command.value);
    else this.data.set(command.key, (this.data.get(command.key) ?? '') + command.value);
  }

  get(key: string): string {
    return this.data.get(key) ?? '';
  }

  /** The last sequence number applied for a client (0: none). */
  lastApplied(clientId: number): number {
    return this.sessions.get(clientId) ?? 0;
  }

  get opaqueEntries(): number {
    return this.opaqueCount;
  }

  get size(): number {
    return this.data.size;
  }

  encode(): Uint8Array {
    const state: EncodedState = {
      data: [...this.data.entries()].sort(compareFirst),
      sessions: [...this.sessions.entries()].sort(compareFirst),
      opaque: this.opaque,
      opaqueCount: this.opaqueCount,
    };
    return textEncoder.encode(JSON.stringify(state));
  }

  /** Rebuilds a state machine from a snapshot's data (empty data: the empty state). */
  static decode(bytes: Uint8Array): KvStateMachine {
    const machine = new KvStateMachine();
    if (bytes.length === 0) return machine;
    const state = JSON.parse(textDecoder.decode(bytes)) as EncodedState;
    for (const [key, value] of state.data) machine.data.set(key, value);
    for (const [client, seq] of state.sessions) machine.sessions.set(client, seq);
    machine.opaque = state.opaque;
    machine.opaqueCount = state.opaqueCount;
    return machine;
  }

  /** A digest of the whole state, equal on replicas that applied the same prefix. */
  hash(): string {
    let h = 0x811c9dc5;
    const mix = (text: string): void => {
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      h = Math.imul(h ^ 0xff, 0x01000193);
    };
    for (const [key, value] of [...this.data.entries()].sort(compareFirst)) {
      mix(key);
      mix(value);
    }
    for (const [client, seq] of [...this.sessions.entries()].sort(compareFirst)) mix(`${client}:${seq}`);
    mix(`${this.opaque}:${this.opaqueCount}`);
    return `${(h >>> 0).toString(16)}/${this.data.size}/${this.opaqueCount}`;
  }

  private foldOpaque(bytes: Uint8Array): void {
    let h = this.opaque;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    this.opaque = Math.imul(h ^ bytes.length, 0x01000193) >>> 0;
    this.opaqueCount++;
  }
}

function compareFirst<K extends string | number>(a: [K, unknown], b: [K, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
