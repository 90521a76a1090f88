/**
 * Scale from zero, end to end: a real control plane, its local ferryd and
 * real instances, in both data plane modes. A stage scaled to zero has no
 * instance; its gateway holds requests (bounded, with its own timeout),
 * asks for an instance, and lets them in once one is ready. Clients that
 * leave, a full queue and a start too slow for the hold timeout are tried
 * too: each gets a clear answer and holds nothing afterwards.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes, sharedTempDir } from '../../../test/helpers/dataplane.js';
import { startTestControlPlane, type TestControlPlane } from '../../../test/helpers/control-plane.js';
import { load, startLoad } from '../../../test/helpers/http-load.js';
import { scrape, total } from '../../../test/helpers/prometheus.js';
import { waitFor } from '../../ferryd/testdata/harness.js';
import type { ChainStatus } from '../admin/proto.js';

/** Two stages; greet may go to zero. `limits` adds to the chain's limits.
 * The tests scale by hand (scale.policy manual); from zero is the activator's. */
const chain = (name: string, greet: string, limits = '') => `apiVersion: ferry.dev/v1
kind: Chain
metadata: { name: ${name} }
spec:
  entry: parse
  scale: { policy: manual }
  limits: { maxBodyBytes: 4096, timeoutMs: 8000${limits} }
  functions:
    - name: parse
      runtime: node
      handler: ./parse.ts
      next: [greet]
    - name: greet
      runtime: node
      handler: ./${greet}
      scale: { min: 0, max: 3 }
      next: []
`;

const PARSE = `export default function parse(ctx) {
  return { name: String(ctx.json().name) };
}
`;
const GREET = `export default function greet(ctx) {
  return { greeting: 'hello, ' + ctx.json().name, pid: process.pid };
}
`;
/** Takes 1.5 s to load: longer than a short hold timeout. */
const SLOW_GREET = `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
${GREET}`;

const stage = (c: ChainStatus, name: string) => c.stages.find((s) => s.name === name)!;

