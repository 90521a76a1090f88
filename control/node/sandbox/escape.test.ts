/**
 * A hostile function tries every way out of its sandbox, for real, on a
 * real ferryd (gRPC, HTTP gateway, instances as processes): one written for
 * `runtime: node` (testdata/escape.ts) and one for `runtime: native`
 * (testdata/escape.c). Each probe reports what happened; every one must
 * fail. A victim chain of another tenant holds a secret in its pool the
 * whole time, and the test checks (as root) that the secret really is
 * there, so a probe that got in would have found it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readlinkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes, sharedTempDir } from '../../../test/helpers/dataplane.js';
import { FerrydError } from '../../ferryd/client.js';
import { STAGE_REPLY, startTestFerryd, waitFor, WORKER, type TestFerryd } from '../../ferryd/testdata/harness.js';
import { repoRoot } from '../../paths.js';
import type { InstanceExit } from '../dataplane.js';

const mode = modes[0]!;
const SECRET = 'CARD-4111-1111-1111-1111';
/** In ferryd's environment only: must never reach an instance. */
const PARENT_SECRET = 'SANDBOX_TEST_PARENT_SECRET';
const PROBE_TS = join(repoRoot, 'control/node/sandbox/testdata/escape.ts');
const PROBE_SO = join(repoRoot, 'control/node/sandbox/testdata/escape.so');
const LIMITS = { cpuMilli: 1000, memoryMb: 128, pids: 32 };

const VICTIM = { chainId: 61, name: 'victim', tenant: 'beta', instance: 610, gateway: 619 };
const PROBES = [
  { runtime: 'node', chainId: 62, name: 'probe-node', handler: PROBE_TS, instance: 620, gateway: 629 },
  { runtime: 'native', chainId: 63, name: 'probe-native', handler: PROBE_SO, instance: 630, gateway: 639 },
] as const;

interface Opened {
  path: string;
  opened: boolean;
  error?: string;
  found?: boolean;
}
type Reply = { escaped: boolean; [k: string]: unknown };

