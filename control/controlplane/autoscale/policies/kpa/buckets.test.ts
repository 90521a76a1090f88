/**
 * Knative's own TestTimedFloat64BucketsWindowAverage
 * (pkg/autoscaler/aggregation/bucketing_test.go at 98e5ef90), case for case,
 * on the port: partial windows, lagging reads, short and long holes, late
 * and too-late writes, and the reset after exactly one window of silence.
 */
import { describe, expect, it } from 'vitest';
import { TimedBuckets } from './buckets.js';

describe('TimedBuckets (Knative TimedFloat64Buckets)', () => {
  it('averages like Knative over partial windows, holes and late writes', () => {
    let now = 1_700_000_000_437; // not on a bucket boundary, like time.Now()
    const s = (n: number) => now + n * 1000;
    const b = new TimedBuckets(5000, 1000);
    expect(b.isEmpty(now)).toBe(true);

    // firstWrite counts: without it this would be 0.2.
    b.record(now, 1);
    expect(b.windowAverage(now)).toBe(1);
    for (let i = 1; i < 5; i++) b.record(s(i), i + 1);
    expect(b.windowAverage(s(4))).toBe(15 / 5);
    // `now` lagging behind the last write.
    expect(b.windowAverage(now + 3600)).toBe(15 / 5);
    // A short hole: the two oldest buckets fall out.
    expect(b.windowAverage(s(6))).toBe((15 - 1 - 2) / (5 - 2));
    // A hole longer than the window.
    expect(b.windowAverage(s(10))).toBe(0);
    // A write after a hole.
    b.record(s(6), 91);
    expect(b.windowAverage(s(6))).toBe((15 - 1 - 2 + 91) / 5);

    now += 60_000;
    b.record(now, 1984);
    expect(b.windowAverage(now)).toBe(1984);
    b.record(s(-3), 4); // earlier than the last write, inside the window
    expect(b.windowAverage(now)).toBe((4 + 1984) / 4);
    now += 1000;
    b.record(now, 5);
    expect(b.windowAverage(now)).toBe((4 + 1984 + 5) / 5);
    b.record(s(-3), 10);
    expect(b.windowAverage(now)).toBe((4 + 10 + 1984 + 5) / 5);
    // Too early (a window ago or more): ignored.
    b.record(s(-6), 10);
    b.record(s(-5), 10);
    expect(b.windowAverage(now)).toBe((4 + 10 + 1984 + 5) / 5);
    // Exactly one window of silence clears everything.
    b.record(s(5), 10);
    expect(b.windowAverage(s(5))).toBe(10);
    expect(b.isEmpty(s(5))).toBe(false);
    expect(b.isEmpty(s(11))).toBe(true);
  });
});
