import { describe, expect, it } from 'vitest';
import { dominantShare, fairnessAdvantage, jainIndex } from '../fairness.js';
import { context, line, node } from '../testdata/views.js';
import { dominantResourceFairness } from './dominant-resource-fairness.js';

// 8000m and 16384 MB in all; "roomy" has the most left.
const nodes = [node('roomy'), node('tight', { usedCpuMilli: 3000, usedMemoryMb: 1024 })];
const prepared = (tenant: string, tenants: Record<string, { cpuMilli: number; memoryMb: number }>) =>
  dominantResourceFairness.prepare(context(line(['a'], { tenant }), 0, nodes, { tenants }));
const scores = (tenant: string, tenants: Record<string, { cpuMilli: number; memoryMb: number }>) => nodes.map(prepared(tenant, tenants)!);

describe('DominantResourceFairness', () => {
  it('gives the tenant with the smallest dominant share the roomier node', () => {
    const tenants = { poor: { cpuMilli: 500, memoryMb: 64 }, rich: { cpuMilli: 2500, memoryMb: 960 } };
    const [roomy, tight] = scores('poor', tenants);
    expect(roomy!).toBeGreaterThan(tight!);
  });

  it('steers the tenant with the largest dominant share to the tighter node', () => {
    const tenants = { poor: { cpuMilli: 500, memoryMb: 64 }, rich: { cpuMilli: 2500, memoryMb: 960 } };
    const [roomy, tight] = scores('rich', tenants);
    expect(tight!).toBeGreaterThan(roomy!);
  });

  it('takes the dominant resource: memory-heavy use counts as much as cpu-heavy use', () => {
    // mem: 8192 of 16384 MB (0.5) outweighs cpu 1000m of 8000m.
    const tenants = { memhog: { cpuMilli: 1000, memoryMb: 8192 }, cpuuser: { cpuMilli: 2000, memoryMb: 128 } };
    const [roomy, tight] = scores('cpuuser', tenants);
    expect(roomy!).toBeGreaterThan(tight!);
  });

  it('has nothing to say for a tenant alone, or tenants with equal shares', () => {
    expect(prepared('solo', { solo: { cpuMilli: 2000, memoryMb: 0 } })).toBeUndefined();
    expect(prepared('a', { a: { cpuMilli: 1000, memoryMb: 0 }, b: { cpuMilli: 0, memoryMb: 2048 } })).toBeUndefined();
  });

  it('measures shares, advantage and fairness as DRF defines them', () => {
    const cap = { cpuMilli: 8000, memoryMb: 16384 };
    expect(dominantShare({ cpuMilli: 2000, memoryMb: 8192 }, cap)).toBe(0.5);
    expect(fairnessAdvantage('new', new Map([['old', { cpuMilli: 4000, memoryMb: 0 }]]), cap)).toBeCloseTo(0.5); // shares 0.5 and 0: (mean 0.25 - 0) / max 0.5
    expect(jainIndex([0.2, 0.2, 0.2])).toBeCloseTo(1);
    expect(jainIndex([0.6, 0, 0])).toBeCloseTo(1 / 3);
  });
});