describe(`a function trying to escape its sandbox (${mode} mode)`, () => {
  let t: TestFerryd;
  let gateway: string;
  let shared: string;
  const exits: { id: number; exit: InstanceExit }[] = [];

  /** Aborted at the end: the gateway would wait for it on close. */
  const held = new AbortController();

  /** The chains here belong to tenants alpha (the probes) and beta (the victim). */
  async function post(chain: string, body: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
    const tenant = chain === VICTIM.name ? VICTIM.tenant : 'alpha';
    const r = await fetch(`http://${gateway}/tenants/${tenant}/chains/${chain}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' }, signal });
    return { status: r.status, body: await r.text() };
  }

  async function probe(chain: string, ...words: (string | number)[]): Promise<Reply> {
    const r = await post(chain, words.join(' '));
    expect(r.status, r.body).toBe(200);
    return JSON.parse(r.body) as Reply;
  }

  async function start(chainId: number, name: string, tenant: string, stage: { instance: number; runtime: string; handler: string; gateway: number }) {
    await t.client.createPool({ chainId, chainName: name, tenant, classes: [{ size: 4096, count: 16 }] });
    await t.client.startInstance({ chainId, instanceId: stage.instance, stage: 0, stageName: 'main', runtime: stage.runtime, handler: stage.handler, next: [], tenant, resources: LIMITS });
    await t.client.programChain({
      chainId,
      routes: [{ stage: 0, targets: [{ instance: stage.instance, weight: 1 }] }],
      allow: [{ fromStage: STAGE_REPLY, toStage: 0 }, { fromStage: 0, toStage: STAGE_REPLY }],
      gateway: { chainName: name, entryStage: 0, timeoutMs: 10_000, gatewayInstanceId: stage.gateway },
    });
  }

  const pidOf = (instance: number) => t.ferryd.dataPlane.instance(instance)!.pid;
  const uidOf = (instance: number) => t.ferryd.dataPlane.instance(instance)!.uid;
  /** The pool an instance mapped (the runtime keeps a dup of fd 4 under another number). */
  const memfdOf = (pid: number) => {
    const fd = readdirSync(`/proc/${pid}/fd`).find((n) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${n}`).startsWith('/memfd:ferry-');
      } catch {
        return false;
      }
    });
    if (!fd) throw new Error(`process ${pid} has no pool mapped`);
    return `/proc/${pid}/fd/${fd}`;
  };
  /** ferryd's pools, as /proc shows ferryd's own fds (ferryd runs in this process). */
  const ferrydPoolFds = () =>
    readdirSync('/proc/self/fd')
      .map((fd) => `/proc/${process.pid}/fd/${fd}`)
      .filter((p) => {
        try {
          return readlinkSync(p).startsWith('/memfd:ferry-');
        } catch {
          return false;
        }
      });

  beforeAll(async () => {
    process.env[PARENT_SECRET] = 'ferryd-only';
    t = await startTestFerryd(mode, 'sandbox-escape');
    t.ferryd.dataPlane.on('instance-exit', (id: number, exit: InstanceExit) => exits.push({ id, exit }));
    gateway = t.ferryd.gatewayAddress;
    await start(VICTIM.chainId, VICTIM.name, VICTIM.tenant, { instance: VICTIM.instance, runtime: 'node', handler: WORKER, gateway: VICTIM.gateway });
    for (const p of PROBES) await start(p.chainId, p.name, 'alpha', p);
    // The victim holds a request with the secret in its pool while the probes run.
    void post(VICTIM.name, `slow:60000 ${SECRET}`, held.signal).catch(() => undefined);
    await waitFor('the victim holding the secret', () => (t.ferryd.dataPlane.pool(VICTIM.chainId).stats().inUse > 0 ? true : undefined));
    // A setuid-root program that prints the effective uid.
    shared = sharedTempDir('ferry-escape-');
    copyFileSync('/usr/bin/id', join(shared, 'suid-id'));
    chmodSync(join(shared, 'suid-id'), 0o4755);
  });

  afterAll(async () => {
    delete process.env[PARENT_SECRET];
    held.abort();
    await t?.cleanup();
    if (shared) rmSync(shared, { recursive: true, force: true });
  });

  it('runs each tenant as its own unprivileged user', () => {
    const alpha = uidOf(PROBES[0].instance);
    expect(alpha).toBeGreaterThanOrEqual(200_000);
    expect(uidOf(PROBES[1].instance)).toBe(alpha);
    expect(uidOf(VICTIM.instance)).toBeGreaterThanOrEqual(200_000);
    expect(uidOf(VICTIM.instance)).not.toBe(alpha);
    expect(t.ferryd.info.sandbox).toMatch(/^uid\+cgroup-v[12]$/);
  });

  it('the secret is really in the victim pool (what a successful probe would find)', () => {
    const pool = readFileSync(memfdOf(pidOf(VICTIM.instance)));
    expect(pool.includes(SECRET)).toBe(true);
    expect(ferrydPoolFds().length).toBeGreaterThanOrEqual(3);
  });

  it('a setuid-root program does give root to a user without no_new_privs (the probe below is real)', () => {
    const r = spawnSync('setpriv', ['--reuid=200001', '--regid=200001', '--clear-groups', join(shared, 'suid-id'), '-u'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('0');
  });

  describe.each(PROBES)('runtime $runtime', (p) => {
    const expectNoneOpened = (r: Reply) => {
      const results = r.results as Opened[];
      expect(results.length).toBeGreaterThan(0);
      for (const o of results) {
        expect(o, JSON.stringify(o)).toMatchObject({ opened: false });
        expect(['EACCES', 'ENOENT', 'EPERM']).toContain(o.error);
      }
      expect(r.escaped).toBe(false);
    };

    it("cannot open another chain's pool through ferryd's fds", async () => {
      expectNoneOpened(await probe(p.name, 'open', SECRET, ...ferrydPoolFds()));
    });

    it("cannot open another tenant's pool, memory or environment through its /proc", async () => {
      const victim = pidOf(VICTIM.instance);
      expectNoneOpened(await probe(p.name, 'open', SECRET, memfdOf(victim), `/proc/${victim}/mem`, `/proc/${victim}/environ`));
    });

    it("cannot read ferryd's environment or /etc/shadow", async () => {
      const r = await probe(p.name, 'open', 'PATH=', `/proc/${process.pid}/environ`, '/etc/shadow');
      expectNoneOpened(r);
      expect((r.results as Opened[])[1]!.error).toBe('EACCES');
    });

    it('sees no bpffs: /sys/fs/bpf is empty, the pin dirs are gone, BPF ids give nothing', async () => {
      const root = await probe(p.name, 'list', '/sys/fs/bpf');
      expect(root).toMatchObject({ escaped: false, entries: [] });
      expect(readdirSync('/sys/fs/bpf').length).toBeGreaterThan(0); // what it would have seen
      const pins = readdirSync('/sys/fs/bpf').map((d) => join('/sys/fs/bpf', d));
      expect(await probe(p.name, 'list', pins[0]!)).toMatchObject({ escaped: false, error: 'ENOENT' });
      if (p.runtime === 'native') expect(await probe(p.name, 'bpf')).toMatchObject({ escaped: false, maps: 0, error: 'EPERM' });
    });

    it("has only the allow-listed environment: none of ferryd's (npm_*, its secrets)", async () => {
      const names = (await probe(p.name, 'env')).names as string[];
      expect(names).toContain('FERRY_INSTANCE_ID');
      expect(names).toContain('FERRY_TENANT');
      for (const n of names) expect(n).toMatch(/^(PATH|HOME|LANG|LC_ALL|TZ|FERRY_[A-Z_]+)$/);
      expect(names).not.toContain(PARENT_SECRET);
      expect(Object.keys(process.env).filter((k) => !names.includes(k)).length).toBeGreaterThan(0);
    });

    it('runs with no capabilities, no supplementary groups and no_new_privs', async () => {
      const s = (await probe(p.name, 'status')).status as Record<string, string>;
      const uid = String(uidOf(p.instance));
      expect(s.Uid!.split('\t')).toEqual([uid, uid, uid, uid]);
      expect(s.Gid!.split('\t')).toEqual([uid, uid, uid, uid]);
      expect(s.Groups!.trim()).toBe('');
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(s[cap], cap).toBe('0000000000000000');
      expect(s.NoNewPrivs).toBe('1');
    });

    it('does not see ferryd or other tenants in /proc', async () => {
      const pids = (await probe(p.name, 'procs')).pids as number[];
      expect(pids).toContain(pidOf(p.instance));
      expect(pids).not.toContain(process.pid);
      expect(pids).not.toContain(pidOf(VICTIM.instance));
    });

    it('cannot kill ferryd or another tenant', async () => {
      expect(await probe(p.name, 'kill', process.pid)).toMatchObject({ escaped: false, error: 'EPERM' });
      expect(await probe(p.name, 'kill', pidOf(VICTIM.instance))).toMatchObject({ escaped: false, error: 'EPERM' });
    });

    it('gains nothing from a setuid-root program (no_new_privs)', async () => {
      expect(await probe(p.name, 'exec', join(shared, 'suid-id'))).toMatchObject({ escaped: false, output: String(uidOf(p.instance)) });
    });

    it('is stopped at its pids limit by a fork bomb; ferryd and other chains are unaffected', async () => {
      const r = await probe(p.name, 'fork', 1000);
      expect(r.escaped).toBe(false);
      expect(r.started as number).toBeLessThan(LIMITS.pids);
      expect(r.error).toBe('EAGAIN');
      expect((await t.client.getNodeInfo()).name).toBe('sandbox-escape');
      const victim = await post(VICTIM.name, 'still here');
      expect(victim).toMatchObject({ status: 200, body: 'still here ' });
      // The instance survived (or was restarted) and still answers.
      await waitFor('the probe answering again', async () => ((await post(p.name, 'env')).status === 200 ? true : undefined));
    });

    it('is OOM-killed past its memory limit, reported as such, and restarted', async () => {
      const before = exits.length;
      const r = await post(p.name, 'alloc 1024');
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body).error.code).toBe('instanceDied');
      const died = exits.slice(before).find((e) => e.id === p.instance);
      expect(died?.exit).toMatchObject({ oomKilled: true, signal: 'SIGKILL' });
      const st = await waitFor('the probe restarted', async () => {
        const s = (await t.client.listInstances({ chainId: p.chainId })).instances[0];
        return s && s.state === 'RUNNING' && s.restarts >= 1 ? s : undefined;
      });
      expect(st.lastError).toMatch(/^killed: out of memory \(limit 128 MiB\)/);
      await waitFor('the restarted probe answering', async () => ((await post(p.name, 'env')).status === 200 ? true : undefined));
    });
  });

  it("refuses to start a handler the tenant's user cannot reach, saying which path, uid and what to do", async () => {
    const locked = sharedTempDir('ferry-locked-');
    try {
      mkdirSync(join(locked, 'inner'), { mode: 0o700 });
      copyFileSync(PROBE_TS, join(locked, 'inner/escape.ts'));
      chmodSync(join(locked, 'inner'), 0o700);
      expect(statSync(join(locked, 'inner')).mode & 0o777).toBe(0o700);
      const err = await t.client
        .startInstance({ chainId: PROBES[0].chainId, instanceId: 640, stage: 0, stageName: 'main', runtime: 'node', handler: join(locked, 'inner/escape.ts'), tenant: 'alpha' })
        .then(() => undefined, (e: FerrydError) => e);
      expect(err).toBeInstanceOf(FerrydError);
      expect(err!.codeName).toBe('FAILED_PRECONDITION');
      expect(err!.details).toContain(join(locked, 'inner/escape.ts'));
      expect(err!.details).toContain(`uid ${uidOf(PROBES[0].instance)}`);
      expect(err!.details).toContain(`chmod o+x ${join(locked, 'inner')}`);

      writeFileSync('/tmp/ferry-escape-handler.ts', 'export default () => "x";');
      const tmp = await t.client
        .startInstance({ chainId: PROBES[0].chainId, instanceId: 640, stage: 0, stageName: 'main', runtime: 'node', handler: '/tmp/ferry-escape-handler.ts' })
        .then(() => undefined, (e: FerrydError) => e);
      expect(tmp?.details).toMatch(/\/tmp\/ferry-escape-handler\.ts is under \/tmp, which the sandbox user \(uid \d+, gid \d+\) does not see/);
      expect((await t.client.listInstances({ chainId: PROBES[0].chainId })).instances.map((i) => i.instanceId)).toEqual([PROBES[0].instance]);
    } finally {
      rmSync(locked, { recursive: true, force: true });
      rmSync('/tmp/ferry-escape-handler.ts', { force: true });
    }
  });
});
