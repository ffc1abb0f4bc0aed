import { afterEach, describe, expect, it } from 'vitest';
import { HostError, OverloadError } from '../../src/host/host-errors.ts';
import { TestCluster } from './cluster.ts';
import { encodePut } from './kv-machine.ts';

const LIMIT = 8;

describe('RaftHost: backpressure', () => {
  let cluster: TestCluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it('refuses requests beyond the in-flight limit with OVERLOAD, and accepts again once they settle', async () => {
    cluster = await TestCluster.start([1, 2, 3], { maxInFlightRequests: LIMIT });
    await cluster.createGroup(41);
    await cluster.createGroup(42);
    const leaderId = await cluster.waitForLeader(41);
    await cluster.put(41, 'warm', 'up');
    const host = cluster.host(leaderId);
    const outcomes = Array.from({ length: 20 }, (_, k) =>
      (k % 4 === 3 ? host.read(41) : host.propose(41, encodePut(`k${k}`, 'v'))).then(
        () => 'ok',
        (error: unknown) => error,
      ),
    );
    expect(host.requestsInFlight).toBe(LIMIT);
    const settled = await Promise.all(outcomes);
    expect(settled.slice(0, LIMIT)).toEqual(Array(LIMIT).fill('ok'));
    for (const refusal of settled.slice(LIMIT)) {
      expect(refusal).toBeInstanceOf(OverloadError);
      expect((refusal as HostError).code).toBe('OVERLOAD');
    }
    // The limit is per host, across groups, and frees as requests settle.
    expect(host.requestsInFlight).toBe(0);
    await expect(host.propose(41, encodePut('again', 'v'))).resolves.toMatchObject({ index: expect.any(Number) });
    // Unknown groups fail with their own code, not OVERLOAD.
    await expect(host.propose(99, encodePut('k', 'v'))).rejects.toMatchObject({ code: 'NO_SUCH_GROUP' });
  });
});
