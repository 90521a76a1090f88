/**
 * `ferry up` as operators run it: under its supervisor, where they ask it
 * to listen, several side by side (each its own FERRY_HOME and ports), and
 * coming back by itself when its daemon is killed. Runs the built CLI and
 * daemon (dist/), like cli.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ferryCli, type Run } from '../../test/helpers/ferry-cli.js';
import { allDead } from '../../test/helpers/process.js';
import { alive, waitFor } from '../ferryd/testdata/harness.js';
import { repoRoot } from '../paths.js';
import type { LocalState } from './state.js';

const greet = join(repoRoot, 'control/cli/testdata/greet.yaml');

interface Ferry {
  home: string;
  pinDir: string;
  cli: (...args: string[]) => Promise<Run>;
  state(): LocalState | undefined;
}

const ferries: Ferry[] = [];

function ferry(tag: string): Ferry {
  const home = mkdtempSync(join(tmpdir(), `ferry-up-${tag}-`));
  const f: Ferry = {
    home,
    pinDir: `/sys/fs/bpf/ferry-test-${process.pid}-up-${tag}`,
    cli: ferryCli(home),
    state: () => {
      try {
        return JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as LocalState;
      } catch {
        return undefined;
      }
    },
  };
  ferries.push(f);
  return f;
}

/** A port nobody listens on right now (the kernel's pick, released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function ok(r: Run, what: string): string {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function invoke(f: Ferry, name: string): Promise<{ greeting: string; node: string }> {
  const r = await f.cli('invoke', 'greet', '--data', JSON.stringify({ name }), '-o', 'json');
  return (JSON.parse(ok(r, 'invoke')) as { body: { greeting: string; node: string } }).body;
}

/** Pids of a ferry's function instances, from `ferry get instances`. */
async function instancePids(f: Ferry): Promise<number[]> {
  return (JSON.parse(ok(await f.cli('get', 'instances', '-o', 'json'), 'get instances')) as { pid: number }[]).map((i) => i.pid);
}

afterAll(async () => {
  for (const f of ferries) {
    await f.cli('down');
    rmSync(f.home, { recursive: true, force: true });
    rmSync(f.pinDir, { recursive: true, force: true });
  }
}, 90_000);

