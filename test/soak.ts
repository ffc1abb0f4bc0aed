/**
 * Soak runner for the model-based Raft property: many more runs than CI, with fresh
 * seeds. Prints every seed it uses; on a failure prints the seed and the fast-check
 * path that replay it, and exits non-zero.
 *
 *   npx tsx test/soak.ts --runs 200 [--seed 12345] [--commands 150]
 *   npx tsx test/soak.ts --seed 12345 --path "3:1:0" --replay-path "AB:C" [--commands 150]   (replay one failure)
 */
import fc from 'fast-check';
import { raftProperty } from './sim/raft-property.ts';

interface Args {
  runs: number;
  seed: number | null;
  path: string | null;
  replayPath: string | null;
  commands: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { runs: 20, seed: null, path: null, replayPath: null, commands: 150 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--runs') args.runs = Number(value);
    else if (flag === '--seed') args.seed = Number(value);
    else if (flag === '--path') args.path = value;
    else if (flag === '--replay-path') args.replayPath = value;
    else if (flag === '--commands') args.commands = Number(value);
    else throw new Error(`unknown flag ${flag}`);
    i++;
  }
  if (!Number.isSafeInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  if (!Number.isSafeInteger(args.commands) || args.commands < 1) throw new Error('--commands must be a positive integer');
  return args;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const totals = { runs: 0, commands: 0, virtualMs: 0, events: 0, operations: 0, acknowledged: 0, terms: 0 };
  const property = raftProperty({
    maxCommands: args.commands,
    ...(args.replayPath !== null ? { replayPath: args.replayPath } : {}),
    onRunPassed: (stats) => {
      totals.runs++;
      totals.commands += stats.commands;
      totals.virtualMs += stats.virtualMs;
      totals.events += stats.events;
      totals.operations += stats.operations;
      totals.acknowledged += stats.acknowledged;
      totals.terms += stats.terms;
    },
  });
  // One fast-check seed per run, so each run replays on its own from the printed seed.
  const firstSeed = args.seed ?? (Date.now() ^ (process.pid << 16)) >>> 0;
  const runs = args.path !== null ? 1 : args.runs;
  const started = Date.now();
  for (let run = 0; run < runs; run++) {
    const seed = (firstSeed + run) | 0;
    const options: fc.Parameters<unknown> = { seed, numRuns: 1, ...(args.path !== null ? { path: args.path } : {}) };
    const result = fc.check(property, options as fc.Parameters<[number, Iterable<fc.Command<object, object>>, boolean]>);
    if (result.failed) {
      console.error(`run ${run + 1}/${runs} FAILED: seed=${seed} path=${result.counterexamplePath ?? ''}`);
      console.error(fc.defaultReportMessage(result) ?? '');
      console.error(result.errorInstance instanceof Error ? (result.errorInstance.stack ?? result.errorInstance.message) : String(result.errorInstance));
      const report = fc.defaultReportMessage(result) ?? '';
      const replayPath = /replayPath="([^"]*)"/.exec(report)?.[1] ?? '';
      console.error(`replay: npx tsx test/soak.ts --seed ${seed} --path "${result.counterexamplePath ?? ''}" --replay-path "${replayPath}" --commands ${args.commands}`);
      return 1;
    }
    console.log(`run ${run + 1}/${runs} ok: seed=${seed}`);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`${runs} runs passed in ${seconds.toFixed(1)}s`);
  if (totals.runs > 0) {
    const per = (n: number): string => (n / totals.runs).toFixed(0);
    console.log(
      `per run: ${per(totals.commands)} commands, ${per(totals.virtualMs)} virtual ms, ${per(totals.events)} events, ` +
        `${per(totals.operations)} client ops (${per(totals.acknowledged)} acknowledged), ${per(totals.terms)} terms with a leader; ` +
        `${(totals.events / Math.max(1, seconds * 1000)).toFixed(0)} events per real ms`,
    );
  }
  return 0;
}

process.exitCode = main();
