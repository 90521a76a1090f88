import { describe, expect, it } from 'vitest';
import { simulate } from './simulate.js';

describe('FedAvg on digits, 20 clients x 30 rounds, no ferry', () => {
  const report = (name: string, acc: number[]) =>
    process.stderr.write(`[fl-sim] ${name}: round 0 ${acc[0]!.toFixed(3)}, 10 ${acc[10]!.toFixed(3)}, 20 ${acc[20]!.toFixed(3)}, 30 ${acc[30]!.toFixed(3)}\n`);

  it('the MLP reaches >= 0.90 held-out accuracy on IID shards', () => {
    const r = simulate({ model: 'mlp', clients: 20, rounds: 30, split: { kind: 'iid' } });
    report('mlp iid', r.accuracy);
    expect(r.accuracy).toHaveLength(31);
    expect(r.accuracy[0]).toBeLessThan(0.3);
    expect(r.accuracy[30]).toBeGreaterThanOrEqual(0.9);
  });

  it('the MLP on Dirichlet(0.5) shards, and logistic regression, get there too', () => {
    const non = simulate({ model: 'mlp', clients: 20, rounds: 30, split: { kind: 'dirichlet', alpha: 0.5 } });
    report('mlp dirichlet(0.5)', non.accuracy);
    const lr = simulate({ model: 'logreg', clients: 20, rounds: 30, split: { kind: 'iid' } });
    report('logreg iid', lr.accuracy);
    expect(non.accuracy[30]).toBeGreaterThanOrEqual(0.85);
    expect(lr.accuracy[30]).toBeGreaterThanOrEqual(0.85);
  });

  it('is the same run for the same seeds', () => {
    const a = simulate({ model: 'logreg', clients: 5, rounds: 2, split: { kind: 'iid' } });
    const b = simulate({ model: 'logreg', clients: 5, rounds: 2, split: { kind: 'iid' } });
    expect(a.final).toEqual(b.final);
    const c = simulate({ model: 'logreg', clients: 5, rounds: 2, split: { kind: 'iid' }, dataSeed: 2 });
    expect(c.final).not.toEqual(a.final);
  });
});
