import { describe, expect, it } from 'vitest';
import { runRaftDemo } from '../../src/demo/raft-demo.ts';

describe('the README demo', () => {
  it.each([1, 7, 42])('tells a complete story and loses nothing (seed %i)', (seed) => {
    const lines: string[] = [];
    const result = runRaftDemo({ seed, writes: 30, print: (line) => lines.push(line) });
    expect(result.ok, lines.join('\n')).toBe(true);
    expect(result.acknowledged).toBe(60);
    expect(result.failoverMs).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('took over in term'))).toBe(true);
    expect(lines.at(-1)).toBe('result: nothing acknowledged was lost');
  });

  it('is deterministic for a seed', () => {
    const run = () => {
      const lines: string[] = [];
      runRaftDemo({ seed: 5, writes: 20, print: (line) => lines.push(line) });
      return lines;
    };
    expect(run()).toEqual(run());
  });
});
