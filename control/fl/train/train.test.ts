import { describe, expect, it } from 'vitest';
import { initialModel } from '../model.js';
import { subset } from '../data/dataset.js';
import { loadDigits } from '../data/digits.js';
import { stratifiedHoldout } from '../data/split.js';
import { network, Workspace } from './network.js';
import { delta, evaluate, trainLocal } from './train.js';

const ds = loadDigits();
const h = stratifiedHoldout(ds, 0.2, 1);
const train = subset(ds, h.train);
const test = subset(ds, h.test);

describe('networks', () => {
  it('lay out the digits MLP as the job does', () => {
    const net = network('mlp');
    expect(net.layers).toEqual([
      { name: 'fc1.weight', shape: [64, 32] },
      { name: 'fc1.bias', shape: [32] },
      { name: 'fc2.weight', shape: [32, 10] },
      { name: 'fc2.bias', shape: [10] },
    ]);
    expect(net.paramCount).toBe(64 * 32 + 32 + 32 * 10 + 10);
    expect(network('logreg').paramCount).toBe(650);
    expect(() => network('cnn' as 'mlp')).toThrow(/use mlp or logreg/);
  });

  for (const kind of ['mlp', 'logreg'] as const) {
    it(`${kind}: the backward pass is the derivative of the loss (finite differences)`, () => {
      const net = network(kind);
      const params = initialModel(net.layers, net.paramCount, 5);
      // nonzero biases so every ReLU branch is exercised
      for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.05 * Math.sin(i);
      const ws = new Workspace(net);
      const grad = new Float32Array(net.paramCount);
      ws.accumulate(params, ds.x, 3 * 64, ds.y[3]!, grad);
      const lossAt = (p: Float32Array) => -Math.log(ws.forward(p, ds.x, 3 * 64)[ds.y[3]!]!);
      let checked = 0;
      for (let i = 0; i < net.paramCount; i += 37) {
        const eps = 1e-2;
        const up = Float32Array.from(params);
        const down = Float32Array.from(params);
        up[i]! += eps;
        down[i]! -= eps;
        const numeric = (lossAt(up) - lossAt(down)) / (2 * eps);
        expect(Math.abs(numeric - grad[i]!)).toBeLessThan(2e-3 + 0.02 * Math.abs(numeric));
        checked++;
      }
      expect(checked).toBeGreaterThan(15);
    });
  }

  it('trains to high held-out accuracy on all the training rows (no federation)', () => {
    for (const [kind, floor] of [['mlp', 0.93], ['logreg', 0.9]] as const) {
      const net = network(kind);
      const start = initialModel(net.layers, net.paramCount, 1);
      const before = evaluate(net, start, test).accuracy;
      const r = trainLocal(net, start, train, { epochs: 10, batchSize: 16, learningRate: 0.1, seed: 2 });
      const after = evaluate(net, r.params, test);
      expect(before).toBeLessThan(0.3);
      expect(after.accuracy).toBeGreaterThan(floor);
      expect(r.examples).toBe(train.count);
      expect(Number.isFinite(r.loss)).toBe(true);
      // the start model is not trained in place
      expect(evaluate(net, start, test).accuracy).toBe(before);
    }
  });

  it('is the same run for the same seed', () => {
    const net = network('mlp');
    const start = initialModel(net.layers, net.paramCount, 1);
    const small = subset(train, Array.from({ length: 50 }, (_, i) => i));
    const a = trainLocal(net, start, small, { epochs: 1, batchSize: 8, learningRate: 0.1, seed: 9 });
    const b = trainLocal(net, start, small, { epochs: 1, batchSize: 8, learningRate: 0.1, seed: 9 });
    expect(a.params).toEqual(b.params);
    const d = delta(a.params, start);
    expect(d.some((v) => v !== 0)).toBe(true);
    for (let i = 0; i < d.length; i++) expect(start[i]! + d[i]!).toBeCloseTo(a.params[i]!, 6);
  });

  it('refuses a model of the wrong size', () => {
    expect(() => trainLocal(network('mlp'), new Float32Array(650), train, { epochs: 1, batchSize: 8, learningRate: 0.1, seed: 1 })).toThrow(/650 parameters/);
  });
});
