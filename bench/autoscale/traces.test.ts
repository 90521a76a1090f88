import { describe, expect, it } from 'vitest';
import { bursty, diurnal, onoff, parseTraceCsv, syntheticTraces } from './traces.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('traces', () => {
  it('are the same for a seed and differ between seeds', () => {
    expect(syntheticTraces(600, 7)).toEqual(syntheticTraces(600, 7));
    expect(diurnal(600, 7).counts).not.toEqual(diurnal(600, 8).counts);
  });

  it('have the shapes they are named after', () => {
    const d = diurnal(1800, 1).counts;
    expect(mean(d.slice(0, 60))).toBeLessThan(120);
    expect(mean(d.slice(870, 930))).toBeGreaterThan(1200);
    const b = bursty(1800, 1).counts;
    expect(Math.max(...b)).toBeGreaterThan(4 * 150 * 0.8);
    expect(b.filter((c) => c < 200).length).toBeGreaterThan(1800 * 0.6);
    const o = onoff(1800, 1).counts;
    const zeros = o.filter((c) => c === 0).length;
    expect(zeros).toBeGreaterThan(300);
    expect(o.filter((c) => c >= 170).length).toBeGreaterThan(300);
  });

  it('replays a CSV of second,requests with a header, comments and gaps', () => {
    const t = parseTraceCsv('second,requests\n# warm-up\n0,5\n2,7\n\n3,1\n', '/x/mine.csv');
    expect(t).toEqual({ name: 'mine', counts: [5, 0, 7, 1] });
  });

  it('says which line of a CSV is wrong and how', () => {
    expect(() => parseTraceCsv('0,5\n1,five\n', 'load.csv')).toThrow('load.csv:2: expected "second,requests" (two whole numbers), found "1,five"');
    expect(() => parseTraceCsv('0,-3\n', 'load.csv')).toThrow('load.csv:1:');
    expect(() => parseTraceCsv('# nothing\n', 'load.csv')).toThrow('load.csv: no "second,requests" lines');
  });
});
