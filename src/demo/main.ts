/**
 * `npm start`: the demo a new user runs first. Flags: --seed N (default 7), --writes N.
 */
import { parseArgs } from 'node:util';
import { runRaftDemo } from './raft-demo.ts';

function main(): number {
  let values: { seed?: string; writes?: string };
  try {
    ({ values } = parseArgs({ options: { seed: { type: 'string' }, writes: { type: 'string' } }, strict: true }));
  } catch (error) {
    process.stderr.write(`metaraft demo: ${(error as Error).message}\n`);
    return 2;
  }
  const seed = Number(values.seed ?? 7);
  const writes = Number(values.writes ?? 60);
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(writes) || writes < 1) {
    process.stderr.write('metaraft demo: --seed and --writes take whole numbers (writes >= 1)\n');
    return 2;
  }
  const started = performance.now();
  const result = runRaftDemo({ seed, writes, print: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`(simulated on virtual time in ${(performance.now() - started).toFixed(0)} ms of real time; replay with --seed ${seed})\n`);
  return result.ok ? 0 : 1;
}

process.exitCode = main();
