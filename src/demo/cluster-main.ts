/**
 * Runs the cluster demo: `tsx src/demo/cluster-main.ts [--clients N] [--files N]
 * [--servers N] [--copysets N] [--partitions N] [--fsync]`.
 * Exit status: 0 done, 1 failed, 2 bad flags, 130 / 143 stopped by SIGINT / SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DemoAbortedError, runClusterDemo } from './cluster-demo.ts';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_SIGNAL_BASE = 128;
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

function integerFlag(values: Record<string, unknown>, name: string): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new RangeError(`--${name} must be a whole number, got "${String(text)}"`);
  return value;
}

async function main(): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      options: {
        clients: { type: 'string' },
        files: { type: 'string' },
        servers: { type: 'string' },
        copysets: { type: 'string' },
        partitions: { type: 'string' },
        fsync: { type: 'boolean' },
      },
      strict: true,
    });
    const pick = (name: string, key: string): Record<string, number> => {
      const value = integerFlag(values, name);
      return value === undefined ? {} : { [key]: value };
    };
    options = {
      ...pick('clients', 'clients'),
      ...pick('files', 'filesPerClient'),
      ...pick('servers', 'servers'),
      ...pick('copysets', 'copysets'),
      ...pick('partitions', 'partitions'),
      // Demo default: no fsync per log write (CurveFS's later default); --fsync to turn it on.
      tuning: { fsync: values.fsync === true },
    };
  } catch (error) {
    process.stderr.write(`cluster demo: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  try {
    await runClusterDemo(options);
    return 0;
  } catch (error) {
    if (error instanceof DemoAbortedError) {
      const reason = error.message.replace(/^demo stopped: /, '');
      process.stderr.write(`cluster demo: stopped (${reason}); every server process was stopped\n`);
      const signal = SIGNAL_NUMBERS[reason];
      return signal === undefined ? EXIT_FAILURE : EXIT_SIGNAL_BASE + signal;
    }
    process.stderr.write(`cluster demo failed: ${(error as Error).message}\n`);
    return error instanceof RangeError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`cluster demo failed: ${(error as Error).message}\n`);
    process.exit(EXIT_FAILURE);
  },
);
