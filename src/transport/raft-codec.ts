/**
 * Converts the Raft core's messages (src/raft/types.ts) to and from the
 * `metaraft.raft` wire messages, losslessly. What arrives is validated here, once:
 * every number is a safe integer (the message codec refuses others), every enum value
 * is one the core knows, and a snapshot message carries its metadata.
 */

import type {
  ConfigState,
  Entry,
  EntryType,
  GroupId,
  Message,
  MessageType,
  NodeId,
  SnapshotMetadata,
} from '../raft/types.ts';
import { messageCodec } from '../proto/message-registry.ts';
import {
  WireEntryType,
  WireMessageType,
  type WireConfigState,
  type WireEntry,
  type WireMessage,
  type WireSnapshotMetadata,
} from '../proto/raft-wire-types.ts';
import { WireFormatError } from '../proto/wire-format-error.ts';

const MESSAGE_TYPE = 'metaraft.raft.Message';

const MESSAGE_TYPE_TO_WIRE: Readonly<Record<MessageType, WireMessageType>> = {
  append: WireMessageType.MESSAGE_TYPE_APPEND,
  'append-response': WireMessageType.MESSAGE_TYPE_APPEND_RESPONSE,
  heartbeat: WireMessageType.MESSAGE_TYPE_HEARTBEAT,
  'heartbeat-response': WireMessageType.MESSAGE_TYPE_HEARTBEAT_RESPONSE,
  'pre-vote': WireMessageType.MESSAGE_TYPE_PRE_VOTE,
  'pre-vote-response': WireMessageType.MESSAGE_TYPE_PRE_VOTE_RESPONSE,
  vote: WireMessageType.MESSAGE_TYPE_VOTE,
  'vote-response': WireMessageType.MESSAGE_TYPE_VOTE_RESPONSE,
  snapshot: WireMessageType.MESSAGE_TYPE_SNAPSHOT,
  'snapshot-response': WireMessageType.MESSAGE_TYPE_SNAPSHOT_RESPONSE,
  'timeout-now': WireMessageType.MESSAGE_TYPE_TIMEOUT_NOW,
};

const MESSAGE_TYPE_FROM_WIRE: ReadonlyMap<number, MessageType> = new Map(
  Object.entries(MESSAGE_TYPE_TO_WIRE).map(([type, wire]) => [wire, type as MessageType]),
);

const ENTRY_TYPE_TO_WIRE: Readonly<Record<EntryType, WireEntryType>> = {
  normal: WireEntryType.ENTRY_TYPE_NORMAL,
  config: WireEntryType.ENTRY_TYPE_CONFIG,
};

const ENTRY_TYPE_FROM_WIRE: ReadonlyMap<number, EntryType> = new Map(
  Object.entries(ENTRY_TYPE_TO_WIRE).map(([type, wire]) => [wire, type as EntryType]),
);

function refuse(
  code: 'UNKNOWN_ENUM' | 'INVALID_FIELD',
  messageType: string,
  path: string,
  detail: string,
): WireFormatError {
  return new WireFormatError(code, messageType, path, detail);
}

// ---------------------------------------------------------------- to the wire

function entryToWire(entry: Entry, path: string): WireEntry {
  const type = ENTRY_TYPE_TO_WIRE[entry.type];
  if (type === undefined) throw refuse('UNKNOWN_ENUM', MESSAGE_TYPE, `${path}.type`, `unknown entry type ${entry.type}`);
  return { term: entry.term, index: entry.index, type, data: entry.data };
}

export function configToWire(config: ConfigState): WireConfigState {
  return { voters: config.voters, learners: config.learners, epoch: config.epoch };
}

export function snapshotMetadataToWire(metadata: SnapshotMetadata): WireSnapshotMetadata {
  return { index: metadata.index, term: metadata.term, config: configToWire(metadata.config) };
}

/** The wire form of a core message. Throws WireFormatError on a value the wire cannot carry. */
export function messageToWire(message: Message): WireMessage {
  const type = MESSAGE_TYPE_TO_WIRE[message.type];
  if (type === undefined) throw refuse('UNKNOWN_ENUM', MESSAGE_TYPE, 'type', `unknown message type ${message.type}`);
  const wire: WireMessage = {
    type,
    from: message.from,
    to: message.to,
    term: message.term,
    log_term: message.logTerm,
    index: message.index,
    entries: message.entries.map((entry, i) => entryToWire(entry, `entries[${i}]`)),
    commit: message.commit,
    reject: message.reject,
    reject_hint: message.rejectHint,
    context: message.context,
  };
  if (message.snapshot === null) return wire;
  return {
    ...wire,
    snapshot: { metadata: snapshotMetadataToWire(message.snapshot.metadata), data: message.snapshot.data },
  };
}

