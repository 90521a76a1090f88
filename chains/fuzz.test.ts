/**
 * The example chains against malformed input, through the real gateway: a
 * local ferry (control plane, ferryd, gateway, real instances, in this
 * process, on its own ports, pin dir and state) runs motion, parking,
 * online-boutique and pipeline, and each gets a few hundred bad bodies made from its
 * sample requests: truncated JSON, every member dropped or given the wrong
 * type, huge and odd numbers, long strings, deep nesting, binary.
 *
 * What must hold: no 500 (a caller's mistake is a 4xx saying what is
 * wrong, and no function has a bug these bodies find), every error in
 * ferry's JSON shape, no instance crashed, and the chain still answers a
 * good request afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../control/controlplane/admin/client.js';
import { controlPlaneTls, nodeTls } from '../control/ferryd/testdata/harness.js';
import { testCredential } from '../test/helpers/pki.js';
import { startControlPlane, type ControlPlane } from '../control/controlplane/control-plane.js';
import { createLogger } from '../control/log.js';
import { repoRoot } from '../control/paths.js';
import { sampleRequests } from './test-context.js';

const CHAINS = ['motion', 'parking', 'online-boutique', 'pipeline'];
const chainFile = (name: string) => join(repoRoot, 'chains', name, 'chain.yaml');

/** Deterministic, so a failure names a body that fails again. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const WRONG_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, -0.000001, 1e308, -1e308, 2 ** 53 + 1, 1e21, '', ' ', 'x', '9'.repeat(400),
  'é\u0000\u202e', 'a'.repeat(10_000), [], [null], [1, 'two', {}], {}, { nested: { deeper: [1, 2, 3] } },
];
const RAW_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '0.0000000000000000000001', '-0', '1E+2', '0x10', 'NaN', 'Infinity'];

/** Every way to break one sample: a few hundred bodies. */
function malformed(sample: string, seed: number): (string | Buffer)[] {
  const random = rng(seed);
  const doc = JSON.parse(sample) as Record<string, unknown>;
  const bodies: (string | Buffer)[] = [];
  // Truncated anywhere.
  for (let i = 0; i < 40; i++) bodies.push(sample.slice(0, Math.floor(random() * sample.length)));
  // Each member dropped, and each given every wrong value; nested members too.
  const paths: string[][] = [];
  for (const [k, v] of Object.entries(doc)) {
    paths.push([k]);
    if (v && typeof v === 'object') for (const k2 of Object.keys(v).slice(0, 4)) paths.push([k, k2]);
    if (Array.isArray(v) && v[0] && typeof v[0] === 'object') for (const k2 of Object.keys(v[0] as object)) paths.push([k, '0', k2]);
  }
  const edit = (path: string[], value: unknown, drop = false) => {
    const copy = structuredClone(doc) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    let at = copy;
    for (const p of path.slice(0, -1)) at = at[p];
    if (drop) delete at[path.at(-1)!];
    else at[path.at(-1)!] = value;
    return JSON.stringify(copy);
  };
  for (const path of paths) {
    bodies.push(edit(path, undefined, true));
    for (const v of WRONG_VALUES) if (random() < 0.45) bodies.push(edit(path, v));
    for (const n of RAW_NUMBERS) if (random() < 0.3) bodies.push(edit(path, '@@').replace('"@@"', n));
  }
  // Not the object a stage expects, or not JSON at all.
  bodies.push('', 'null', '[]', '"just a string"', '42', 'true', '{}', '{"a":1,"a":2}', sample + sample, `[${sample}]`);
  bodies.push('['.repeat(5000) + ']'.repeat(5000), '{"x":'.repeat(3000) + '1' + '}'.repeat(3000));
  bodies.push(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]), Buffer.from(sample.replace(/"/g, '\u0000')));
  for (let i = 0; i < 20; i++) bodies.push(Buffer.from(Array.from({ length: 1 + Math.floor(random() * 600) }, () => Math.floor(random() * 256))));
  // Random byte flips of the sample.
  for (let i = 0; i < 30; i++) {
    const b = Buffer.from(sample);
    for (let j = 0; j < 1 + Math.floor(random() * 4); j++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    bodies.push(b);
  }
  return bodies;
}

interface Outcome {
  status: number;
  body: string;
  contentType: string;
}

describe('example chains under malformed input, through the real gateway', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-fuzz-'));
  const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-fuzz`;
  const store = join(dataDir, 'parking');
  let cp: ControlPlane;
  let admin: AdminClient;
  const previousStore = process.env.FERRY_PARKING_STORE;

  beforeAll(async () => {
    process.env.FERRY_PARKING_STORE = store; // persist's day logs stay in this test's dir
    cp = await startControlPlane({
      dataDir,
      adminAddress: '127.0.0.1:0',
      tls: controlPlaneTls,
      localNode: { name: 'fuzz', tls: await nodeTls('fuzz'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', pinDir, stateDir: join(dataDir, 'ferryd') },
      log: createLogger({ test: 'fuzz' }, 'error'),
    });
    admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
    for (const name of CHAINS) await admin.call('ApplyChain', { yaml: readFileSync(chainFile(name), 'utf8'), file: chainFile(name) });
  }, 120_000);

  afterAll(async () => {
    admin?.close();
    await cp?.close();
    if (previousStore === undefined) delete process.env.FERRY_PARKING_STORE;
    else process.env.FERRY_PARKING_STORE = previousStore;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  async function post(chain: string, body: string | Buffer): Promise<Outcome> {
    const res = await fetch(`http://${cp.gatewayAddress}/chains/${chain}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers: { 'content-type': typeof body === 'string' ? 'application/json' : 'application/octet-stream' },
    });
    return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? '' };
  }

  it.each(CHAINS)('%s answers a few hundred malformed bodies with 4xx in ferry\'s shape, and a good one after', async (chain) => {
    const samples = Object.values(sampleRequests(chainFile(chain)));
    const bodies = samples.flatMap((s, i) => malformed(s, 1000 + i));
    expect(bodies.length).toBeGreaterThan(300);
    const byStatus = new Map<number, number>();
    const unexpected: string[] = [];
    for (let i = 0; i < bodies.length; i += 8) {
      const batch = bodies.slice(i, i + 8);
      const outcomes = await Promise.all(batch.map((b) => post(chain, b)));
      outcomes.forEach((o, j) => {
        byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
        const body = batch[j]!;
        const shown = `${o.status} for ${JSON.stringify(body.toString().slice(0, 120))}: ${o.body.slice(0, 300)}`;
        if (o.status >= 500) return void unexpected.push(shown);
        if (o.status < 400) return;
        let error: Record<string, unknown> | undefined;
        try {
          error = (JSON.parse(o.body) as { error?: Record<string, unknown> }).error;
        } catch {
          // not JSON: reported below
        }
        const shaped =
          o.contentType.startsWith('application/json') &&
          typeof error?.code === 'string' &&
          typeof error.message === 'string' &&
          error.message.length > 0 &&
          error.chain === chain;
        if (!shaped) unexpected.push(`not in ferry's shape: ${shown}`);
      });
    }
    console.info(`${chain}: ${bodies.length} malformed bodies ->`, Object.fromEntries([...byStatus].sort(([a], [b]) => a - b)));
    expect(unexpected).toEqual([]);
    expect([...byStatus.keys()].some((s) => s >= 400 && s < 500)).toBe(true);

    // Nothing crashed, and the chain still serves.
    const status = await admin.call('GetChain', { name: chain });
    for (const s of status.stages) for (const inst of s.instances) expect([s.name, inst.state, inst.restarts]).toEqual([s.name, 'RUNNING', 0]);
    expect((await fetch(`http://${cp.gatewayAddress}/healthz`)).status).toBe(200);
    const good = await post(chain, samples[0]!);
    expect(good.status, good.body).toBe(200);
  }, 180_000);

  it('restarts nothing when every example chain is applied again (a second npm start)', async () => {
    for (const name of CHAINS) {
      const pids = (c: { stages: { instances: { id: number; pid: number }[] }[] }) => c.stages.map((s) => s.instances.map((i) => [i.id, i.pid]));
      const before = await admin.call('GetChain', { name });
      const after = await admin.call('ApplyChain', { yaml: readFileSync(chainFile(name), 'utf8'), file: chainFile(name) });
      expect(after.generation, name).toBe(before.generation + 1);
      expect(pids(after), name).toEqual(pids(before));
    }
  });
});
