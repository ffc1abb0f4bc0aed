import { afterEach, describe, expect, it } from 'vitest';
import { serverNodeArgs } from '../../src/demo/cluster-processes.ts';

const saved = process.env.METARAFT_SERVER_NODE_ARGS;
afterEach(() => {
  if (saved === undefined) delete process.env.METARAFT_SERVER_NODE_ARGS;
  else process.env.METARAFT_SERVER_NODE_ARGS = saved;
});

describe('serverNodeArgs', () => {
  it('passes METARAFT_SERVER_NODE_ARGS to server processes as separate flags, and nothing when unset or blank', () => {
    process.env.METARAFT_SERVER_NODE_ARGS = ' --cpu-prof  --cpu-prof-dir=prof ';
    expect(serverNodeArgs()).toEqual(['--cpu-prof', '--cpu-prof-dir=prof']);
    process.env.METARAFT_SERVER_NODE_ARGS = '   ';
    expect(serverNodeArgs()).toEqual([]);
    delete process.env.METARAFT_SERVER_NODE_ARGS;
    expect(serverNodeArgs()).toEqual([]);
  });
});
