/**
 * The histogram's buckets, quantiles and merges, and that the C buckets
 * (dataplane-native/include/ferry/hist.h, used by the native runner) are the
 * same as these, value for value.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';
import { BUCKETS, bucketHigh, bucketLow, bucketOf, Histogram } from './histogram.js';

/** Values around every bucket edge, and some far out. */
function probes(): number[] {
  const vs = new Set<number>([0, 1, 2, 15, 16, 17, 2 ** 36, 2 ** 37 - 1, 2 ** 37, 2 ** 40]);
  for (let i = 0; i < BUCKETS; i++) for (const d of [-1, 0, 1]) vs.add(Math.max(0, bucketLow(i) + d));
  return [...vs].sort((a, b) => a - b);
}

describe('histogram buckets', () => {
  it('puts every value in the bucket whose range holds it', () => {
    for (const v of probes()) {
      const b = bucketOf(v);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(BUCKETS);
      if (v < 2 ** 37) {
        expect(bucketLow(b)).toBeLessThanOrEqual(v);
        expect(bucketHigh(b)).toBeGreaterThan(v);
      } else expect(b).toBe(BUCKETS - 1);
    }
  });

  it('is at most 12.5% wide above 16 us', () => {
    for (let i = 16; i < BUCKETS; i++) expect((bucketHigh(i) - bucketLow(i)) / bucketLow(i)).toBeLessThanOrEqual(0.125);
  });

  it('matches the C buckets of hist.h value for value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-hist-'));
    try {
      const src = join(dir, 'hist.c');
      writeFileSync(
        src,
        '#include <stdio.h>\n#include <stdlib.h>\n#include "ferry/hist.h"\nint main(int c, char **v) { for (int i = 1; i < c; i++) printf("%u\\n", ferry_hist_bucket(strtoull(v[i], 0, 10))); printf("%u\\n", FERRY_HIST_BUCKETS); return 0; }\n',
      );
      execFileSync('gcc', ['-O2', '-I', join(repoRoot, 'dataplane-native/include'), src, '-o', join(dir, 'hist')]);
      const vs = probes();
      const out = execFileSync(join(dir, 'hist'), vs.map(String), { encoding: 'utf8' }).trim().split('\n').map(Number);
      expect(out.at(-1)).toBe(BUCKETS);
      expect(out.slice(0, -1)).toEqual(vs.map(bucketOf));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Histogram', () => {
  it('reads quantiles within a bucket of the truth, never below it', () => {
    const h = new Histogram();
    for (let v = 1; v <= 10_000; v++) h.record(v);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const truth = q * 10_000;
      expect(h.quantile(q)).toBeGreaterThanOrEqual(truth);
      expect(h.quantile(q)).toBeLessThanOrEqual(truth * 1.125 + 1);
    }
    expect(h.mean()).toBeCloseTo(5000.5, 5);
    expect(new Histogram().quantile(0.99)).toBe(0);
  });

  it('merges: two halves make the whole, also through the sparse form', () => {
    const a = new Histogram();
    const b = new Histogram();
    const whole = new Histogram();
    for (let v = 1; v < 5000; v += 7) {
      (v % 2 ? a : b).record(v);
      whole.record(v);
    }
    const merged = new Histogram().merge(a).merge(Histogram.fromSparse(b.sparse(), b.sum));
    expect(merged.total).toBe(whole.total);
    expect(merged.sum).toBe(whole.sum);
    expect([...merged.counts]).toEqual([...whole.counts]);
    expect(merged.quantile(0.99)).toBe(whole.quantile(0.99));
    // Junk in a sparse histogram from the wire is ignored, not trusted.
    const junk = new Histogram().merge({ buckets: [-1, 9999, 3], counts: [5, 5, -2] });
    expect(junk.total).toBe(0);
  });
});
