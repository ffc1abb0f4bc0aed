import { describe, expect, it } from 'vitest';
import { TestNetwork } from './harness.ts';
describe('smoke', () => {
  it('elects and commits', () => {
    const net = new TestNetwork([1, 2, 3]);
    net.elect(1);
    expect(net.leader()).toBe(1);
    net.propose(1, 'a'); net.propose(1, 'b');
    net.tickAll(2);
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['a', 'b']);
    // elections by timeout
    net.isolate(1);
    net.tickAll(40);
    const l = net.leader();
    expect(l).not.toBe(1);
    net.propose(l, 'c');
    net.heal();
    net.tickAll(5);
    for (const id of [1, 2, 3]) expect(net.appliedData(id)).toEqual(['a', 'b', 'c']);
    console.log(net.nodes.get(1)!.status());
  });
});
