/**
 * `metaraft status --addr IP:PORT [--pool 1] [--copysets 1,2,3]`: the Raft state of
 * copysets on one server, from CopysetService.GetCopysetsStatus (one line per copyset).
 */
import * as grpc from '@grpc/grpc-js';
import { CopysetOpStatus, clientServiceDefinition, type CopysetsStatusResponse } from '../proto/index.ts';
import { UsageError } from './cli-errors.ts';
import { parseFlags, parseIdList, parsePositiveInteger } from './parse-flags.ts';

const COPYSET_SERVICE = 'curvefs.metaserver.copyset.CopysetService';
/** A status query answers from memory; a server that takes longer is not answering. */
const STATUS_TIMEOUT_MS = 5000;
const STATE_NAMES: Record<number, string> = { 1: 'leader', 2: 'transferring', 3: 'candidate', 4: 'follower', 5: 'error', 6: 'loading' };

export async function statusCommand(args: readonly string[]): Promise<number> {
  const { values } = parseFlags(args, { addr: { type: 'string' }, pool: { type: 'string' }, copysets: { type: 'string' } });
  if (values.addr === undefined || !/^[^:\s]+:\d{1,5}$/.test(values.addr)) throw new UsageError('--addr IP:PORT is required');
  const poolId = parsePositiveInteger(values.pool, '--pool') ?? 1;
  const copysetIds = parseIdList(values.copysets ?? '1', '--copysets');
  const Client = grpc.makeGenericClientConstructor(clientServiceDefinition(COPYSET_SERVICE) as unknown as grpc.ServiceDefinition, COPYSET_SERVICE);
  const client = new Client(values.addr, grpc.credentials.createInsecure());
  try {
    const response = await new Promise<CopysetsStatusResponse>((resolve, reject) => {
      const request = { copysets: copysetIds.map((copysetId) => ({ poolId, copysetId })) };
      (client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: (e: Error | null, v: CopysetsStatusResponse) => void) => void>)
        .GetCopysetsStatus!.call(client, request, { deadline: Date.now() + STATUS_TIMEOUT_MS }, (error, value) => (error ? reject(error) : resolve(value)));
    });
    process.stdout.write('copyset      state         leader                  term   commit  applied  first   last    epoch\n');
    response.status.forEach((answer, i) => {
      const name = `${poolId}/${copysetIds[i]}`.padEnd(12);
      const s = answer.copysetStatus;
      if (answer.status !== CopysetOpStatus.COPYSET_OP_STATUS_SUCCESS || s === undefined) {
        process.stdout.write(`${name} ${answer.status === CopysetOpStatus.COPYSET_OP_STATUS_COPYSET_NOTEXIST ? 'not here' : `status ${answer.status}`}\n`);
        return;
      }
      const cells = [STATE_NAMES[s.state] ?? String(s.state), s.leader.address ?? '-', s.term, s.committedIndex, s.knownAppliedIndex, s.firstIndex, s.lastIndex, s.epoch];
      const widths = [13, 23, 6, 7, 8, 7, 7, 5];
      process.stdout.write(`${name} ${cells.map((cell, j) => String(cell).padEnd(widths[j]!)).join(' ')}\n`);
    });
    return 0;
  } catch (error) {
    process.stderr.write(`metaraft status: ${values.addr}: ${(error as grpc.ServiceError).details ?? (error as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
