/**
 * The ferry CLI end to end, as a user runs it: real daemon (control plane,
 * ferryd, gateway, store), real chain processes, real HTTP. Runs the built
 * CLI (dist/), so `npm run setup` must have built it (npm test does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferryCli, type Run } from '../../test/helpers/ferry-cli.js';
import { repoRoot } from '../paths.js';

const home = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-cli`;
const greet = join(repoRoot, 'control/cli/testdata/greet.yaml');
const badNext = join(repoRoot, 'control/cli/testdata/bad-next.yaml');

const ferry = ferryCli(home);

const up = () => ferry('up', '--admin', '127.0.0.1:0', '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--ferryd-metrics', '127.0.0.1:0', '--pin-dir', pinDir, '--node-name', 'n1');

function json<T>(r: Run): T {
  expect(r.stderr + r.stdout).not.toMatch(/^error:/m);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('ferry CLI', () => {
  beforeAll(async () => {
    const r = await up();
    expect(r.stderr + r.stdout).toContain('ferry is up');
    expect(r.code).toBe(0);
  });

  afterAll(async () => {
    await ferry('down');
    rmSync(home, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('lists the local node as ready', async () => {
    const nodes = json<{ name: string; ready: boolean; dataplaneMode: string }[]>(await ferry('get', 'nodes', '-o', 'json'));
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ name: 'n1', ready: true });
    expect(['ebpf', 'fallback']).toContain(nodes[0]!.dataplaneMode);
  });

  it('applies a chain and serves requests through it', async () => {
    const applied = json<{ name: string; generation: number; stages: { instances: unknown[] }[] }>(await ferry('apply', '-f', greet, '-o', 'json'));
    expect(applied.name).toBe('greet');
    expect(applied.stages.map((s) => s.instances.length)).toEqual([1, 1]);
    const reply = json<{ status: number; body: Record<string, unknown> }>(await ferry('invoke', 'greet', '--data', '{"name":"  Ferry "}', '-o', 'json'));
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ greeting: 'hello, ferry', letters: 5, reversed: 'yrref', node: 'n1', tenant: 'default' });
  });

  it('shows running instances per stage', async () => {
    const rows = json<{ chain: string; stage: string; state: string; pid: number }[]>(await ferry('get', 'instances', '-o', 'json'));
    const mine = rows.filter((r) => r.chain === 'greet');
    expect(mine.map((r) => r.stage).sort()).toEqual(['greet', 'parse']);
    for (const r of mine) {
      expect(r.state).toBe('RUNNING');
      expect(r.pid).toBeGreaterThan(0);
    }
  });

  it('reports a function error with its message and a non-zero exit', async () => {
    const r = await ferry('invoke', 'greet', '--data', '{"name": 3}');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/answered 5\d\d/);
    expect(r.stderr).toContain('request needs a non-empty "name" string');
  });

  it('rejects an invalid chain pointing at the line, and keeps nothing of it', async () => {
    const r = await ferry('apply', '-f', badNext);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${badNext}:10:`);
    expect(r.stderr).toContain('greeet');
    const v = await ferry('validate', badNext);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`${badNext}:10:`);
    const chains = json<{ name: string }[]>(await ferry('get', 'chains', '-o', 'json'));
    expect(chains.map((c) => c.name)).toEqual(['greet']);
  });

  it('replaces an instance and refuses to scale a stage past its scale.max', async () => {
    type Chain = { stages: { name: string; instances: { id: number; pid: number }[] }[] };
    const before = json<Chain>(await ferry('get', 'chain', 'greet', '-o', 'json'));
    const old = before.stages[1]!.instances[0]!;
    const r = await ferry('replace', 'greet', String(old.id));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`chain greet: instance ${old.id} replaced`);
    const after = json<Chain>(await ferry('get', 'chain', 'greet', '-o', 'json'));
    expect(after.stages[1]!.instances.map((i) => i.id)).not.toContain(old.id);
    expect(after.stages[0]!.instances).toEqual(before.stages[0]!.instances);
    const reply = json<{ status: number }>(await ferry('invoke', 'greet', '--data', '{"name":"new"}', '-o', 'json'));
    expect(reply.status).toBe(200);
    // greet.yaml leaves scale at its default, 1..1.
    const over = await ferry('scale', 'greet', 'greet', '2');
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('error: stage greet: 2 instances is more than its scale.max 1; raise spec.functions[1].scale.max in');
    const usage = await ferry('scale', 'greet', 'greet', 'two');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('N: "two" is not a whole number\nusage: ferry scale CHAIN STAGE N');
  });

  it('refuses placement weights it does not know before starting anything', async () => {
    const r = await ferry('up', '--placement-weights', 'Sprad=1,ChainLocality=200');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--placement-weights: placement weights: ChainLocality=200: a weight is a whole number 0..100 (0 turns it off); Sprad is not a placement plugin');
  });

  it('answers 404 for a chain that does not exist', async () => {
    const r = await ferry('invoke', 'nosuch', '--data', '{}');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('answered 404');
  });

  it('keeps chains across a restart of the control plane', async () => {
    expect((await ferry('down')).code).toBe(0);
    expect((await ferry('get', 'chains')).code).toBe(1); // nothing to talk to
    const r = await up();
    expect(r.code).toBe(0);
    const chains = json<{ name: string; generation: number }[]>(await ferry('get', 'chains', '-o', 'json'));
    expect(chains).toMatchObject([{ name: 'greet', generation: 1 }]);
    const reply = json<{ body: { greeting: string } }>(await ferry('invoke', 'greet', '--data', '{"name":"again"}', '-o', 'json'));
    expect(reply.body.greeting).toBe('hello, again');
  });

  it('deletes a chain: its instances stop and its endpoint is gone', async () => {
    const d = json<{ name: string; stoppedInstances: number }[]>(await ferry('delete', 'greet', '-o', 'json'));
    expect(d).toEqual([{ name: 'greet', tenant: 'default', stoppedInstances: 2 }]);
    expect((await ferry('invoke', 'greet', '--data', '{"name":"x"}')).stderr).toContain('answered 404');
    const again = await ferry('delete', 'greet');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no chain named "greet"');
  });

  it('exits 2 on an unknown command', async () => {
    const r = await ferry('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
