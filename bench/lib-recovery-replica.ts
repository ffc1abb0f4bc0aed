/**
 * The process the `recovery` suite times: a replica restarting over an existing data
 * folder. Run as `node --import tsx bench/lib-recovery-replica.ts <folder> <inodeId>`.
 *
 * It opens the log store (which checks every entry), starts a RaftHost whose state
 * machine is the copyset's (CopysetNode: MetaStore + executor), which loads the
 * snapshot file and replays the committed entries after it; the group has this replica
 * as its only voter, so it campaigns at once (no election timeout is waited for), then
 * answers a linearizable GetInode of the inode created by the last log entry. It prints
 * one line `recovered <json>` with the milestones in ms since the process started
 * (performance.timeOrigin) and the process's CPU time at each (`cpu`), then stops.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MetaStatusCode } from '../src/executor/status.ts';
import { InMemoryHub } from '../src/host/in-memory-transport.ts';
import { RaftHost } from '../src/host/raft-host.ts';
import type { GroupId } from '../src/raft/types.ts';
import { CopysetNode } from '../src/server/copyset-node.ts';
import { LogStore } from '../src/storage/log-store.ts';

const GROUP_ID: GroupId = 1;
const ROUTE = { poolId: 1, copysetId: 1, partitionId: 1 };

/** The process's CPU time so far (user + system, every thread: level reads on its own), in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function main(): Promise<void> {
  const modulesLoadedMs = performance.now();
  const modulesLoadedCpuMs = cpuMs();
  const [folder, inodeText] = process.argv.slice(2);
  if (folder === undefined || inodeText === undefined) throw new Error('usage: lib-recovery-replica.ts <folder> <inodeId>');
  const inodeId = Number(inodeText);
  const logStore = await LogStore.open(join(folder, 'log'));
  const logOpenedMs = performance.now();
  const logOpenedCpuMs = cpuMs();
  const nodes = new Map<GroupId, CopysetNode>();
  let host: RaftHost;
  host = new RaftHost({
    nodeId: 1,
    snapshotDir: join(folder, 'snapshots'),
    logStore,
    transport: new InMemoryHub().connect(1),
    stateMachineFactory: (group) => {
      const node = new CopysetNode(group, () => host, { leaderReadyTimeoutMs: 60_000 });
      nodes.set(group, node);
      return node.machine;
    },
    requestTimeoutMs: 60_000,
  });
  await host.start();
  const snapshotLoadedMs = performance.now();
  const snapshotLoadedCpuMs = cpuMs();
  const node = nodes.get(GROUP_ID);
  if (node === undefined) throw new Error(`group ${GROUP_ID} was not found in ${folder}`);
  host.campaign(GROUP_ID);
  const response = await node.read('GetInode', { ...ROUTE, fsId: 1, inodeId });
  const readMs = performance.now();
  const readCpuMs = cpuMs();
  if (response.statusCode !== MetaStatusCode.OK || response.inode?.inodeId !== inodeId) throw new Error(`GetInode ${inodeId} answered status ${response.statusCode}`);
  const applied = node.store.appliedIndex;
  await host.stop();
  process.stdout.write(`recovered ${JSON.stringify({ modulesLoadedMs, logOpenedMs, snapshotLoadedMs, readMs, applied, cpu: { modulesLoadedMs: modulesLoadedCpuMs, logOpenedMs: logOpenedCpuMs, snapshotLoadedMs: snapshotLoadedCpuMs, readMs: readCpuMs } })}\n`);
}

await main();
