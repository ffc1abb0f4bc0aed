import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError, RaftError } from '../../src/raft/errors.ts';
import { checkOperations } from '../../src/testing/linearizability.ts';
import { type KvOperation, kvModel } from '../../src/testing/kv-model.ts';
import { TestCluster, sleep, waitFor } from './cluster.ts';
import { encodePut } from './kv-machine.ts';

const NODES = [1, 2, 3];
const G = 31;

for (const readMode of ['read-index', 'lease'] as const) {
  describe(`RaftHost: linearizable reads (${readMode})`, () => {
    let cluster: TestCluster | null = null;
    afterEach(async () => {
      await cluster?.close();
      cluster = null;
    });

    it('a follower refuses with a leader hint; concurrent writes and reads across leader changes are linearizable', async () => {
      cluster = await TestCluster.start(NODES, { readMode });
      await cluster.createGroup(G);
      const leader = await cluster.waitForLeader(G);
      await cluster.put(G, 'x', 'initial');
      const follower = NODES.find((id) => id !== leader)!;
      await waitFor(() => cluster!.host(follower).status(G).leader === leader, 5000, 'the follower knowing its leader');
      const refusal = await cluster.host(follower).read(G).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(NotLeaderError);
      expect((refusal as NotLeaderError).leaderHint).toBe(leader);

      const history: KvOperation[] = [{ clientId: 0, input: { op: 'put', key: 'x', value: 'initial' }, output: { value: '' }, call: 0, return: 1 }];
      const clock = (): number => performance.now();
      let stop = false;
      let sequence = 0;
      const writer = async (clientId: number): Promise<void> => {
        while (!stop) {
          const id = cluster!.leaderOf(G);
          if (id === null) {
            await sleep(5);
            continue;
          }
          const value = `w${clientId}.${++sequence}`;
          const op: KvOperation = { clientId, input: { op: 'put', key: 'x', value }, output: { value: '' }, call: clock(), return: Infinity };
          history.push(op);
          try {
            await cluster!.host(id).propose(G, encodePut('x', value), { timeoutMs: 1000 });
            op.return = clock();
          } catch (error) {
            // Refused or overwritten: it never took effect. Otherwise (a timeout) the
            // outcome is unknown: it may still apply, so its return stays Infinity.
            if (error instanceof RaftError) history.splice(history.indexOf(op), 1);
            await sleep(5);
          }
        }
      };
      const reader = async (clientId: number): Promise<void> => {
        while (!stop) {
          const id = cluster!.leaderOf(G);
          if (id === null) {
            await sleep(5);
            continue;
          }
          const call = clock();
          try {
            await cluster!.host(id).read(G, { timeoutMs: 1000 });
            const value = cluster!.machine(id, G).get('x') ?? '';
            history.push({ clientId, input: { op: 'get', key: 'x', value: '' }, output: { value }, call, return: clock() });
          } catch {
            await sleep(5); // a refused read has no effect: leave it out
          }
        }
      };
      const clients = [writer(1), writer(2), reader(3), reader(4), reader(5)];
      for (let round = 0; round < 3; round++) {
        await sleep(60);
        const current = cluster.leaderOf(G);
        if (current === null) continue;
        const target = NODES.find((id) => id !== current)!;
        try {
          cluster.host(current).transferLeadership(G, target);
        } catch {
          // leadership moved meanwhile
        }
        await sleep(60);
      }
      stop = true;
      await Promise.all(clients);
      const reads = history.filter((op) => op.input.op === 'get');
      expect(reads.length).toBeGreaterThan(5);
      const outcome = checkOperations(kvModel, history, { timeoutMs: 20_000 });
      expect(outcome.result, outcome.info).toBe('ok');
    });

    it('an isolated old leader never serves a read', async () => {
      cluster = await TestCluster.start(NODES, { readMode, quiesceAfterTicks: 0 });
      await cluster.createGroup(G);
      const old = await cluster.waitForLeader(G);
      await cluster.put(G, 'x', 'before');
      cluster.hub.isolate(old);
      // The majority moves on and writes a newer value.
      await waitFor(() => {
        const leader = cluster!.leaderOf(G);
        return leader !== null && leader !== old;
      }, 10_000, 'a new leader in the majority');
      await cluster.put(G, 'x', 'after');
      // The old leader's lease (if any) ended before the new leader could be elected, and
      // no quorum answers its ReadIndex: its read must be refused, not served stale.
      const staleRead = await cluster.host(old).read(G, { timeoutMs: 1000 }).then(
        () => 'served',
        () => 'refused',
      );
      expect(staleRead).toBe('refused');
      expect(cluster.machine(old, G).get('x')).toBe('before');
    });
  });
}
