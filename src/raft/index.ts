export * from './types.ts';
export * from './errors.ts';
export { RaftNode } from './raft-node.ts';
export { newMessage } from './messages.ts';
export { MemoryLogStorage, EMPTY_HARD_STATE } from './memory-storage.ts';
export { encodeConfigChange, decodeConfigChange } from './config-codec.ts';