describe.each(modes)('scale from zero (%s mode)', (mode) => {
  const dir = sharedTempDir('ferry-zero-');
  let t: TestControlPlane;

  const url = (name: string) => `http://${t.cp.gatewayAddress}/chains/${name}`;
  const apply = async (name: string, greet: string, limits = '') => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, chain(name, greet, limits));
    return t.admin.call('ApplyChain', { yaml: readFileSync(file, 'utf8'), file });
  };
  const getChain = (name: string) => t.admin.call('GetChain', { name });
  const toZero = async (name: string) => {
    const c = await t.admin.call('ScaleStage', { name, stage: 'greet', instances: 0 });
    expect(stage(c, 'greet').instances).toEqual([]);
  };
  const ferrydMetrics = () => scrape(t.cp.ferrydMetricsAddress!);
  const fromZeroEvents = (name: string) => t.events.filter((e) => e.kind === 'scaled' && e.chain === name && /0 -> 1.*scale from zero/.test(e.message));
  const untilWarm = (name: string) =>
    waitFor(`${name}'s greet back from zero`, async () => (stage(await getChain(name), 'greet').instances.some((i) => i.ready) ? true : undefined));

  beforeAll(async () => {
    writeFileSync(join(dir, 'parse.ts'), PARSE);
    writeFileSync(join(dir, 'greet.ts'), GREET);
    writeFileSync(join(dir, 'slow-greet.ts'), SLOW_GREET);
    t = await startTestControlPlane({ test: 'scale-from-zero', mode, metrics: true });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds requests for a stage scaled to zero, starts an instance, and answers every one', async () => {
    await apply('zero', 'greet.ts');
    await toZero('zero');
    const r = await load({ url: url('zero'), total: 12, concurrency: 12, body: () => '{"name":"z"}' });
    expect(r.errors).toEqual([]);
    expect(r.statuses.get(200)).toBe(12);
    // One instance, started once for all of them, and the event says why
    // (the record is stored once the change is done, just after the routes
    // that let the requests in).
    await untilWarm('zero');
    expect(stage(await getChain('zero'), 'greet').instances).toHaveLength(1);
    await waitFor('the scale-from-zero event', () => (fromZeroEvents('zero').length > 0 ? true : undefined));
    expect(fromZeroEvents('zero')).toHaveLength(1);
    expect(fromZeroEvents('zero')[0]!.message).toMatch(/the gateway holds \d+ requests? for stage greet/);
    // The gateway measured each one's cold start, and holds nothing now.
    const m = await ferrydMetrics();
    expect(total(m, 'ferry_gateway_cold_start_seconds_count', { chain: 'zero' })).toBe(12);
    expect(total(m, 'ferry_gateway_held_requests', { chain: 'zero' })).toBe(0);
    // The control plane reports it too, once the next stats sample is in.
    const status = await waitFor('cold starts in ChainStatus', async () => {
      const c = await getChain('zero');
      return c.coldStartP99Ms > 0 ? c : undefined;
    });
    expect(status.coldStartP50Ms).toBeGreaterThan(0);
    expect(status.heldRequests).toBe(0);
  });

  it('keeps a door open for a chain whose every stage is at zero, and brings it back', async () => {
    const file = join(dir, 'alone.yaml');
    // One stage, scale.min 0: at zero nothing of the chain runs anywhere.
    writeFileSync(file, chain('alone', 'greet.ts').replace('  entry: parse', '  entry: greet').replace(/    - name: parse\n[\s\S]*?next: \[greet\]\n/, ''));
    await t.admin.call('ApplyChain', { yaml: readFileSync(file, 'utf8'), file });
    const c = await t.admin.call('ScaleStage', { name: 'alone', stage: 'greet', instances: 0 });
    expect(c.stages.map((s) => s.instances.length)).toEqual([0]);
    expect(c.endpoints).toHaveLength(1);
    const r = await load({ url: url('alone'), total: 4, concurrency: 4, body: () => '{"name":"a"}' });
    expect(r.errors).toEqual([]);
    expect(r.statuses.get(200)).toBe(4);
    await waitFor('the scale-from-zero event', () => (fromZeroEvents('alone').length > 0 ? true : undefined));
    await t.admin.call('DeleteChain', { name: 'alone' });
  });

  it('scales 0 -> 1 -> 3 -> 0 under load without failing a request', async () => {
    await apply('steps', 'greet.ts');
    await toZero('steps');
    const traffic = startLoad({ url: url('steps'), concurrency: 4, body: () => '{"name":"s"}' });
    let result;
    try {
      // The load itself brings the stage back from zero.
      await untilWarm('steps');
      await t.admin.call('ScaleStage', { name: 'steps', stage: 'greet', instances: 3 });
      await new Promise((r) => setTimeout(r, 300));
      // To zero while requests keep coming: in-flight ones drain, new ones
      // are held, and the held ones bring it back again.
      await t.admin.call('ScaleStage', { name: 'steps', stage: 'greet', instances: 0 });
      await waitFor('greet back from zero again', () => (fromZeroEvents('steps').length >= 2 ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      result = await traffic.stop();
    }
    expect(result.errors).toEqual([]);
    expect([...result.statuses.keys()]).toEqual([200]);
    expect(result.total).toBeGreaterThan(20);
    const scaled = t.events.filter((e) => e.kind === 'scaled' && e.chain === 'steps').map((e) => /scaled (\d+ -> \d+)/.exec(e.message)?.[1]);
    expect(scaled).toEqual(['1 -> 0', '0 -> 1', '1 -> 3', '3 -> 0', '0 -> 1']);
  });

  it('answers 503 with Retry-After past the hold queue\'s bound, and when no instance is ready within the hold timeout', async () => {
    await apply('bounded', 'slow-greet.ts', ', holdRequests: 2, holdTimeoutMs: 600');
    await toZero('bounded');
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(url('bounded'), { method: 'POST', body: '{"name":"b"}' }).then(async (res) => ({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          error: ((await res.json()) as { error?: { code: string; message: string } }).error,
          ms: Date.now() - started,
        })),
      ),
    );
    // All refused: four at once (the queue holds two), two after the hold
    // timeout, since the instance takes 1.5 s to load.
    for (const a of answers) expect(a).toMatchObject({ status: 503, retryAfter: '1', error: { code: 'stageUnavailable' } });
    const full = answers.filter((a) => /2 requests already wait/.test(a.error!.message));
    const late = answers.filter((a) => /none was ready within 600 ms/.test(a.error!.message));
    expect(full).toHaveLength(4);
    expect(late).toHaveLength(2);
    for (const a of late) expect(a.ms).toBeGreaterThanOrEqual(550);
    // The instance the first request asked for comes up; then requests pass.
    await untilWarm('bounded');
    const ok = await fetch(url('bounded'), { method: 'POST', body: '{"name":"b"}' });
    expect(ok.status).toBe(200);
    expect(total(await ferrydMetrics(), 'ferry_gateway_held_requests', { chain: 'bounded' })).toBe(0);
  });

  it('lets go of a request whose client leaves while it is held', async () => {
    await apply('leaving', 'slow-greet.ts');
    await toZero('leaving');
    const u = new URL(url('leaving'));
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-length': '12' } });
    req.on('error', () => undefined);
    req.end('{"name":"l"}');
    await waitFor('the request to be held', async () => (total(await ferrydMetrics(), 'ferry_gateway_held_requests', { chain: 'leaving' }) === 1 ? true : undefined));
    req.destroy();
    await waitFor('the held request to be let go', async () => (total(await ferrydMetrics(), 'ferry_gateway_held_requests', { chain: 'leaving' }) === 0 ? true : undefined));
    const m = await ferrydMetrics();
    expect(total(m, 'ferry_gateway_responses_total', { chain: 'leaving', status: '499', code: 'clientGone' })).toBe(1);
    // Its ask still started an instance, which serves the next client.
    await untilWarm('leaving');
    expect((await fetch(url('leaving'), { method: 'POST', body: '{"name":"l"}' })).status).toBe(200);
  });
});
