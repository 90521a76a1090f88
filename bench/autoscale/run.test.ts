/**
 * Smoke test of bench:autoscale from its sources: the simulation's JSON on
 * short traces and a replayed CSV, its refusals, and the measurement on a
 * real ferryd (real instances, real router, the sandbox as ferryd sets it
 * up) at a few samples a point. It checks what is reported, never how fast.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chainPaths } from '../../control/chain/paths.js';
import { compileChainFile } from '../../control/chain/validate.js';
import { paths, repoRoot } from '../../control/paths.js';
import type { ChainProfile } from './profile.js';

const work = mkdtempSync(join(tmpdir(), 'autoscale-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function bench(args: string[], timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/autoscale/run.ts'), ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const FIELDS = ['trace', 'policy', 'sloViolationSeconds', 'p99Ms', 'instanceSeconds', 'coldStarts'];

describe('bench:autoscale', () => {
  it('prints one JSON object with a row per trace and policy', async () => {
    const r = await bench(['--json', '--duration', '60', '--seed', '4']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.mode).toBe('simulation');
    expect(out.chain).toMatchObject({ name: 'online-boutique', sloP99Ms: 50, sloAssumed: false });
    expect(out.traces.map((t: { name: string }) => t.name)).toEqual(['diurnal', 'bursty', 'onoff']);
    expect(out.results.map((x: { trace: string; policy: string }) => `${x.trace}/${x.policy}`)).toEqual([
      'diurnal/kpa', 'diurnal/slo', 'bursty/kpa', 'bursty/slo', 'onoff/kpa', 'onoff/slo',
    ]);
    for (const row of out.results) {
      for (const f of FIELDS) expect(row, f).toHaveProperty(f);
      expect(row.requests).toBe(out.traces.find((t: { name: string }) => t.name === row.trace).requests);
      expect(row.sloViolationSeconds).toBeLessThanOrEqual(60);
      expect(row.serviceBoundSeconds).toBeLessThanOrEqual(row.sloViolationSeconds);
      expect(row.instanceSeconds).toBeGreaterThan(0);
      expect(row.unfinished).toBe(0);
    }
  });

  it('replays a CSV trace and says which line of a bad one is wrong', async () => {
    const good = join(work, 'spike.csv');
    writeFileSync(good, 'second,requests\n' + Array.from({ length: 30 }, (_, s) => `${s},${s >= 10 && s < 15 ? 900 : 100}`).join('\n') + '\n');
    const r = await bench(['--json', '--trace', good, '--policies', 'slo']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ trace: 'spike', policy: 'slo', requests: 25 * 100 + 5 * 900 });

    const bad = join(work, 'bad.csv');
    writeFileSync(bad, '0,10\n1,ten\n');
    const b = await bench(['--json', '--trace', bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${bad}:2: expected "second,requests"`);
  });

  it('refuses unknown flags and policies, saying what there is', async () => {
    const flag = await bench(['--jsn']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('unknown flag --jsn');
    expect(flag.stderr).toContain('usage: npm run bench:autoscale');
    const pol = await bench(['--policies', 'hpa', '--duration', '10']);
    expect(pol.code).toBe(1);
    expect(pol.stderr).toContain('unknown policy "hpa" (have: kpa, slo, manual)');
  });

  it('measures a profile on a real ferryd that the simulation then runs on', async () => {
    const out = join(work, 'profile.json');
    const chainFile = join(repoRoot, 'chains/online-boutique/chain.yaml');
    const m = await bench(['--measure', '--samples', '10', '--gap-ms', '2', '--cold-starts', '1', '--out', out], 180_000);
    expect(m.code, m.stderr).toBe(0);
    const p = JSON.parse(readFileSync(out, 'utf8')) as ChainProfile;
    const [ir] = compileChainFile(chainFile);
    const names = (path: number[]) => path.map((s) => ir!.stages[s]!.name).join('>');
    const chainRoutes = new Set(chainPaths(ir!).map(names));
    expect(p.requests.map((r) => r.name).sort()).toEqual(['cart', 'catalog-search', 'checkout', 'convert', 'product', 'recommend']);
    for (const r of p.requests) {
      expect(chainRoutes.has(r.stages.join('>')), r.stages.join('>')).toBe(true);
      for (const s of r.stages) {
        expect(r.serviceMs[s]).toHaveLength(10);
        expect(Math.min(...r.serviceMs[s]!)).toBeGreaterThan(0);
      }
      expect(r.endToEndMs).toHaveLength(10);
    }
    expect(p.requests.find((r) => r.name === 'checkout')?.stages).toEqual(['frontend', 'checkout', 'payment', 'email']);
    for (const s of ir!.stages) {
      expect(p.coldStarts[s.name]?.readyMs[0], s.name).toBeGreaterThan(0);
      if (s.runtime === 'node') expect(p.cpuMs[s.name], s.name).toBeGreaterThan(0);
    }
    const sim = await bench(['--json', '--duration', '20', '--profile', out]);
    expect(sim.code, sim.stderr).toBe(0);
    // The simulation ran on this profile, not the stored one.
    expect(JSON.parse(sim.stdout).profile.measuredAt).toBe(p.measuredAt);
  });
});
