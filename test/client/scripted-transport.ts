/**
 * Test doubles for the retry logic: a fake clock whose sleeps advance virtual time at
 * once, and a transport whose peers are scripted functions. A peer that "hangs" costs
 * the attempt's whole timeout on the fake clock, then fails DEADLINE_EXCEEDED, as gRPC
 * would.
 */

import { TransportError, type ClientClock, type PeerTransport } from '../../src/client/index.ts';

export class FakeClock implements ClientClock {
  now = 0;
  readonly sleeps: number[] = [];

  nowMs(): number {
    return this.now;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.now += ms;
  }
}

export interface SentCall {
  readonly at: number;
  readonly address: string;
  readonly method: string;
  readonly request: Record<string, any>;
  readonly timeoutMs: number;
}

/** What a scripted peer does with one call: answer, or fail like gRPC would. */
export type PeerBehaviour = (method: string, request: Record<string, any>) => Record<string, unknown> | 'unavailable' | 'hang';

export class ScriptedTransport implements PeerTransport {
  readonly sent: SentCall[] = [];
  readonly peers = new Map<string, PeerBehaviour>();

  constructor(private readonly clock: FakeClock) {}

  async unary(address: string, _service: string, method: string, request: unknown, timeoutMs: number): Promise<any> {
    this.sent.push({ at: this.clock.now, address, method, request: request as Record<string, any>, timeoutMs });
    const behaviour = this.peers.get(address);
    const outcome = behaviour === undefined ? 'unavailable' : behaviour(method, request as Record<string, any>);
    if (outcome === 'unavailable') throw new TransportError('UNAVAILABLE', address, 'connection refused', { grpcCode: 14 });
    if (outcome === 'hang') {
      this.clock.now += timeoutMs;
      throw new TransportError('DEADLINE_EXCEEDED', address, 'deadline exceeded', { grpcCode: 4 });
    }
    return outcome;
  }

  close(): void {}

  /** The methods sent, as `method@address`. */
  trace(): string[] {
    return this.sent.map((call) => `${call.method}@${call.address}`);
  }
}
