/**
 * Every buffer has a bounded life, seen from outside: a real ferryd (gRPC,
 * HTTP gateway, pools, real instance processes) and a stage that hangs,
 * spins, dies or is fed slowly on request. After each test the chain's pool
 * must be empty again: no failure path may keep a buffer.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reply } from '../gateway/injector.js';
import { load, post } from '../../test/helpers/http-load.js';
import { modes } from '../../test/helpers/dataplane.js';
import type { InstanceEvent } from './proto.js';
import { countersOf } from './stats.js';
import { STAGE_REPLY, startTestFerryd, untilReady, waitFor, type TestFerryd } from './testdata/harness.js';

const CHAIN = 61;
const INSTANCE = 610;
const GW = 619;
const NAME = 'trouble';
const TROUBLE = join(import.meta.dirname, 'testdata/trouble.ts');
const BROKEN = join(import.meta.dirname, 'testdata/broken.ts');
const MiB = 1 << 20;

describe.each(modes)('bounded request lives (%s mode)', (mode) => {
  let t: TestFerryd;
  let url: string;

  beforeEach(async () => {
    t = await startTestFerryd(mode, 'life-node', { probeTimeoutMs: 500 });
    url = `http://${t.ferryd.gatewayAddress}/tenants/acme/chains/${NAME}`;
  });

  afterEach(async () => {
    if (t.ferryd.dataPlane.hasPool(CHAIN)) {
      // Whatever the test did, the pool ends empty (expired buffers are
      // taken back a grace period after their timeout).
      expect(await waitFor('the pool to be empty', () => (inUse() === 0 ? 0 : undefined), 10_000)).toBe(0);
    }
    await t.cleanup();
  });

  const inUse = () => t.ferryd.dataPlane.pool(CHAIN).stats().inUse;

  async function deploy(timeoutMs: number, handler = TROUBLE): Promise<void> {
    await t.client.createPool({ chainId: CHAIN, chainName: NAME, tenant: 'acme', quotaBytes: 64 * MiB, maxBodyBytes: MiB, lifetimeMs: timeoutMs + 1000 });
    await t.client.startInstance({ chainId: CHAIN, instanceId: INSTANCE, stage: 0, stageName: 'trouble', runtime: 'node', handler, next: [] });
    await t.client.programChain({
      chainId: CHAIN,
      routes: [{ stage: 0, targets: [{ instance: INSTANCE, weight: 1 }] }],
      allow: [
        { fromStage: STAGE_REPLY, toStage: 0 },
        { fromStage: 0, toStage: STAGE_REPLY },
      ],
      gateway: { chainName: NAME, entryStage: 0, maxBodyBytes: MiB, timeoutMs, gatewayInstanceId: GW },
    });
    if (handler === TROUBLE) await untilReady(t.client, CHAIN);
  }

  const status = async () => (await t.client.listInstances({ chainId: CHAIN })).instances[0]!;

  it('takes back the buffers of 1,500 requests a handler never answers, and keeps serving', async () => {
    await deploy(300);
    const pid = (await status()).pid;
    const hung = await load({ url, total: 1500, concurrency: 100, body: () => '{"hang":true}' });
    expect(hung.statuses.get(504)).toBe(1500);
    // A grace period after each timeout, ferryd took the buffers back.
    expect(await waitFor('the hung requests\' buffers back', () => (inUse() === 0 ? true : undefined), 10_000)).toBe(true);
    // Every request the handler was given, ferryd's deadline keeper took
    // back (on a loaded machine a few time out still in the gateway, which
    // frees those itself).
    const handed = countersOf(t.ferryd.dataPlane, INSTANCE).rxMsgs;
    expect(handed).toBeGreaterThan(1000);
    expect(t.ferryd.daemon.expiredBuffers(CHAIN)).toBeGreaterThanOrEqual(handed);
    const normal = await load({ url, total: 300, concurrency: 16, body: () => '{"ok":1}' });
    expect(normal.statuses.get(200)).toBe(300);
    // The instance answered its liveness probes (its loop was free): it was
    // not killed for requests it merely never answered.
    expect(await status()).toMatchObject({ pid, restarts: 0, state: 'RUNNING' });
  });

  it('kills an instance whose handler blocks its loop, restarts it, and serves again', async () => {
    await deploy(300);
    const events: InstanceEvent[] = [];
    const stream = t.client.watchInstanceEvents({});
    stream.on('data', (e: InstanceEvent) => events.push(e));
    stream.on('error', () => undefined);
    const before = await status();
    const stuck = await post(url, '{"spin":true}');
    expect(stuck.status).toBe(504);
    const killed = await waitFor('the stuck instance to be killed', () => events.find((e) => e.kind === 'stuck-killed'));
    expect(killed).toMatchObject({ instanceId: INSTANCE, chainId: CHAIN, signal: 'SIGKILL' });
    expect(killed.message).toMatch(/did not answer a liveness probe within 500 ms/);
    await waitFor('the instance to run again', async () => ((await status()).ready && (await status()).pid !== before.pid ? true : undefined));
    expect((await status()).lastError).toMatch(/stuck/);
    expect((await post(url, '{"after":"restart"}')).status).toBe(200);
    stream.cancel();
  });

  it('fails the requests in flight on an instance killed -9 under load within 100 ms, and leaks nothing', async () => {
    await deploy(10_000);
    let killedAt = 0;
    const late: number[] = [];
    const atKill: { status: number; afterKillMs: number }[] = [];
    const pid = (await status()).pid;
    const run = load({
      url,
      total: 200,
      concurrency: 16,
      // Long enough that the instance always holds several when it dies.
      body: () => '{"sleep":200}',
      onAnswer: (s, _b, startedAt) => {
        if (killedAt === 0 || startedAt >= killedAt) return;
        const afterKillMs = Date.now() - killedAt;
        atKill.push({ status: s, afterKillMs });
        if (afterKillMs > 100) late.push(afterKillMs);
      },
    });
    await waitFor('traffic to flow', () => (t.ferryd.dataPlane.counters(INSTANCE).rxMsgs > 40 ? true : undefined));
    killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const result = await run;
    // Every request the instance had (taken or still queued for it)
    // failed at once with 502 instanceDied, not after the 10 s timeout.
    const inFlight = atKill.filter((a) => a.status !== 200);
    expect(inFlight.length).toBeGreaterThan(0);
    for (const a of inFlight) expect(a.status).toBe(502);
    expect(late).toEqual([]);
    // Nothing else failed but what was in flight, or arrived while it restarted.
    expect([...result.statuses.keys()].every((s) => s === 200 || s === 502 || s === 503)).toBe(true);
    expect(inUse()).toBe(0);
    await untilReady(t.client, CHAIN);
    expect((await post(url, '{"again":1}')).status).toBe(200);
  });

  it('grows the pool for a burst of 1,000 70 kB bodies at 32 connections: no 503', async () => {
    await deploy(10_000);
    const body = JSON.stringify({ pad: 'x'.repeat(70_000) });
    const first = t.ferryd.dataPlane.occupancy(CHAIN).capacityBytes;
    const burst = await load({ url, total: 1000, concurrency: 32, body: () => body });
    expect(burst.errors).toEqual([]);
    expect(burst.statuses.get(200)).toBe(1000);
    const grown = t.ferryd.dataPlane.occupancy(CHAIN);
    expect(grown.capacityBytes).toBeGreaterThan(first);
    expect(grown.capacityBytes).toBeLessThanOrEqual(64 * MiB);
  });

  it('lets a stage answer more than its input held (an output that outgrows its class)', async () => {
    await deploy(10_000);
    const small = await post(url, JSON.stringify({ grow: 200_000 }));
    expect(small.status).toBe(200);
    expect(small.body.length).toBe(200_000);
    const big = await post(url, JSON.stringify({ grow: 600_000, pad: 'y'.repeat(65_000) }));
    expect(big.status).toBe(200);
    expect(big.body.length).toBe(600_000);
  });

  it('hands out no buffer with what an earlier request left in it', async () => {
    await deploy(10_000);
    const inj = t.ferryd.daemon.directory.lookup(NAME, 'acme')!.injector;
    const secret = '4111 1111 1111 1111 exp 12/29 cvc 123';
    const card: Reply = await inj.request(0, JSON.stringify({ secret }), { timeoutMs: 5000 });
    expect(new TextDecoder().decode(card.body)).toBe(secret);
    // The last freed buffer of a class is the first handed out again: the
    // next request gets the very buffer the card number was in.
    const peek = await inj.request(0, JSON.stringify({ peek: 4096 }), { timeoutMs: 5000 });
    const seen = JSON.parse(new TextDecoder().decode(peek.body)) as { dirty: number; offset: number };
    expect(seen.offset).toBe(card.offset);
    expect(seen.dirty).toBe(0);
  });

  it('serves normal traffic while 300 slow-body clients trickle, and cuts them', async () => {
    await deploy(10_000);
    const slow = slowClients(300, url);
    const normal = await load({ url, total: 200, concurrency: 8, body: () => '{"ok":1}' });
    expect(normal.errors).toEqual([]);
    expect(normal.statuses.get(200)).toBe(200);
    const answers = await slow.answers;
    // Each was refused early (429: its address had its share of bodies
    // arriving) or cut for its pace (408), none was served or left hanging.
    const codes = new Set(answers.map((a) => a.status));
    expect([...codes].every((c) => c === 408 || c === 429)).toBe(true);
    expect(answers).toHaveLength(300);
    expect(answers.filter((a) => a.status === 408).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect(Math.max(...answers.map((a) => a.afterMs))).toBeLessThan(8000);
  });

  it('fails requests at once, with the reason, when the function throws as it loads; the instance backs off in a crash loop', async () => {
    await deploy(10_000, BROKEN);
    const events: InstanceEvent[] = [];
    const stream = t.client.watchInstanceEvents({});
    stream.on('data', (e: InstanceEvent) => events.push(e));
    stream.on('error', () => undefined);
    const looping = await waitFor('a crash loop', async () => ((await status()).state === 'CRASH_LOOP' ? status() : undefined));
    expect(looping.ready).toBe(false);
    expect(looping.lastError).toMatch(/before it was ready.*cannot load: the database is gone/s);
    expect(looping.restartInMs).toBeGreaterThan(0);
    const startedAt = Date.now();
    const r = await post(url, '{}');
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(r.status).toBe(503);
    const err = JSON.parse(r.body.toString()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('stageUnavailable');
    expect(err.error.message).toMatch(/crash loop.*cannot load: the database is gone/s);
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain('started');
    expect(kinds).toContain('crashed');
    expect(kinds).toContain('crash-loop');
    expect(kinds).not.toContain('ready');
    stream.cancel();
  });

  it('reports every start, ready, kill and restart as an event, in order', async () => {
    await deploy(10_000);
    const events: InstanceEvent[] = [];
    const stream = t.client.watchInstanceEvents({ afterSeq: t.ferryd.daemon.events.lastSeq });
    stream.on('data', (e: InstanceEvent) => events.push(e));
    stream.on('error', () => undefined);
    const KILLS = 6;
    for (let i = 0; i < KILLS; i++) {
      await untilReady(t.client, CHAIN);
      process.kill((await status()).pid, 'SIGKILL');
      await waitFor(`kill ${i + 1} reported`, () => (events.filter((e) => e.kind === 'crashed').length > i ? true : undefined));
    }
    await untilReady(t.client, CHAIN);
    await waitFor('the last ready', () => (events.filter((e) => e.kind === 'ready').length >= KILLS ? true : undefined));
    const crashed = events.filter((e) => e.kind === 'crashed');
    expect(crashed).toHaveLength(KILLS);
    for (const e of crashed) expect(e).toMatchObject({ chainId: CHAIN, instanceId: INSTANCE, signal: 'SIGKILL', exitCode: -1 });
    expect(events.filter((e) => e.kind === 'started')).toHaveLength(KILLS);
    expect(events.filter((e) => e.kind === 'restarting' || e.kind === 'crash-loop')).toHaveLength(KILLS);
    // Numbered without gaps.
    events.forEach((e, i) => i > 0 && expect(e.seq).toBe(events[i - 1]!.seq + 1));
    stream.cancel();
  });
});

describe('pool quotas per tenant', () => {
  it('refuses a pool past what its tenant may hold on the node, and lets other tenants be', async () => {
    const t = await startTestFerryd(modes[0]!, 'quota-node', { tenantPoolBytes: 8 * MiB });
    try {
      const first = await t.client.createPool({ chainId: 71, chainName: 'one', tenant: 'acme' });
      expect(first.quotaBytes).toBe(64 * MiB);
      const refused = await t.client.createPool({ chainId: 72, chainName: 'two', tenant: 'acme' }).then(
        () => undefined,
        (err: Error & { codeName?: string; details?: string }) => err,
      );
      expect(refused?.codeName).toBe('RESOURCE_EXHAUSTED');
      expect(refused?.details).toMatch(/tenant "acme" has \d+ of its 8388608 pool bytes on this node in service/);
      expect(t.ferryd.dataPlane.hasPool(72)).toBe(false);
      // Another tenant has its own budget.
      await t.client.createPool({ chainId: 73, chainName: 'three', tenant: 'globex' });
      // Deleting acme's chain gives its bytes back.
      await t.client.deleteChain({ chainId: 71 });
      await t.client.createPool({ chainId: 72, chainName: 'two', tenant: 'acme' });
    } finally {
      await t.cleanup();
    }
  });
});

interface SlowAnswer {
  status: number;
  afterMs: number;
}

/**
 * n clients that announce a 100 kB body and send it a byte a second, from
 * 16 local addresses (127.0.1.1 to .16): more per address than an address
 * may have arriving, so some are refused at once and the rest are cut for
 * their pace. Resolves with what each was answered.
 */
function slowClients(n: number, url: string): { answers: Promise<SlowAnswer[]> } {
  const u = new URL(url);
  const started = Date.now();
  const one = (i: number) =>
    new Promise<SlowAnswer>((resolve) => {
      const sock: Socket = connect({ host: u.hostname, port: Number(u.port), localAddress: `127.0.1.${1 + (i % 16)}` });
      let got = '';
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearInterval(timer);
        sock.destroy();
        const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
        resolve({ status: m ? Number(m[1]) : 0, afterMs: Date.now() - started });
      };
      sock.on('connect', () => {
        sock.write(`POST ${u.pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
        timer = setInterval(() => sock.write('"'), 1000);
      });
      sock.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('\r\n\r\n')) done();
      });
      sock.on('error', done);
      sock.on('close', done);
    });
  return { answers: Promise.all(Array.from({ length: n }, (_, i) => one(i))) };
}
