import { describe, expect, it } from 'vitest';
import type { TargetSample } from '../policy.js';
import { checkBalance } from '../registry.js';
import { mostFreeSlots } from './most-free-slots.js';

const t = (id: string, instances: number, inFlight: number): TargetSample => ({
  id, base: 1, arrivals: 1, completions: 1, inFlight, warm: true, load: { cpu: 0, mem: 0 }, instances,
});

describe('most-free-slots', () => {
  it('gives the target with the most free slots the most, counting its instances', () => {
    const p = mostFreeSlots(checkBalance({ policy: 'most-free-slots', params: { slots: 4, step: 0.99 } }).spec!.params);
    // 1 x 4 - 3 = 1 free, 3 x 4 - 3 = 9 free, 4 - 4 = 0 free.
    const s = p.decide({ nowMs: 0, tickMs: 250, targets: [t('a', 1, 3), t('b', 3, 3), t('c', 1, 4)] }).shares;
    expect(s[1]).toBeGreaterThan(s[0]! * 5);
    expect(s[0]).toBeGreaterThan(s[2]!);
    // A full target keeps a trickle.
    expect(s[2]).toBeGreaterThan(0);
  });
});
