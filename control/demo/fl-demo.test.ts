/**
 * npm run fl:demo as a user runs it: a real local ferry through the CLI,
 * the job applied with ferry apply -f, clients over HTTP. Small runs: the
 * full 20 x 30 one is the demo itself. Every run must leave nothing behind
 * (its FERRY_HOME gone, so its ferry was taken down).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';

const DEMO = join(repoRoot, 'control/demo/fl-demo.ts');

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  home?: string;
}

/** Run the demo; `onStdout` may act on what it printed (e.g. interrupt it). */
function demo(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<DemoRun> {
  return new Promise((resolve) => {
    const { FERRY_ADMIN: _a, FERRY_GATEWAY: _g, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', DEMO, '--port-base', '22100', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, home: /FERRY_HOME=(\S+?),/.exec(stderr)?.[1] }));
  });
}

describe('npm run fl:demo', () => {
  it('trains through ferry, prints every round and a final line, exits 0 above 0.90', async () => {
    const r = await demo(['--clients', '4', '--rounds', '3']);
    expect(r.code, r.stderr).toBe(0);
    const rounds = r.stdout.split('\n').filter((l) => /^\s+\d+\s+0\.\d{3}/.test(l));
    expect(rounds.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([1, 2, 3]);
    expect(r.stdout).toMatch(/final accuracy 0\.9\d\d after 3 rounds \(mlp, IID, 4 clients, HTTP\).*>= 0\.9: ok/);
    // the run over ferry ends where the same clients end offline
    const final = /final accuracy (\S+)/.exec(r.stdout)![1];
    expect(r.stderr).toContain(`offline FedAvg of the same clients: ${final}`);
    expect(r.stderr).toMatch(/job .*fl-digits/);
    expect(r.home && !existsSync(r.home)).toBe(true);
  }, 120_000);

  it('exits 1 when an IID run ends below 0.90', async () => {
    const r = await demo(['--clients', '20', '--rounds', '1']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/final accuracy 0\.\d+ after 1 rounds .* < 0\.9: FAILED/);
    expect(r.home && !existsSync(r.home)).toBe(true);
  }, 120_000);

  it('Ctrl-C stops the clients and takes the ferry down', async () => {
    let sent = false;
    let sentAt = 0;
    const r = await demo(['--clients', '4', '--rounds', '500'], (out, child) => {
      if (!sent && /^\s+2\s/m.test(out)) {
        sent = true;
        sentAt = performance.now();
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    // the clients' connections closed at once, so the gateway need not wait
    // out its 20 s grace for them (it did while the SDK used fetch's pool)
    expect(performance.now() - sentAt).toBeLessThan(12_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/interrupted \(SIGINT\)/);
    expect(r.home && !existsSync(r.home)).toBe(true);
  }, 120_000);

  it('refuses a bad flag before starting anything', async () => {
    const r = await demo(['--model', 'cnn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--model: "cnn" is not one of mlp, logreg/);
    expect(r.home).toBeUndefined();
  });
});
