import { describe, expect, it } from 'vitest';
import { classCounts, subset } from './dataset.js';
import { loadDigits } from './digits.js';
import { dirichlet, dirichletSplit, gamma, iidSplit, stratifiedHoldout } from './split.js';
import { seeded } from '../../random.js';

const ds = loadDigits();
const sorted = (a: number[]) => [...a].sort((p, q) => p - q);
const all = Array.from({ length: ds.count }, (_, i) => i);

describe('stratified holdout', () => {
  const h = stratifiedHoldout(ds, 0.2, 7);

  it('partitions the rows with every class in proportion', () => {
    expect(sorted([...h.train, ...h.test])).toEqual(all);
    expect(h.test.length).toBe(359); // sum over classes of round(0.2 * n_c)
    const full = classCounts(ds);
    classCounts(subset(ds, h.test)).forEach((n, c) => expect(n).toBe(Math.round(0.2 * full[c]!)));
  });

  it('is the same for a seed and different for another', () => {
    expect(stratifiedHoldout(ds, 0.2, 7)).toEqual(h);
    expect(stratifiedHoldout(ds, 0.2, 8).test).not.toEqual(h.test);
  });

  it('refuses a fraction outside (0, 1)', () => {
    expect(() => stratifiedHoldout(ds, 1, 1)).toThrow(/testFraction/);
  });
});

describe('IID split', () => {
  const { train } = stratifiedHoldout(ds, 0.2, 7);
  const parts = iidSplit(train, 20, 3);

  it('gives every row to exactly one client, sizes within one', () => {
    expect(parts).toHaveLength(20);
    expect(sorted(parts.flat())).toEqual(sorted(train));
    const sizes = parts.map((p) => p.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('gives each client about the overall class mix', () => {
    for (const p of parts) expect(classCounts(subset(ds, p)).filter((n) => n > 0).length).toBeGreaterThanOrEqual(8);
  });

  it('refuses more clients than rows', () => {
    expect(() => iidSplit([1, 2], 3, 1)).toThrow(/fewer clients/);
  });
});

describe('Dirichlet split', () => {
  const { train } = stratifiedHoldout(ds, 0.2, 7);
  const parts = dirichletSplit(ds, train, 20, { alpha: 0.5, seed: 3 });

  it('gives every row to exactly one client and every client a few', () => {
    expect(sorted(parts.flat())).toEqual(sorted(train));
    for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(8);
    expect(dirichletSplit(ds, train, 20, { alpha: 0.5, seed: 3 })).toEqual(parts);
  });

  it('is skewed by label where IID is not', () => {
    // the mean share of a client's rows in its most common class: IID ~0.16, Dirichlet(0.5) ~0.36, (0.1) ~0.65 over seeds 1-5
    const topShare = (ps: number[][]) => ps.map((p) => Math.max(...classCounts(subset(ds, p))) / p.length).reduce((a, b) => a + b, 0) / ps.length;
    const iid = topShare(iidSplit(train, 20, 3));
    const non = topShare(parts);
    expect(iid).toBeLessThan(0.2);
    expect(non).toBeGreaterThan(0.3);
    // smaller alpha, more skew
    expect(topShare(dirichletSplit(ds, train, 20, { alpha: 0.1, seed: 3, minPerClient: 2 }))).toBeGreaterThan(non);
  });

  it('asks fewer rows of each client when there are many clients', () => {
    const many = dirichletSplit(ds, train, 100, { alpha: 0.5, seed: 3 });
    expect(sorted(many.flat())).toEqual(sorted(train));
    for (const p of many) expect(p.length).toBeGreaterThanOrEqual(3);
  });

  it('says what to change when no draw fits', () => {
    expect(() => dirichletSplit(ds, train, 20, { alpha: 0.01, seed: 1, minPerClient: 60, maxDraws: 5 })).toThrow(/lower minPerClient/);
  });
});

describe('gamma and Dirichlet draws', () => {
  it('have the right means', () => {
    const rand = seeded(11);
    for (const shape of [0.5, 2.5]) {
      let sum = 0;
      for (let i = 0; i < 20000; i++) sum += gamma(shape, rand);
      expect(sum / 20000).toBeCloseTo(shape, 1);
    }
    const p = dirichlet(0.5, 10, rand);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p.every((v) => v >= 0)).toBe(true);
  });
});
