/**
 * `metaraft snapshot inspect FILE`: verifies a snapshot file (structure and checksum)
 * and prints what it records: index, term, membership (as peer addresses), epoch,
 * pair count, size and checksum.
 */
import { addressOfNodeId } from '../server/peer-id.ts';
import { SnapshotFileError, inspectSnapshotFile } from '../storage/snapshot-file.ts';
import { UsageError } from './cli-errors.ts';
import { parseFlags } from './parse-flags.ts';

function describeNode(id: number): string {
  try {
    return `${addressOfNodeId(id)} (${id})`;
  } catch {
    return String(id);
  }
}

export async function snapshotCommand(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'inspect') throw new UsageError(`unknown snapshot action ${JSON.stringify(action ?? '')}; usage: metaraft snapshot inspect FILE`);
  const { positionals } = parseFlags(rest, {}, true);
  if (positionals.length !== 1) throw new UsageError('usage: metaraft snapshot inspect FILE');
  const path = positionals[0]!;
  try {
    const info = await inspectSnapshotFile(path);
    const { index, term, config, userData } = info.metadata;
    const lines = [
      `file      ${info.path}`,
      `format    version ${info.version}`,
      `index     ${index}`,
      `term      ${term}`,
      `voters    ${config.voters.map(describeNode).join(', ') || '-'}`,
      `learners  ${config.learners.map(describeNode).join(', ') || '-'}`,
      `epoch     ${config.epoch}`,
      `pairs     ${info.pairCount}`,
      `bytes     ${info.bytes}`,
      `checksum  crc32c ${info.checksum.toString(16).padStart(8, '0')} (verified)`,
      `userdata  ${Buffer.from(userData).toString('hex') || '-'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof SnapshotFileError) {
      process.stderr.write(`metaraft snapshot inspect: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
