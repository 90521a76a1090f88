import { describe, expect, it } from 'vitest';
import { SimInstance } from './instance.js';

const req = (t0: number) => ({ t0, type: 0, k: 0, bare: 0, n: 0, stalled: false, transit: 0 });
const cost = (cpuMs: number, waitMs = 0, transitMs = 0) => () => ({ cpuMs, waitMs, transitMs });

describe('SimInstance', () => {
  it('serves one request at a time, in arrival order', () => {
    const i = new SimInstance(1, 0, 0, Number.POSITIVE_INFINITY, 100);
    i.readyAt = 0;
    expect(i.enqueue(req(0), 0)).toBe(true);
    expect(i.serveNext(0, cost(2))?.at).toBe(2);
    expect(i.enqueue(req(1), 1)).toBe(false); // busy: it waits
    expect(i.serveNext(1, cost(2))).toBeUndefined();
    expect(i.complete(2).t0).toBe(0);
    expect(i.serveNext(2, cost(2))?.at).toBe(4);
    expect(i.complete(4).t0).toBe(1);
    expect(i.idle).toBe(true);
  });

  it('stalls a request that runs out of CPU quota until the next period', () => {
    // 10 ms per 100 ms (100m), counted from when it became ready at 50.
    const i = new SimInstance(1, 0, 0, 10, 100);
    i.readyAt = 50;
    // 15 ms of CPU: 10 now, then wait for the period starting at 150, then 5.
    const first = req(50);
    i.enqueue(first, 50);
    expect(i.serveNext(50, cost(15))?.at).toBeCloseTo(155, 9);
    expect(first.stalled).toBe(true);
    i.complete(155);
    // The period from 150 has 5 ms left: 3 ms fit at once.
    const second = req(160);
    i.enqueue(second, 160);
    expect(i.serveNext(160, cost(3))?.at).toBeCloseTo(163, 9);
    expect(second.stalled).toBe(false);
    i.complete(163);
    // Another 3 ms: 2 left in this period, 1 in the next (250).
    i.enqueue(req(170), 170);
    expect(i.serveNext(170, cost(3))?.at).toBeCloseTo(251, 9);
  });

  it('spends only the CPU part of a request against the quota, and lets go of it before its transit', () => {
    const i = new SimInstance(1, 0, 0, 10, 100);
    i.readyAt = 0;
    const r = req(0);
    i.enqueue(r, 0);
    // 2 ms of CPU, 8 ms waiting for a CPU, 20 ms on its way: no stall, free at 10.
    expect(i.serveNext(0, cost(2, 8, 20))?.at).toBeCloseTo(10, 9);
    expect(r).toMatchObject({ transit: 20, bare: 30, stalled: false });
  });

  it('reports the window: average in flight, arrivals, completions and service times', () => {
    const i = new SimInstance(1, 0, 0, Number.POSITIVE_INFINITY, 100);
    i.readyAt = 0;
    i.enqueue(req(0), 0);
    i.serveNext(0, cost(500));
    i.complete(500);
    const w = i.sample(1000, 1000);
    // One request held for half the second.
    expect(w).toMatchObject({ inFlight: 0.5, arrivals: 1, completions: 1, service: [500], cpuMs: 500 });
    expect(i.sample(2000, 1000)).toMatchObject({ inFlight: 0, arrivals: 0, completions: 0, service: [], cpuMs: 0 });
  });

  it('reports CPU time in whole clock ticks, carrying the rest', () => {
    const i = new SimInstance(1, 0, 0, Number.POSITIVE_INFINITY, 100);
    i.readyAt = 0;
    for (let k = 0; k < 3; k++) {
      i.enqueue(req(k * 10), k * 10);
      i.serveNext(k * 10, cost(4));
      i.complete(k * 10 + 4);
    }
    expect(i.sample(1000, 1000).cpuMs).toBe(10); // 12 ms used: one tick
    i.enqueue(req(1000), 1000);
    i.serveNext(1000, cost(9));
    expect(i.sample(2000, 1000).cpuMs).toBe(10); // 21 ms in all: the second tick
  });
});
