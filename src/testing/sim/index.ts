export { Simulator, type SimOptions, type WorkloadOptions } from './simulator.ts';
export { SimNetwork, DEFAULT_NETWORK_OPTIONS, type NetworkOptions, type Envelope, type NetworkStats } from './network.ts';
export { SimDisk, cloneStorage } from './sim-disk.ts';
export { EventQueue, type SimEvent } from './event-queue.ts';
export { KvStateMachine, encodeCommand, decodeCommand, type KvCommand, type KvWriteOp } from './kv-state-machine.ts';
export { Replica, applyConfigChange, type RaftOptions, type DiskOptions, type ReplicaReply } from './replica.ts';
export { SafetyChecker, SafetyViolation, bytesEqual, type ReplicaView } from './safety-checker.ts';
export { SimClient, DEFAULT_CLIENT_OPTIONS, type ClientOptions, type OpHandle } from './sim-client.ts';
export { createRaftNode, type RaftCore, type CoreFactory } from './raft-core.ts';
