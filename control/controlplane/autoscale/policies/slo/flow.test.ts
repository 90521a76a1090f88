import { describe, expect, it } from 'vitest';
import { testChain } from '../../testdata/chains.js';
import { FlowShares } from './flow.js';

// e -> {a, b}; a -> c; b -> c (c has two predecessors), listed out of order.
const chain = testChain([
  { name: 'c' },
  { name: 'a', next: ['c'] },
  { name: 'e', next: ['a', 'b'] },
  { name: 'b', next: ['c'] },
]);
chain.entry = 2;

describe('FlowShares', () => {
  it('orders stages after their predecessors and starts from even splits', () => {
    const f = new FlowShares(chain);
    expect(f.order.indexOf(2)).toBe(0);
    expect(f.order.indexOf(0)).toBe(3);
    expect(f.share(1)).toBe(0.5);
    expect(f.share(3)).toBe(0.5);
    expect(f.share(0)).toBe(1); // all of a and all of b
    expect(f.share(2)).toBe(0);
  });

  it('learns the shares the traffic shows and passes planned rates down', () => {
    const f = new FlowShares(chain);
    // e 100/s, 80% to a, 20% to b, all on to c.
    for (let i = 0; i < 200; i++) f.update([100, 80, 100, 20], [100, 80, 100, 20]);
    expect(f.share(1)).toBeCloseTo(0.8, 6);
    expect(f.share(3)).toBeCloseTo(0.2, 6);
    expect(f.upstream(1, [0, 0, 500, 0])).toBeCloseTo(400, 4);
    expect(f.upstream(0, [0, 400, 500, 100])).toBeCloseTo(500, 4);
  });

  it('ignores samples with too little passed on upstream', () => {
    const f = new FlowShares(chain);
    f.update([0, 0, 2, 2], [0, 0, 2, 2]);
    // e receives plenty but passes nothing on (no instance of it is ready yet).
    f.update([0, 0, 100, 0], [0, 0, 0, 0]);
    expect(f.share(1)).toBe(0.5);
  });
});
