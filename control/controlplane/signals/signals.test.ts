/**
 * Rates and latencies over a window, from cumulative samples as nodes
 * stream them: the window runs from the newest sample back to the newest
 * one at least the window older.
 */
import { describe, expect, it } from 'vitest';
import type { InstanceStats, NodeStats } from '../../ferryd/proto.js';
import { Histogram } from '../../metrics/histogram.js';
import { Signals } from './signals.js';

const drops = { malformed: 0, unknownSender: 0, chainMismatch: 0, notAllowed: 0, noRoute: 0, deadPeer: 0, hopLimit: 0 };

/** Cumulative service times: n requests of us µs each, for each [n, us]. */
function times(...runs: [number, number][]): Histogram {
  const h = new Histogram();
  for (const [n, us] of runs) h.record(us, n);
  return h;
}

/** A node's sample at second t where instance 7 has done `done` requests
 * so far, taking `h`, and the gateway answered them all with 200. */
function sample(t: number, done: number, h: Histogram, inFlight = 0, more: Partial<InstanceStats> = {}): NodeStats {
  const msg = { ...h.sparse(), sumUs: h.sum };
  const inst: InstanceStats = {
    instanceId: 7, chainId: 3, stage: 1, rxMsgs: done + inFlight, rxBytes: 0, txMsgs: done, txBytes: 0, drops, pid: 1, cpuTicks: 0, rssBytes: 0,
    state: 'RUNNING', completions: done, serviceTime: msg, inFlight, ready: true, ...more,
  };
  return {
    node: 'n', timeMs: t * 1000, loadavg: [0, 0, 0], cpuBusy: 0, memoryTotalBytes: 1, memoryAvailableBytes: 1, instances: [inst], pools: [], balance: [], jobs: [],
    gateways: [
      { chainId: 3, chain: 'c', tenant: 'default', responses: { '200': done }, latency: msg, held: 0, heldTotal: 0, coldStart: { buckets: [], counts: [], sumUs: 0 }, inFlight },
    ],
  };
}

describe('Signals', () => {
  it('reads rates and service times over the window, not since the start', () => {
    const s = new Signals();
    // 100 slow (10 ms) requests in the first 10 s, then 50 fast (1 ms) ones a second.
    s.observe('n', sample(0, 0, times()));
    s.observe('n', sample(10, 100, times([100, 10_000])));
    for (let t = 11; t <= 20; t++) {
      const fast = 50 * (t - 10);
      s.observe('n', sample(t, 100 + fast, times([100, 10_000], [fast, 1000]), 3));
    }
    const sig = s.stage(3, 1, [{ id: 7, node: 'n', stage: 1 }]);
    const i = sig.instances[0]!;
    expect(i.completionsPerSec).toBeCloseTo(50, 5);
    expect(i.arrivalsPerSec).toBeCloseTo(50.3, 5);
    expect(i.inFlight).toBe(3);
    // The slow ones are before the window: p99 reads the fast ones only.
    expect(i.serviceMs.p99).toBeLessThan(1.2);
    expect(i.serviceMs.p50).toBeGreaterThanOrEqual(1);
    const chain = s.chain(3)!;
    expect(chain.requestsPerSec).toBeCloseTo(50, 5);
    expect(chain.responses).toEqual({ '200': 500 });
  });

  it('counts everything so far while a node has streamed for less than the window', () => {
    const s = new Signals();
    s.observe('n', sample(0, 20, times([20, 5000])));
    s.observe('n', sample(2, 40, times([40, 5000])));
    const i = s.stage(3, 1, [{ id: 7, node: 'n', stage: 1 }]).instances[0]!;
    expect(i.completionsPerSec).toBeCloseTo(4, 5); // 40 in a 10 s window
    expect(i.serviceMs.p50).toBeGreaterThanOrEqual(5);
    expect(s.stageService(1, [{ id: 7, node: 'n', stage: 1 }]).p99).toBeGreaterThanOrEqual(5);
    expect(s.chain(99)).toBeUndefined();
  });

  it('reads CPU use per second of one process, and readiness as the instance said it', () => {
    const s = new Signals();
    const at = [{ id: 7, node: 'n', stage: 1 }];
    // 30 ticks (300 ms of CPU) over 10 s: 30 ms/s.
    s.observe('n', sample(0, 0, times(), 0, { cpuTicks: 100 }));
    s.observe('n', sample(10, 0, times(), 0, { cpuTicks: 130 }));
    expect(s.stage(3, 1, at).instances[0]).toMatchObject({ cpuMsPerSec: 30, ready: true });
    // Restarted (another pid): its ticks started over, no rate until a window of it.
    s.observe('n', sample(20, 0, times(), 0, { cpuTicks: 5, pid: 2, ready: false }));
    expect(s.stage(3, 1, at).instances[0]).toMatchObject({ cpuMsPerSec: 0, ready: false });
  });
});
