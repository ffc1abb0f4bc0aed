import type { Message } from './types.ts';

const EMPTY: readonly never[] = Object.freeze([]);

/** A message with every field not given set to its zero value. */
export function newMessage(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: EMPTY,
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: '',
    ...fields,
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
