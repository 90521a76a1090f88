/**
 * Smoke test of `npm run bench -- --suite chains --quick`: the real suite
 * (real ferry processes, sockets, BPF, autocannon and the paced client)
 * into a temp dir, with two of the five systems (ferry in eBPF mode and
 * the http baseline): every step of the suite runs for each, ratios and
 * targets between them included, and the other systems' adapters are
 * brought up, served through and taken down by their own tests
 * (systems/ferry.test.ts, baselines.test.ts), so running them here too
 * would only add minutes to CI. It checks the
 * files and the summary's shape, that nothing is left running or pinned,
 * and that bad input fails with a message; never how fast anything is.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, repoRoot } from '../../control/paths.js';
import type { ChainSuiteSummary } from './report/summary-file.js';
import { SYSTEMS } from './systems/index.js';
import { processTree } from '../lib/proc-tree.js';
import { allDead } from '../../test/helpers/process.js';

// Made when a test runs (a filtered run that skips them all leaves nothing).
let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'chain-suite-test-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SMOKE_SYSTEMS = ['ferry-ebpf', 'http'];

/** This test's ports (48000-49999 belong to the suite's runs and tests; the default 48000 is left to people). */
const PORT_BASE = 49000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  pid: number;
}

function bench(args: string[], timeoutMs: number): Promise<Run> {
  const argv = ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/chains/run.ts'), ...args];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, argv, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, pid: child.pid! });
    });
  });
}

/** The work dir a run announced on stderr. */
const workDirOf = (stderr: string) => /work dir (\S+)/.exec(stderr)?.[1];

/** Processes of a run's ferry systems: the supervisor and daemon name the
 * run's pin dir (/sys/fs/bpf/ferry-suite-<mode>-<run pid>-<port>) on their
 * command lines, and their instances are their descendants. */
function ferryProcessesOf(runPid: number): number[] {
  return processTree(processesMentioning(`/sys/fs/bpf/ferry-suite-`).filter((p) => readCmdline(p).includes(`-${runPid}-`)));
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Pids whose command line mentions `needle` (the run's temp dirs). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch {
      /* exited */
    }
  }
  return out;
}

