/**
 * The `metaraft` command.
 *
 *   metaraft serve    --listen IP:PORT --data DIR [--id NAME] [--peers ...] [--config FILE]
 *   metaraft cluster  --nodes 3 --port PORT --data DIR [--copysets 1,2]
 *   metaraft status   --addr IP:PORT [--pool 1] [--copysets 1,2]
 *   metaraft snapshot inspect FILE
 *
 * Exit status: 0 done, 1 failed, 2 bad flags or configuration (one line on stderr).
 */
import { ConfigError } from '../server/meta-server-config.ts';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './cli-errors.ts';
import { clusterCommand } from './cluster-command.ts';
import { serveCommand } from './serve-command.ts';
import { snapshotCommand } from './snapshot-command.ts';
import { statusCommand } from './status-command.ts';

const USAGE = `usage: metaraft <command> [flags]
  serve     --listen IP:PORT --data DIR [--id NAME] [--peers IP:PORT[:I],...] [--copysets ID,...] [--pool ID] [--config FILE]
  cluster   --nodes N --port PORT --data DIR [--copysets ID,...] [--pool ID]
  status    --addr IP:PORT [--pool ID] [--copysets ID,...]
  snapshot  inspect FILE
`;

/** ConfigErrors found by looking at the configuration alone are usage errors; the rest (port, folder) are failures. */
const USAGE_CONFIG_CODES = new Set(['BAD_ADDRESS', 'BAD_PEER', 'BAD_OPTION', 'BAD_CONFIG_FILE']);

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(args);
      case 'cluster':
        return await clusterCommand(args);
      case 'status':
        return await statusCommand(args);
      case 'snapshot':
        return await snapshotCommand(args);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(command === undefined ? 'no command given (serve, cluster, status, snapshot; try --help)' : `unknown command "${command}" (serve, cluster, status, snapshot; try --help)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`metaraft: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`metaraft: ${error.code}: ${error.message}\n`);
      return USAGE_CONFIG_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
    }
    process.stderr.write(`metaraft: ${(error as Error).message.split('\n')[0]}\n`);
    return EXIT_FAILURE;
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`metaraft: ${(error as Error).message}\n`);
    process.exit(EXIT_FAILURE);
  },
);