describe('ferry up', () => {
  const one = ferry('one');
  const two = ferry('two');

  it('binds the admin API, ferryd, gateway and metrics where --admin, --ferryd, --gateway, --metrics and --ferryd-metrics say', async () => {
    const [admin, ferryd, gateway, metrics, ferrydMetrics] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const r = await one.cli(
      'up',
      '--admin', `127.0.0.1:${admin}`,
      '--ferryd', `127.0.0.1:${ferryd}`,
      '--gateway', `127.0.0.1:${gateway}`,
      '--metrics', `127.0.0.1:${metrics}`,
      '--ferryd-metrics', `127.0.0.1:${ferrydMetrics}`,
      '--pin-dir', one.pinDir,
      '--node-name', 'one',
    );
    expect(r.stdout + r.stderr).toContain(`admin API  127.0.0.1:${admin}`);
    expect(r.stdout + r.stderr).toContain(`metrics    http://127.0.0.1:${metrics}/metrics`);
    ok(r, 'up');
    expect(one.state()).toMatchObject({
      admin: `127.0.0.1:${admin}`,
      ferryd: `127.0.0.1:${ferryd}`,
      gateway: `127.0.0.1:${gateway}`,
      metrics: `127.0.0.1:${metrics}`,
      ferrydMetrics: `127.0.0.1:${ferrydMetrics}`,
    });
    // Both answer a Prometheus scrape, each with its own metrics.
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(await scrape(metrics)).toMatch(/^ferry_nodes\{node="one",ready="true",mode="(ebpf|fallback)"\} 1$/m);
    expect(await scrape(ferrydMetrics)).toMatch(/^ferryd_process_cpu_seconds_total \d/m);
    // The global --admin of a command that talks to an admin API reaches it
    // from anywhere, here from another (empty) FERRY_HOME, with the
    // operator's credential.
    const elsewhere = ferryCli(two.home);
    const credential = join(one.home, 'credentials', 'operator');
    const nodes = JSON.parse(ok(await elsewhere('get', 'nodes', '--admin', `127.0.0.1:${admin}`, '--credentials', credential, '-o', 'json'), 'get nodes')) as {
      name: string;
      address: string;
    }[];
    expect(nodes).toMatchObject([{ name: 'one', address: `127.0.0.1:${ferryd}` }]);
  });

  it('runs a second ferry beside the first, each with its own FERRY_HOME, ports and chains', async () => {
    ok(await two.cli('--admin', '127.0.0.1:0', 'up', '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--ferryd-metrics', '127.0.0.1:0', '--pin-dir', two.pinDir, '--node-name', 'two'), 'up two');
    const [s1, s2] = [one.state()!, two.state()!];
    expect(s2.admin).not.toBe(s1.admin);
    expect(s2.gateway).not.toBe(s1.gateway);
    ok(await one.cli('apply', '-f', greet), 'apply one');
    ok(await two.cli('apply', '-f', greet), 'apply two');
    expect(await invoke(one, 'Uno')).toMatchObject({ greeting: 'hello, uno', node: 'one' });
    expect(await invoke(two, 'Dos')).toMatchObject({ greeting: 'hello, dos', node: 'two' });
    for (const [f, name] of [[one, 'one'], [two, 'two']] as const) {
      const nodes = JSON.parse(ok(await f.cli('get', 'nodes', '-o', 'json'), 'get nodes')) as { name: string }[];
      expect(nodes.map((n) => n.name)).toEqual([name]);
    }
  });

  it('refuses --admin on a command that has no admin API to talk to', async () => {
    const r = await two.cli('down', '--admin', '127.0.0.1:1');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ferry down does not talk to an admin API, so --admin does not apply');
    expect(alive(two.state()!.pid)).toBe(true);
  });

  it('comes back by itself when its daemon is killed: same ports, chains served, no instance of the old daemon left', async () => {
    const before = two.state()!;
    expect(before.daemon).toMatchObject({ state: 'running', restarts: 0 });
    const oldInstances = await instancePids(two);
    expect(oldInstances).toHaveLength(2);
    const killedAt = Date.now();
    process.kill(before.daemon!.pid, 'SIGKILL');
    const body = await waitFor('the chain to be served again', async () => (await two.cli('invoke', 'greet', '--data', '{"name":"back"}')).code === 0 || undefined, 30_000);
    expect(body).toBe(true);
    const tookMs = Date.now() - killedAt;
    const after = two.state()!;
    expect(after.pid).toBe(before.pid); // the same supervisor
    expect(after.daemon).toMatchObject({ state: 'running', restarts: 1, lastExit: { signal: 'SIGKILL' } });
    expect(after.daemon!.pid).not.toBe(before.daemon!.pid);
    expect([after.admin, after.gateway, after.ferryd]).toEqual([before.admin, before.gateway, before.ferryd]);
    await allDead(oldInstances);
    const now = await instancePids(two);
    expect(now).toHaveLength(2);
    expect(now.some((p) => oldInstances.includes(p))).toBe(false);
    const restart = readFileSync(join(two.home, 'ferry.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'daemon exited unexpectedly; restarting');
    expect(restart).toMatchObject({ service: 'ferry-supervisor', signal: 'SIGKILL', restarts: 1, killedLeftovers: true });
    console.log(`ferry up: daemon killed with SIGKILL, chain served again after ${tookMs} ms`);
    // The other ferry never noticed.
    expect(await invoke(one, 'still')).toMatchObject({ greeting: 'hello, still' });
  });

  it('stops on ferry down: supervisor, daemon and instances gone, state removed', async () => {
    const s = two.state()!;
    const pids = await instancePids(two);
    ok(await two.cli('down'), 'down');
    await allDead([s.pid, s.daemon!.pid, ...pids]);
    expect(two.state()).toBeUndefined();
    expect((await two.cli('get', 'chains')).stderr).toContain('no ferry is running here');
    expect(await invoke(one, 'alone')).toMatchObject({ greeting: 'hello, alone' });
  });

  it('serves its stored chains when started again under another node name (the host was renamed)', async () => {
    const s = one.state()!;
    ok(await one.cli('down'), 'down');
    const r = await one.cli('up', '--admin', s.admin, '--ferryd', s.ferryd, '--gateway', s.gateway, '--metrics', s.metrics!, '--ferryd-metrics', s.ferrydMetrics!, '--pin-dir', one.pinDir, '--node-name', 'renamed');
    ok(r, 'up renamed');
    expect(await invoke(one, 'again')).toMatchObject({ greeting: 'hello, again', node: 'renamed' });
    const table = ok(await one.cli('get', 'chains'), 'get chains');
    expect(table).toMatch(/^greet\s+default\s+RUNNING\s+2\s+2\s+2\s+(\S+\s+){4}1\s/m);
    const nodes = JSON.parse(ok(await one.cli('get', 'nodes', '-o', 'json'), 'get nodes')) as { name: string }[];
    expect(nodes.map((n) => n.name)).toEqual(['renamed']);
  });
});
