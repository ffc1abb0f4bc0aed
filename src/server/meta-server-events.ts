/** What a MetaServer reports as it runs: a typed wrapper over Node's EventEmitter. */
import { EventEmitter } from 'node:events';

export interface MetaServerEventMap {
  /** Serving: every copyset on disk is loaded. */
  started: { readonly address: string; readonly nodeId: number; readonly copysets: number };
  /** One copyset loaded at startup (`loaded` of `total`, loading runs in parallel). */
  'copyset-loaded': { readonly poolId: number; readonly copysetId: number; readonly loaded: number; readonly total: number };
  'leader-changed': { readonly poolId: number; readonly copysetId: number; readonly leader: string; readonly term: number };
  snapshot: { readonly poolId: number; readonly copysetId: number; readonly index: number; readonly term: number; readonly kind: 'taken' | 'installed' };
  /** Something failed that the server could not retry (a copyset or the log store). */
  failure: { readonly poolId: number | null; readonly copysetId: number | null; readonly error: Error };
  stopped: { readonly address: string };
}

export type MetaServerEventName = keyof MetaServerEventMap;

export class MetaServerEvents {
  private readonly emitter = new EventEmitter();

  on<K extends MetaServerEventName>(event: K, listener: (payload: MetaServerEventMap[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  once<K extends MetaServerEventName>(event: K): Promise<MetaServerEventMap[K]> {
    return new Promise((resolve) => this.emitter.once(event, resolve));
  }

  emit<K extends MetaServerEventName>(event: K, payload: MetaServerEventMap[K]): void {
    this.emitter.emit(event, payload);
  }
}