describe('npm run bench -- --suite chains --quick', () => {
  it(
    'brings every system up in turn, measures, tears down, and writes raw.json, summary.json, report.md and the plots',
    async () => {
      const out = join(work, 'results');
      const r = await bench(['--suite', 'chains', '--quick', '--systems', SMOKE_SYSTEMS.join(','), '--json', '--out', out, '--port-base', String(PORT_BASE)], 420_000);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines, `stdout must be one JSON object; stderr:\n${r.stderr}`).toHaveLength(1);
      const summary = JSON.parse(lines[0]!) as ChainSuiteSummary;
      expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toEqual(summary);

      // Progress went to stderr, with an ETA.
      expect(r.stderr).toMatch(/max: 1 connection\(s\).*ETA \d+:\d\d/);

      const systems = SYSTEMS.map((s) => s.name).filter((n) => SMOKE_SYSTEMS.includes(n));
      expect(systems).toHaveLength(SMOKE_SYSTEMS.length);
      expect(summary.suite).toBe('chains');
      expect(summary.quick).toBe(true);
      expect(summary.systems).toEqual(systems);
      expect([...summary.chains, ...summary.skippedChains].sort()).toEqual(['motion', 'pipeline']);
      for (const sys of systems) {
        const s = summary.results[sys]!;
        expect(s.errors, `${sys} errors`).toEqual([]);
        for (const chain of summary.chains) {
          const c = s.chains[chain]!;
          expect(c.maxRps, `${sys} ${chain} maxRps`).toBeGreaterThanOrEqual(0);
          expect(c.fixedRate).toBe(summary.equalLoad.fixed[chain]!.rate);
          expect(c.p99Ms, `${sys} ${chain} p99`).toBeGreaterThan(0);
          expect(c.p999Ms!).toBeGreaterThanOrEqual(c.p99Ms!);
          expect(c.fixedFailed).toBe(0);
        }
        const pipeline = s.chains['pipeline']!;
        expect(pipeline.reqPerCpuSecond1KiB).toBeGreaterThan(0);
        expect(pipeline.reqPerCpuSecond64KiB).toBeGreaterThan(0);
        expect(pipeline.bytes64KiB).toBe(65536);
        expect(s.sweep.map((p) => p.nominalBytes)).toEqual([64, 65536, 1048576]);
        for (const p of s.sweep) expect(p.p99Ms).toBeGreaterThan(0);
        expect(s.idleChains).toBe(10);
        expect(s.idlePercentOfCore).toBeGreaterThanOrEqual(0);
      }
      // Each ferry mode against every other system, and every target judged or explained.
      expect(summary.ratios.length).toBe(systems.filter((x) => x.startsWith('ferry-')).length * (systems.length - 1));
      expect(summary.targets.length).toBe(8 * systems.filter((x) => x.startsWith('ferry-')).length);
      for (const t of summary.targets) expect(t.met !== null || typeof t.note === 'string', t.id).toBe(true);

      const files = readdirSync(out).sort();
      for (const f of ['raw.json', 'report.md', 'p99-vs-payload.svg', ...summary.chains.flatMap((c) => [`latency-cdf-${c}.svg`, `throughput-${c}.svg`])]) expect(files).toContain(f);
      const report = readFileSync(join(out, 'report.md'), 'utf8');
      for (const heading of ['## Machine', '## What ran', '## Results per chain', '## Idle', '## Targets (issue #10)', '## Plots']) expect(report).toContain(heading);
      expect(report).toContain('](p99-vs-payload.svg)');
      const raw = JSON.parse(readFileSync(join(out, 'raw.json'), 'utf8')) as { runs: { max: { levels: unknown[] }[] }[] };
      expect(raw.runs[0]!.max[0]!.levels.length).toBeGreaterThan(0);
      for (const f of files.filter((x) => x.endsWith('.svg'))) expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\n$/);

      // Torn down: no pin dir, process or work dir of its own left.
      expect(readdirSync('/sys/fs/bpf').filter((d) => d.startsWith('ferry-suite-') && d.includes(`-${r.pid}-`))).toEqual([]);
      expect(ferryProcessesOf(r.pid)).toEqual([]);
      expect(workDirOf(r.stderr)).toBeDefined();
      expect(existsSync(workDirOf(r.stderr)!)).toBe(false);
    },
    480_000,
  );

  it('takes the system down when interrupted mid-run (Ctrl-C): no process, pin or work dir left', async () => {
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/chains/run.ts'), '--quick', '--systems', 'ferry-fallback', '--chains', 'motion', '--port-base', String(PORT_BASE + 900), '--out', join(work, 'interrupted')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const measuring = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('max: 1 connection')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([measuring, exited]);
    const during = ferryProcessesOf(child.pid!);
    // supervisor, daemon, motion's two instances at least
    expect(during.length, stderr).toBeGreaterThanOrEqual(4);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toContain('SIGINT: taking ferry-fallback down');
    expect(await allDead(during, 10_000)).toBe(true);
    expect(readdirSync('/sys/fs/bpf').filter((d) => d.startsWith(`ferry-suite-fallback-${child.pid}-`))).toEqual([]);
    expect(existsSync(workDirOf(stderr)!)).toBe(false);
    expect(existsSync(join(work, 'interrupted'))).toBe(false);
  }, 120_000);

  it('refuses an unknown system, naming what it has, before bringing anything up', async () => {
    const r = await bench(['--suite', 'chains', '--quick', '--systems', 'ferry-ebpf,nope', '--out', join(work, 'never')], 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--systems: unknown system "nope" \(one of: ferry-ebpf/);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('refuses an unknown suite and says which exist', async () => {
    const r = await bench(['--suite', 'nope'], 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--suite: unknown suite "nope" (one of: chains, admin, multinode)');
  });
});
