/**
 * Aggregation jobs through the ferry CLI as a user runs it (the built CLI,
 * a real `ferry up`): validate both kinds, apply -f picks the job RPC by
 * kind, get jobs / get job, events follow the rounds as updates arrive
 * through the gateway, delete job; a bad job file points at its line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferryCli, type Run } from '../../test/helpers/ferry-cli.js';
import { jobApi, testDelta } from '../ferryd/jobs/testdata/harness.js';
import { repoRoot } from '../paths.js';

const home = mkdtempSync(join(tmpdir(), 'ferry-cli-jobs-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-cli-jobs`;
const digits = join(repoRoot, 'chains/fl-digits/job.yaml');
const greet = join(repoRoot, 'control/cli/testdata/greet.yaml');
const ferry = ferryCli(home);
const PARAMS = 64 * 32 + 32 + 32 * 10 + 10;

function json<T>(r: Run): T {
  expect(r.stderr + r.stdout).not.toMatch(/^error:/m);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('ferry CLI with aggregation jobs', () => {
  let gateway = '';

  beforeAll(async () => {
    const r = await ferry('up', '--admin', '127.0.0.1:0', '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--pin-dir', pinDir, '--node-name', 'n1');
    expect(r.stderr + r.stdout).toContain('ferry is up');
    gateway = json<{ gatewayAddress: string }[]>(await ferry('get', 'nodes', '-o', 'json'))[0]!.gatewayAddress;
  });

  afterAll(async () => {
    await ferry('down');
    rmSync(home, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('validates a chain and a job side by side, and points at the line of a bad job', async () => {
    const ok = await ferry('validate', greet, digits);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`${digits}: ok (job default/fl-digits, ${PARAMS} parameters, 3 leaves + top, quorum 16/20)`);
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: ferry.dev/v1\nkind: AggregationJob\nmetadata: { name: b }\nspec:\n  model: { parameters: 10 }\n  rounds: 1\n  clients: 4\n  quorum: 5\n');
    const v = await ferry('validate', bad);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`${bad}:8:11: spec.quorum: quorum 5 is more than clients (4)`);
    const a = await ferry('apply', '-f', bad);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(`${bad}:8:11`);
  });

  it('applies the digits job by its kind and shows it', async () => {
    const r = await ferry('apply', '-f', digits);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^job fl-digits applied\n/);
    expect(r.stdout).toMatch(/leaf-0\s+leaf\s+n1/);
    const jobs = json<{ name: string; aggregators: { stage: string; node: string }[]; homeNode: string }[]>(await ferry('get', 'jobs', '-o', 'json'));
    expect(jobs.map((j) => [j.name, j.homeNode, j.aggregators.map((a) => a.stage).join()])).toEqual([['fl-digits', 'n1', 'leaf-0,leaf-1,leaf-2,top']]);
    const table = await ferry('get', 'jobs');
    expect(table.stdout).toMatch(/^NAME\s+TENANT\s+STATE\s+ROUND\s+CLIENTS\s+ACCEPTED\s+REJECTED\s+AGG MS\s+ROUND MS\s+AGGREGATORS\s+NODES\s+MODEL/);
    expect(table.stdout).toMatch(/fl-digits\s+default\s+\S+\s+0\/30\s+20\s+0\s+0\s+-\s+-\s+4\s+n1\s+10Ki/);
  });

  it('follows rounds in ferry events and ferry get job as updates arrive', async () => {
    const { FERRY_ADMIN: _a, FERRY_GATEWAY: _g, ...env } = process.env;
    const watcher = spawn(process.execPath, [join(repoRoot, 'bin/ferry.js'), 'events', '--job', 'fl-digits'], { env: { ...env, FERRY_HOME: home } });
    let out = '';
    watcher.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      const api = jobApi(gateway, 'fl-digits');
      for (let c = 0; c < 20; c++) expect((await api.update(0, `c${c}`, 50, testDelta(PARAMS, 0, c))).status).toBe(200);
      const deadline = Date.now() + 15_000;
      while (!/round-closed/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/job-applied\s+job fl-digits generation 1/);
      expect(out).toMatch(/round-closed\s+job fl-digits: round 0 closed: aggregation [\d.]+ ms, round [\d.]+ ms, 20 updates/);
    } finally {
      watcher.kill('SIGINT');
    }
    const got = await ferry('get', 'job', 'fl-digits');
    expect(got.stdout).toMatch(/round 1 of 30; accepted 20 \(late-merged 0\); rejected 0/);
    expect(got.stdout).toMatch(/last aggregation [\d.]+ ms, last round [\d.]+ ms/);
  });

  it('deletes the job', async () => {
    const r = await ferry('delete', 'job', 'fl-digits');
    expect(r.stdout).toContain('job fl-digits deleted (4 aggregators stopped)');
    expect(json<unknown[]>(await ferry('get', 'jobs', '-o', 'json'))).toEqual([]);
    const missing = await ferry('get', 'job', 'fl-digits');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no job named "fl-digits" in tenant default; it has no jobs');
  });
});
