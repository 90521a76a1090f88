/**
 * Smoke test of `npm run bench:fl -- --quick`: the real thing (ferryd or
 * ferry up, the C aggregators, the gRPC baseline server, real sockets) on
 * a small model, 5 clients, 2 rounds, both systems, into a temp dir. It
 * checks the JSON's shape and the files, that nothing is left running or
 * pinned, and that bad arguments fail with a message; never how fast.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, repoRoot } from '../../control/paths.js';
import type { FlSummary, Target } from './report.js';

let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'flb-test-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 22800-22999 of bench:fl's 22500-22999 are the test's own (each system takes 100). */
const PORT_BASE = 22800;

function bench(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string; pid: number }> {
  const argv = ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/fl/run.ts'), ...args];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, argv, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, pid: child.pid! });
    });
  });
}

/** Processes whose command line names this run's pin dirs or work dir. */
function leftovers(runPid: number, workDir: string | undefined): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(`flb-${runPid}-`) || cmd.includes(`-${runPid}-${PORT_BASE}`) || (workDir && cmd.includes(workDir))) out.push(Number(e));
    } catch {
      /* exited */
    }
  }
  return out;
}

describe('npm run bench:fl -- --quick', () => {
  it('runs both systems on 5 clients x 200 KB for 2 rounds (and 2 digits rounds) and prints the issue\'s JSON shape, with summary.json, raw.json and report.md', async () => {
    const out = join(work, 'results');
    const r = await bench(['--quick', '--json', '--models', '200KB', '--accuracy-rounds', '2', '--out', out, '--port-base', String(PORT_BASE)], 110_000);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, `stdout must be one JSON object; stderr:\n${r.stderr}`).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as FlSummary;
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(Object.keys(summary).sort()).toEqual(['accuracy', 'results']);
    expect(summary.results.map((x) => x.system)).toEqual(['ferry', 'grpc']);
    for (const x of summary.results) {
      expect(Object.keys(x).sort()).toEqual(['aggregationMs', 'bytesCopied', 'clients', 'modelBytes', 'nodes', 'peakAggregatorRssBytes', 'roundMs', 'system']);
      expect(x.clients).toBe(5);
      expect(x.modelBytes).toBe(200_000);
      expect(x.nodes).toBe(1);
      expect(x.aggregationMs, x.system).toBeGreaterThan(0);
      expect(x.roundMs, x.system).toBeGreaterThanOrEqual(x.aggregationMs);
      expect(x.peakAggregatorRssBytes, x.system).toBeGreaterThan(0);
      // at least every upload's bytes once
      expect(x.bytesCopied, x.system).toBeGreaterThanOrEqual(5 * (64 + 200_000));
    }
    expect(summary.accuracy.rounds).toBe(2);
    // the same federation, the same arithmetic up to float32 rounding
    expect(summary.accuracy.ferry).toBeGreaterThan(0.5);
    expect(Math.abs(summary.accuracy.ferry! - summary.accuracy.grpc!)).toBeLessThan(0.02);

    const raw = JSON.parse(readFileSync(join(out, 'raw.json'), 'utf8')) as { measures: { rounds: unknown[]; errors: string[] }[]; targets: Target[]; stragglers: { roundMs: number[] }[] };
    for (const m of raw.measures) {
      expect(m.rounds).toHaveLength(2);
      expect(m.errors).toEqual([]);
    }
    expect(raw.stragglers).toHaveLength(2);
    expect(raw.targets.map((t) => t.id)).toEqual(['aggregation-3x', 'memory-2x', 'time-to-accuracy', 'stragglers-deadline']);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    for (const h of ['## Machine', '## What ran', '## Results', '### Ratios', '## Time to accuracy', '## Targets (issue #11)']) expect(report).toContain(h);

    // Torn down: nothing of the run left running or pinned, its work dir gone.
    expect(readdirSync('/sys/fs/bpf').filter((d) => d.includes(`-${r.pid}-`))).toEqual([]);
    const workDir = /work dir (\S+)/.exec(r.stderr)?.[1];
    expect(workDir).toBeDefined();
    expect(existsSync(workDir!)).toBe(false);
    expect(leftovers(r.pid, workDir)).toEqual([]);
  }, 120_000);

  it('takes the system down when interrupted mid-round (Ctrl-C): exit 130, no process, pin or work dir left', async () => {
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/fl/run.ts'), '--quick', '--systems', 'grpc', '--rounds', '50', '--out', join(work, 'interrupted'), '--port-base', String(PORT_BASE)],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const measuring = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/round 2\/50/.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([measuring, exited]);
    const server = Number(/served by pid (\d+)/.exec(stderr)?.[1]);
    expect(server, stderr).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toContain('SIGINT: taking the system down');
    expect(existsSync(`/proc/${server}`), 'the baseline server outlived the run').toBe(false);
    expect(existsSync(/work dir (\S+)/.exec(stderr)![1]!)).toBe(false);
    expect(existsSync(join(work, 'interrupted'))).toBe(false);
  }, 60_000);

  it('refuses bad arguments before bringing anything up', async () => {
    const sys = await bench(['--systems', 'ferry,nope', '--out', join(work, 'never')], 30_000);
    expect(sys.code).toBe(1);
    expect(sys.stderr).toContain('--systems: unknown system "nope" (one of: ferry, grpc)');
    const model = await bench(['--models', '3 apples'], 30_000);
    expect(model.code).toBe(1);
    expect(model.stderr).toContain('--models: "3 apples" is not a model');
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});
