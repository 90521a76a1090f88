/**
 * Smoke test of the placement benchmark on a small cluster: it reports
 * what it says it does, and what it reports shows the plugins at work
 * (locality keeps chains together, DRF order evens the tenants' shares, the
 * DRF score gives the poorer tenants the roomier nodes). Never how fast.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { paths, repoRoot } from '../../control/paths.js';

const work = mkdtempSync(join(tmpdir(), 'placement-bench-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/placement/run.ts'), ...args];
  return new Promise((resolve) =>
    execFile(process.execPath, argv, { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

interface Tenant {
  chains: number;
  dominantShare: number;
  nodeHeadroom: number;
}
type Fill = { tenants: Record<string, Tenant>; jainIndex: number };

describe('placement benchmark', () => {
  it('prints one JSON object: timings, cross-node links and fairness that show the plugins at work', async () => {
    const out = join(work, 'p.json');
    const r = await bench(['--quick', '--json', '--nodes', '100', '--iterations', '20', '--chains', '40', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const rep = JSON.parse(lines[0]!) as {
      seed: number;
      cluster: { nodes: number; generator: string };
      timing: Record<string, unknown> & { targetP99Us: number; default: { p50Us: number; p99Us: number; cpuP50Us: number }; spread: { p50Us: number } };
      locality: { locality: { crossNodeLinksPerChain: number; onOneNode: number; chainsPlaced: number }; spread: { crossNodeLinksPerChain: number } };
      fairness: { arrival: Fill; 'arrival+drf-score': Fill; drf: Fill };
    };
    expect(existsSync(out)).toBe(true);
    expect(rep.cluster).toMatchObject({ nodes: 100, generator: expect.stringContaining('seeded') });
    expect(rep.timing.targetP99Us).toBe(1000);
    for (const t of [rep.timing.default, rep.timing.spread]) expect(t.p50Us).toBeGreaterThan(0);
    expect(rep.timing.default.p99Us).toBeGreaterThanOrEqual(rep.timing.default.p50Us);

    expect(rep.locality.locality.chainsPlaced).toBe(40);
    expect(rep.locality.spread.crossNodeLinksPerChain).toBeGreaterThan(4);
    expect(rep.locality.locality.crossNodeLinksPerChain).toBeLessThan(1);

    const { arrival, drf } = rep.fairness;
    const scored = rep.fairness['arrival+drf-score'];
    expect(drf.jainIndex).toBeGreaterThan(0.95);
    expect(arrival.jainIndex).toBeLessThan(0.8);
    // The greedy, richest tenant gets tighter nodes than the two others once the score is on.
    for (const poorer of ['beta', 'gamma']) expect(scored.tenants[poorer]!.nodeHeadroom).toBeGreaterThan(scored.tenants.alpha!.nodeHeadroom);
  });

  it('refuses a bad count with the flag and the range', async () => {
    const r = await bench(['--nodes', '0', '--out', join(work, 'x.json')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--nodes: a whole number 1..100000 (got 0)');
  });
});
