/**
 * Smoke test of bench:autoscale --live through the built dist/ (as bench:lb
 * and the other benches run): a real control plane and ferryd on their own
 * ports and pin dir, so it passes beside a running ferry. --quick: two cold
 * starts and 14 s of load per policy and runtime. It checks the pipeline
 * (shape, both runtimes and policies, no failed request, cold starts
 * measured), never how fast.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../control/paths.js';

const work = mkdtempSync(join(tmpdir(), 'autoscale-live-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const RUN = join(repoRoot, 'dist/bench/autoscale/run.js');

describe.skipIf(!existsSync(RUN))('bench:autoscale --live (dist/)', () => {
  it('runs kpa and slo on a Node and a native chain from zero without failing a request', async () => {
    const out = join(work, 'live.json');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [RUN, '--live', '--quick', '--json', '--out', out], { timeout: 110_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(j);
    expect(j.mode).toBe('live');
    expect(j.host.loadavgStart).toHaveLength(3);
    expect(j.runs.map((x: { policy: string; runtime: string }) => `${x.policy}/${x.runtime}`)).toEqual(['kpa/node', 'kpa/native', 'slo/node', 'slo/native']);
    for (const run of j.runs) {
      const at = `${run.policy}/${run.runtime}`;
      expect(run.failedRequests, `${at}: ${JSON.stringify(run.errors)}`).toBe(0);
      expect(run.coldStartMs.failed, at).toBe(0);
      expect(run.coldStartMs.n + run.coldStartMs.notFromZero, at).toBe(2);
      expect(run.coldStartMs.n, at).toBeGreaterThan(0);
      expect(run.coldStartMs.p50, at).toBeGreaterThan(0);
      expect(run.requests, at).toBeGreaterThan(1000);
      expect(run.instanceSeconds, at).toBeGreaterThan(0);
      for (const k of ['stepReactionMs', 'burstReactionMs', 'sloViolationSeconds', 'p50Ms', 'p99Ms', 'maxInstances']) expect(run, `${at} ${k}`).toHaveProperty(k);
    }
    expect(j.targets.filter((t: { name: string }) => t.name.startsWith('failedRequests')).every((t: { met: boolean }) => t.met)).toBe(true);
    expect(Object.keys(j.ratios)).toEqual(['slo/kpa node', 'slo/kpa native']);
  }, 120_000);
});
