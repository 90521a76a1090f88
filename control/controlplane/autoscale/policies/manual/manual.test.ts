import { describe, expect, it } from 'vitest';
import { ChainAutoscaler } from '../../autoscaler.js';
import { observation, testChain } from '../../testdata/chains.js';
import { manualPlugin } from './manual.js';

describe('manual policy', () => {
  it('keeps the count a stage was given, even idle or loaded, but not outside scale.min..max', () => {
    const chain = testChain([{ name: 'a', min: 1, max: 4 }, { name: 'b', min: 0, max: 2 }]);
    const scaler = new ChainAutoscaler(chain, manualPlugin.create(chain, {}));
    scaler.observe(observation(0, [{ ready: 3, inFlight: 500 }, { ready: 0 }]));
    const d = scaler.decide(0);
    expect(d.map((x) => [x.desired, x.changed, x.rule])).toEqual([[3, false, 'manual'], [0, false, 'manual']]);
    // Given more than its scale.max by hand before the chain was changed: bounded.
    scaler.observe(observation(1000, [{ ready: 6 }, { ready: 1 }]));
    expect(scaler.decide(1000).map((x) => x.desired)).toEqual([4, 1]);
  });
});
