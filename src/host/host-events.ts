/**
 * What a host reports as it runs: leader changes, snapshots taken and installed, groups
 * loaded at startup (with progress, since loading many groups takes a while), and
 * failures that stopped a group or the host. A typed wrapper over Node's EventEmitter.
 */
import { EventEmitter } from 'node:events';
import type { GroupId, Index, NodeId, Term } from '../raft/types.ts';

export interface HostEventMap {
  'leader-change': { readonly group: GroupId; readonly leader: NodeId; readonly term: Term };
  'snapshot-taken': { readonly group: GroupId; readonly index: Index; readonly term: Term };
  'snapshot-installed': { readonly group: GroupId; readonly index: Index; readonly term: Term; readonly from: NodeId };
  'group-loaded': { readonly group: GroupId; readonly loaded: number; readonly total: number };
  /** Something failed that the host could not retry (the log store, a snapshot restore). */
  failure: { readonly group: GroupId | null; readonly error: Error };
}

export type HostEventName = keyof HostEventMap;

export class HostEvents {
  private readonly emitter = new EventEmitter();

  on<K extends HostEventName>(event: K, listener: (payload: HostEventMap[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<K extends HostEventName>(event: K, payload: HostEventMap[K]): void {
    this.emitter.emit(event, payload);
  }
}
