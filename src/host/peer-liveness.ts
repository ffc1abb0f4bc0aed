/**
 * Host-level liveness of peer processes. Quiesced groups send nothing, so a follower
 * cannot notice that its leader's process died from Raft traffic alone: every host
 * sends each peer process one keepalive per heartbeat interval when it has sent that
 * peer nothing else, and suspects a peer unheard for a liveness timeout. One message
 * per peer process per interval, whatever the number of groups (decision 4).
 */
import type { NodeId } from '../raft/types.ts';

export class PeerLiveness {
  private readonly lastHeardMs = new Map<NodeId, number>();
  private readonly lastSentMs = new Map<NodeId, number>();
  private readonly suspected = new Set<NodeId>();

  constructor(
    private readonly keepaliveEveryMs: number,
    private readonly timeoutMs: number,
  ) {}

  heard(peer: NodeId, nowMs: number): void {
    this.lastHeardMs.set(peer, nowMs);
    this.suspected.delete(peer);
  }

  sent(peer: NodeId, nowMs: number): void {
    this.lastSentMs.set(peer, nowMs);
  }

  /** Whether `peer` needs a keepalive now (nothing sent to it for an interval). */
  keepaliveDue(peer: NodeId, nowMs: number): boolean {
    return nowMs - (this.lastSentMs.get(peer) ?? -Infinity) >= this.keepaliveEveryMs;
  }

  /**
   * Peers (of `peers`) unheard for longer than the timeout that were not suspected yet.
   * A peer seen for the first time starts its clock now.
   */
  newlySuspected(peers: Iterable<NodeId>, nowMs: number): NodeId[] {
    const out: NodeId[] = [];
    for (const peer of peers) {
      const heard = this.lastHeardMs.get(peer);
      if (heard === undefined) {
        this.lastHeardMs.set(peer, nowMs);
        continue;
      }
      if (nowMs - heard > this.timeoutMs && !this.suspected.has(peer)) {
        this.suspected.add(peer);
        out.push(peer);
      }
    }
    return out;
  }

  isSuspected(peer: NodeId): boolean {
    return this.suspected.has(peer);
  }
}
