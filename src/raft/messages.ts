import type { Message } from './types.ts';

const EMPTY: readonly never[] = Object.freeze([]);

/** A message with every field not given set to its zero value (fields listed: V8 is slow at spreads here). */
export function newMessage(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    type: fields.type,
    from: fields.from,
    to: fields.to,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? EMPTY,
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    snapshot: fields.snapshot ?? null,
    context: fields.context ?? '',
  };
}

/** Whether a message comes from the leader of its term (it resets election timers). */
export function isLeaderMessage(m: Message): boolean {
  return m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'timeout-now';
}

/** The response type for a vote request of either kind. */
export function voteResponseType(m: Message): 'vote-response' | 'pre-vote-response' {
  return m.type === 'pre-vote' ? 'pre-vote-response' : 'vote-response';
}
