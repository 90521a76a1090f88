import { describe, expect, it } from 'vitest';
import { checkBalance, createPolicy } from '../registry.js';
import { ONE_SLOW, sample } from '../testdata/fluid.js';

describe('consistent-hash', () => {
  it('asks for a ring of its virtual nodes and leaves the base weights to unkeyed requests', () => {
    const p = createPolicy(checkBalance({ policy: 'consistent-hash', params: { vnodes: 32 }, key: { header: 'x-user' } }).spec!);
    expect(p.ring).toEqual({ vnodes: 32 });
    expect(p.decide({ nowMs: 0, tickMs: 250, targets: ONE_SLOW.map((t) => sample(t, 50, 250)) }).shares).toEqual([1, 1, 1]);
  });
});
