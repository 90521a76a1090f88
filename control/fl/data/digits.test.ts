import { describe, expect, it } from 'vitest';
import { classCounts, subset } from './dataset.js';
import { loadDigits, parseDigitsCsv } from './digits.js';

describe('digits dataset', () => {
  it('has 1,797 rows of 64 features and 10 classes with the known class counts', () => {
    const ds = loadDigits({ scale: 1 });
    expect(ds.count).toBe(1797);
    expect(ds.features).toBe(64);
    expect(ds.classes).toBe(10);
    expect(ds.x.length).toBe(1797 * 64);
    expect(classCounts(ds)).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // first row of sklearn's load_digits(): a 0
    expect(Array.from(ds.x.subarray(0, 8))).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
    expect(ds.y[0]).toBe(0);
    expect(Math.max(...ds.x)).toBe(16);
  });

  it('scales pixels by 1/16 by default', () => {
    const ds = loadDigits();
    expect(Math.max(...ds.x)).toBe(1);
    expect(ds.x[2]).toBeCloseTo(5 / 16, 7);
  });

  it('names the line of a malformed row', () => {
    const good = Array(64).fill('0').join(',') + ',3';
    expect(() => parseDigitsCsv(`${good}\n1,2,3\n`, 1, 'x.csv')).toThrow(/x\.csv:2: expected 65/);
    expect(() => parseDigitsCsv(good.replace(/,3$/, ',12'), 1, 'x.csv')).toThrow(/x\.csv:1: label is "12"/);
    expect(() => parseDigitsCsv(good.replace(/^0/, '17'), 1, 'x.csv')).toThrow(/pixel 0 is "17"/);
  });

  it('tells how to restore a missing file', () => {
    expect(() => loadDigits({ path: '/nonexistent/digits.csv.gz' })).toThrow(/git checkout/);
  });

  it('subset copies the named rows', () => {
    const ds = loadDigits();
    const s = subset(ds, [5, 0]);
    expect(s.count).toBe(2);
    expect(s.y[1]).toBe(ds.y[0]);
    expect(Array.from(s.x.subarray(64, 128))).toEqual(Array.from(ds.x.subarray(0, 64)));
    expect(() => subset(ds, [1797])).toThrow(RangeError);
  });
});
