import { describe, expect, it } from 'vitest';
import { EgressMeter } from './egress-meter.js';

describe('egress meter', () => {
  it('counts sends, returns and round trips per node, and the average out', () => {
    let now = 0;
    const m = new EgressMeter(() => now);
    m.sent(1, 0, 'a'); // one out from 0..100
    now = 50;
    m.sent(1, 0, 'a'); // two out from 50..100
    m.sent(1, 0, 'b');
    now = 100;
    m.done(1, 0, 'a', 100);
    const t = m.take(1, 0, () => 1);
    // a: 1 x 50 + 2 x 50 = 150 request-ms over 100 ms.
    expect(t.get('a')).toEqual({ sent: 2, done: 1, latencySumMs: 100, inFlight: 1.5 });
    expect(t.get('b')).toEqual({ sent: 1, done: 0, latencySumMs: 0, inFlight: 0.5 });
    // The next window starts from what the link says is out.
    now = 200;
    expect(m.take(1, 0, () => 0).get('a')).toEqual({ sent: 0, done: 0, latencySumMs: 0, inFlight: 1 });
    now = 300;
    expect(m.take(1, 0, () => 0).get('a')!.inFlight).toBe(0);
    expect(m.take(2, 0, () => 0).size).toBe(0);
    m.forget(1);
    expect(m.take(1, 0, () => 0).size).toBe(0);
  });
});
