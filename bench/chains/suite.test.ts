import { describe, expect, it } from 'vitest';
import type { SystemRun } from './results.js';
import { equalRate } from './suite.js';

const run = (system: SystemRun['system'], maxRps: number, firstLevelRps: number): SystemRun => ({
  system,
  max: [{ chain: 'c', sloP99Ms: 20, maxRps, atConnections: maxRps > 0 ? 4 : null, levels: [{ connections: 1, durationS: 1, ok: 1, failed: 0, rps: firstLevelRps, meetsSlo: maxRps > 0, latency: { count: 1, p50Ms: 1, p99Ms: 1, p999Ms: 1, maxMs: 1, cdf: [] } }] }],
  perCpu: [],
  fixed: [],
  sweep: [],
  errors: [],
});

describe('equalRate', () => {
  it('is half the slowest system\'s max, the same for all', () => {
    expect(equalRate([run('ferry-ebpf', 3000, 900), run('http', 801, 500)], 'c')).toMatchObject({ rate: 400, slowestMaxRps: 801 });
  });
  it('falls back to half the slowest 1-connection throughput when a system met the SLO nowhere', () => {
    const r = equalRate([run('ferry-ebpf', 3000, 900), run('knative', 0, 120)], 'c');
    expect(r).toMatchObject({ rate: 60, slowestMaxRps: 0 });
    expect(r.how).toMatch(/1-connection/);
  });
  it('never offers less than 1/s', () => {
    expect(equalRate([run('http', 0, 0)], 'c').rate).toBe(1);
  });
});
