/**
 * `npm run bench -- <suite|all> [--json] [--quick] [--<size>=N ...]`
 *
 * To add a suite: write bench/<name>.ts whose default export is a {@link Suite}, and add
 * one line to SUITES below. Suites are loaded only when run, so one suite's
 * dependencies never slow down or break another.
 */
import { Reporter, type Suite } from './harness.ts';

const SUITES: Readonly<Record<string, () => Promise<{ default: Suite }>>> = {
  lookup: () => import('./lookup.ts'),
  memory: () => import('./memory.ts'),
  raft: () => import('./raft.ts'),
  recovery: () => import('./recovery.ts'),
  replicated: () => import('./replicated.ts'),
  cluster: () => import('./cluster.ts'),
  rename: () => import('./rename.ts'),
  snapshot: () => import('./snapshot.ts'),
};

const USAGE = `usage: npm run bench -- <${[...Object.keys(SUITES), 'all'].join('|')}> [--json] [--quick] [--<size>=N ...] (--help lists sizes)`;

/** Exit code for a usage error (unknown suite, bad flag), as for command-line tools. */
const EXIT_USAGE = 2;

class UsageError extends Error {
  readonly code = 'BAD_USAGE';
}

interface ParsedArguments {
  readonly target: string | null;
  readonly json: boolean;
  readonly quick: boolean;
  readonly help: boolean;
  readonly sizes: ReadonlyMap<string, number>;
}

function parseArguments(argv: readonly string[]): ParsedArguments {
  let target: string | null = null;
  let json = false;
  let quick = false;
  let help = false;
  const sizes = new Map<string, number>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--vs-etcd') sizes.set('vs-etcd', 1); // the cluster suite's one on/off flag
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const text = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (text === undefined) throw new UsageError(`flag --${name} needs a value`);
      sizes.set(name, parseSize(name, text));
    } else if (target === null) target = arg;
    else throw new UsageError(`unexpected argument "${arg}" (one suite at a time, or "all")`);
  }
  return { target, json, quick, help, sizes };
}

const SIZE_SUFFIXES: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 };

function parseSize(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.replaceAll('_', ''));
  const value = match ? Number(match[1]) * SIZE_SUFFIXES[match[2]!]! : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`flag --${name}: "${text}" is not a positive integer`);
  return value;
}

async function loadSuites(target: string): Promise<Suite[]> {
  const names = target === 'all' ? Object.keys(SUITES) : [target];
  const loaders = names.map((name) => {
    const load = SUITES[name];
    if (!load) throw new UsageError(`unknown suite "${name}" (known: ${[...Object.keys(SUITES), 'all'].join(', ')})`);
    return load;
  });
  return Promise.all(loaders.map(async (load) => (await load()).default));
}

function resolveSizes(suite: Suite, given: ReadonlyMap<string, number>, quick: boolean): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const [name, flag] of Object.entries(suite.flags)) sizes[name] = given.get(name) ?? (quick ? flag.quick : flag.default);
  return sizes;
}

function checkFlagsKnown(suites: readonly Suite[], given: ReadonlyMap<string, number>): void {
  for (const name of given.keys()) {
    if (!suites.some((s) => name in s.flags)) {
      throw new UsageError(`unknown flag --${name} for ${suites.map((s) => s.name).join(', ')}`);
    }
  }
}

function printHelp(suites: readonly Suite[]): void {
  process.stdout.write(`${USAGE}\n`);
  for (const suite of suites) {
    process.stdout.write(`\n${suite.name}: ${suite.description}\n`);
    for (const [name, flag] of Object.entries(suite.flags)) {
      process.stdout.write(`  --${name}=N  ${flag.description} (default ${flag.default}, --quick ${flag.quick})\n`);
    }
  }
}

async function main(): Promise<number> {
  let parsed: ParsedArguments;
  let suites: Suite[];
  try {
    parsed = parseArguments(process.argv.slice(2));
    if (parsed.target === null && !parsed.help) throw new UsageError('no suite given');
    suites = await loadSuites(parsed.target ?? 'all');
    checkFlagsKnown(suites, parsed.sizes);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}. ${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    printHelp(suites);
    return 0;
  }
  for (const suite of suites) {
    const sizes = resolveSizes(suite, parsed.sizes, parsed.quick);
    const report = new Reporter(suite.name, parsed.json);
    process.stdout.write(`\n== ${suite.name}${parsed.quick ? ' (quick)' : ''}: ${suite.description}\n`);
    await suite.run({ quick: parsed.quick, json: parsed.json, sizes, report });
    process.stdout.write('\n');
    report.printTable();
  }
  return 0;
}

process.exitCode = await main();
