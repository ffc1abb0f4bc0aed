import fc from 'fast-check';
import { describe, it } from 'vitest';
import { raftProperty } from '../sim/raft-property.ts';

/** Runs in CI; `npx tsx test/soak.ts --runs N` runs many more with fresh seeds. */
const CI_RUNS = 1000;
const MAX_COMMANDS = 150;

describe('Raft core, model-based (fast-check commands on the simulator)', () => {
  it('stays safe under any sequence of faults, then converges with a linearizable history', () => {
    // A failure prints fast-check's seed and path; replay with fc.assert(..., { seed, path }).
    fc.assert(raftProperty({ maxCommands: MAX_COMMANDS }), { numRuns: CI_RUNS, seed: 0x5eed, endOnFailure: false });
  });
});
