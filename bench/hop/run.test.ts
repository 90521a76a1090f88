/**
 * Smoke test of the hop benchmark: the real thing (real processes, sockets
 * and BPF) on a small, quick subset. It checks what the benchmark reports
 * and that its checks bite, never how fast anything is.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { paths, repoRoot } from '../../control/paths.js';
import type { HopReport } from './report.js';

const work = mkdtempSync(join(tmpdir(), 'hop-test-'));
let runs = 0;
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
  pinDir: string;
}

/** The benchmark from its sources, with its own pin dir and result file. */
function bench(args: string[]): Promise<Run> {
  const n = runs++;
  const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-${n}`;
  const out = join(work, `hop-${n}.json`);
  const argv = ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'bench/hop/run.ts'), '--quick', '--json', '--pin-dir', pinDir, '--out', out, ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, out, pinDir });
    });
  });
}

function parse(r: Run): HopReport {
  const lines = r.stdout.trim().split('\n');
  expect(lines, `stdout must be one JSON object; stderr:\n${r.stderr}`).toHaveLength(1);
  return JSON.parse(lines[0]!) as HopReport;
}

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('hop benchmark', () => {
  it('reports every transport, runtime and size with positive numbers, stamped ferry payloads, idle CPU and ratios', async () => {
    const r = await bench(['--payloads', '64,64k', '--budget-ms', '100', '--idle-seconds', '1']);
    expect(r.code, r.stderr).toBe(0);
    const rep = parse(r);

    expect(['ebpf', 'fallback']).toContain(rep.mode);
    expect(rep.hop).toMatch(/round trip.*halves/);
    expect(rep.machine.cpus).toBeGreaterThan(0);
    expect(rep.results).toHaveLength(3 * 2 * 2);
    for (const transport of ['ferry', 'tcp-loopback', 'http'])
      for (const runtime of ['native', 'node'])
        for (const payloadBytes of [64, 65536]) {
          const row = rep.results.find((x) => x.transport === transport && x.runtime === runtime && x.payloadBytes === payloadBytes);
          const name = `${transport}/${runtime}/${payloadBytes}`;
          expect(row, name).toBeDefined();
          expect(row!.error, name).toBeUndefined();
          for (const k of ['p50us', 'p99us', 'minUs', 'msgsPerSec', 'iterations'] as const) expect(positive(row![k]), `${name} ${k}=${row![k]}`).toBe(true);
          expect(row!.p99us, name).toBeGreaterThanOrEqual(row!.p50us);
          // Every reply checked: for ferry the echo found each request's
          // stamp in the pinger's own buffer and stamped it back in place.
          expect(row!.verified, name).toBe(true);
          if (transport === 'ferry') expect(row!.note, name).toMatch(/same pool buffer.*stamp checked/);
        }

    expect(rep.idle!.seconds).toBe(1);
    expect(rep.idle!.byRuntime.map((i) => i.runtime).sort()).toEqual(['native', 'node']);
    for (const i of rep.idle!.byRuntime)
      for (const ticks of [i.afterLastRequestTicks, i.cpuTicks]) expect(Number.isInteger(ticks) && ticks >= 0, i.runtime).toBe(true);

    expect(rep.floor!.byPinning.map((f) => f.pin)).toEqual(['same', 'split']);
    for (const f of rep.floor!.byPinning) expect(positive(f.p50us), `floor ${f.pin}`).toBe(true);

    expect(rep.ratios.sizeScaling).toMatchObject({ fromBytes: 64, toBytes: 65536 });
    for (const v of Object.values(rep.ratios.sizeScaling.byPair)) expect(positive(v)).toBe(true);
    expect(Object.keys(rep.ratios.baselineOverFerry).sort()).toEqual(['http/native', 'http/node', 'tcp-loopback/native', 'tcp-loopback/node']);
    for (const bySize of Object.values(rep.ratios.baselineOverFerry)) {
      expect(Object.keys(bySize).sort()).toEqual(['64', '65536']);
      for (const v of Object.values(bySize)) expect(positive(v)).toBe(true);
    }
    expect(rep.targets.length).toBeGreaterThan(0);

    // The same report on disk, and the benchmark's BPF pins gone.
    expect(JSON.parse(readFileSync(r.out, 'utf8'))).toEqual(rep);
    expect(existsSync(r.pinDir)).toBe(false);
  });

  it('fails the ferry cases of an echo that hands the buffer back without the stamp', async () => {
    const r = await bench([
      '--transports', 'ferry', '--payloads', '64', '--idle-seconds', '0', '--no-floor',
      '--echo-handler', join(repoRoot, 'bench/hop/functions/echo.so'),
      '--echo-handler', join(repoRoot, 'bench/hop/testdata/plain-echo.ts'),
    ]);
    expect(r.code).toBe(1);
    const rep = parse(r);
    expect(rep.results.map((x) => x.runtime).sort()).toEqual(['native', 'node']);
    for (const row of rep.results) {
      expect(row.verified).toBe(false);
      expect(row.error).toMatch(/stamp is not in our buffer/);
    }
  });

  it('runs the ferry cases through the relay in fallback mode', async () => {
    const r = await bench(['--mode', 'fallback', '--transports', 'ferry', '--payloads', '64', '--idle-seconds', '0', '--no-floor']);
    expect(r.code, r.stderr).toBe(0);
    const rep = parse(r);
    expect(rep.mode).toBe('fallback');
    expect(rep.results).toHaveLength(2);
    for (const row of rep.results) expect(row.verified && positive(row.p50us)).toBe(true);
  });

  it('refuses bad flags with a clear message', async () => {
    const r = await bench(['--payloads', '4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/at least 8 bytes/);
    expect(r.stdout).toBe('');
  });
});