// ---------------------------------------------------------------- from the wire

function entryFromWire(entry: WireEntry, path: string): Entry {
  const type = ENTRY_TYPE_FROM_WIRE.get(entry.type);
  if (type === undefined) throw refuse('UNKNOWN_ENUM', MESSAGE_TYPE, `${path}.type`, `unknown entry type ${entry.type}`);
  return { term: entry.term, index: entry.index, type, data: entry.data };
}

export function configFromWire(config: WireConfigState | undefined, messageType: string, path: string): ConfigState {
  if (config === undefined) throw refuse('INVALID_FIELD', messageType, path, 'missing configuration');
  return { voters: config.voters, learners: config.learners, epoch: config.epoch };
}

export function snapshotMetadataFromWire(
  metadata: WireSnapshotMetadata | undefined,
  messageType: string,
  path: string,
): SnapshotMetadata {
  if (metadata === undefined) throw refuse('INVALID_FIELD', messageType, path, 'missing snapshot metadata');
  return {
    index: metadata.index,
    term: metadata.term,
    config: configFromWire(metadata.config, messageType, `${path}.config`),
  };
}

/** The core message a wire message stands for. Throws WireFormatError when it stands for none. */
export function messageFromWire(wire: WireMessage, messageType: string = MESSAGE_TYPE, path = ''): Message {
  const at = (field: string): string => (path === '' ? field : `${path}.${field}`);
  const type = MESSAGE_TYPE_FROM_WIRE.get(wire.type);
  if (type === undefined) throw refuse('UNKNOWN_ENUM', messageType, at('type'), `unknown message type ${wire.type}`);
  const snapshot =
    wire.snapshot === undefined
      ? null
      : {
          metadata: snapshotMetadataFromWire(wire.snapshot.metadata, messageType, at('snapshot.metadata')),
          data: wire.snapshot.data,
        };
  return {
    type,
    from: wire.from,
    to: wire.to,
    term: wire.term,
    logTerm: wire.log_term,
    index: wire.index,
    entries: wire.entries.map((entry, i) => entryFromWire(entry, at(`entries[${i}]`))),
    commit: wire.commit,
    reject: wire.reject,
    rejectHint: wire.reject_hint,
    snapshot,
    context: wire.context,
  };
}

// ---------------------------------------------------------------- bytes

export function encodeRaftMessage(message: Message): Uint8Array {
  return messageCodec('metaraft.raft.Message').encode(messageToWire(message));
}

export function decodeRaftMessage(bytes: Uint8Array): Message {
  return messageFromWire(messageCodec('metaraft.raft.Message').decode(bytes));
}

/** One group's message inside a batch. */
export interface GroupMessage {
  readonly groupId: GroupId;
  readonly message: Message;
}

/** The messages of all groups one process sends another in one turn. */
export interface RaftMessageBatch {
  readonly fromNode: NodeId;
  readonly toNode: NodeId;
  /** Increases by one per batch on a stream, from 1; the receiver acks it. */
  readonly sequence: number;
  readonly messages: readonly GroupMessage[];
}

const BATCH_TYPE = 'metaraft.raft.RaftBatch';

export function encodeRaftBatch(batch: RaftMessageBatch): Uint8Array {
  return messageCodec(BATCH_TYPE).encode({
    from_node: batch.fromNode,
    to_node: batch.toNode,
    sequence: batch.sequence,
    messages: batch.messages.map((item) => ({ group_id: item.groupId, message: messageToWire(item.message) })),
  });
}

export function decodeRaftBatch(bytes: Uint8Array): RaftMessageBatch {
  const wire = messageCodec(BATCH_TYPE).decode(bytes);
  return {
    fromNode: wire.from_node,
    toNode: wire.to_node,
    sequence: wire.sequence,
    messages: wire.messages.map((item, i) => {
      const path = `messages[${i}]`;
      if (item.message === undefined) throw refuse('INVALID_FIELD', BATCH_TYPE, `${path}.message`, 'missing message');
      return { groupId: item.group_id, message: messageFromWire(item.message, BATCH_TYPE, `${path}.message`) };
    }),
  };
}
