/**
 * Functions answering the caller themselves (FERRY_F_RESPONSE): any status
 * and content type, from the last stage or early from a middle one, in
 * both runtimes (node: ctx.respond / HttpError; native: ferry_respond /
 * ferry_fail_status), through real HTTP, a real data plane (eBPF and
 * fallback) and real instance processes. What HTTP cannot carry is a 500
 * functionError that says why, and the instance lives on. No test may leak
 * a pool buffer.
 *
 *   chain 51:  0 answer.ts (last)      1 answer.ts -> 2 upper.ts
 *              3 answer.so (last)      4 answer.so -> 2 upper.ts
 *              5 answer.ts, misconfigured: no edge to the caller
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { STAGE_REPLY } from '../dataplane/descriptor.js';
import type { NodeDataPlane } from '../node/dataplane.js';
import { createLogger } from '../log.js';
import { fixture, modes, openDataPlane } from '../../test/helpers/dataplane.js';
import { alive } from '../ferryd/testdata/harness.js';
import type { ChainDirectory, ServedChain } from './directory.js';
import { buildGatewayServer } from './http.js';
import { Injector } from './injector.js';
import { httpCall } from './testdata/http-client.js';

const CHAIN = 51;
const UPPER = 102; // instance id of stage 2
const fn = (name: string) => join(import.meta.dirname, 'testdata', name);

describe.each(modes)('function answers (%s mode)', (mode) => {
  let dp: NodeDataPlane;
  let cleanup: () => Promise<void>;
  let injector: Injector;
  let app: FastifyInstance;
  let port: number;

  const post = (chain: string, body: unknown) =>
    httpCall(port, 'POST', `/chains/${chain}`, { body: typeof body === 'string' ? body : JSON.stringify(body) });
  const upperRuns = () => dp.counters(UPPER).rxMsgs;

  /** A 500 functionError whose message says what was wrong. */
  async function refused(chain: string, body: unknown, why: RegExp) {
    const r = await post(chain, body);
    expect(r.status, r.body.toString()).toBe(500);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json().error).toMatchObject({ code: 'functionError', chain });
    expect(r.json().error.message).toMatch(why);
    return r;
  }

  beforeAll(async () => {
    ({ dp, cleanup } = await openDataPlane(mode));
    dp.createPool(CHAIN, 'answers', {
      classes: [
        { size: 2048, count: 32 },
        { size: 8192, count: 8 },
      ],
    });
    const upper = [{ name: 'upper', id: 2 }];
    const stages = [
      { stage: 0, stageName: 'node-last', runtime: 'node' as const, handler: fn('answer.ts'), next: [] },
      { stage: 1, stageName: 'node-middle', runtime: 'node' as const, handler: fn('answer.ts'), next: upper },
      { stage: 2, stageName: 'upper', runtime: 'node' as const, handler: fn('upper.ts'), next: [] },
      { stage: 3, stageName: 'native-last', runtime: 'native' as const, handler: fixture('answer.so'), next: [] },
      { stage: 4, stageName: 'native-middle', runtime: 'native' as const, handler: fixture('answer.so'), next: upper },
      { stage: 5, stageName: 'no-reply-edge', runtime: 'node' as const, handler: fn('answer.ts'), next: [] },
    ];
    for (const s of stages) {
      dp.spawn({ ...s, instanceId: 100 + s.stage, chainId: CHAIN });
      dp.setRoute(CHAIN, s.stage, [{ instance: 100 + s.stage, weight: 1 }]);
      dp.allow(CHAIN, STAGE_REPLY, s.stage);
      if (s.stage !== 5) dp.allow(CHAIN, s.stage, STAGE_REPLY);
      for (const n of s.next) dp.allow(CHAIN, s.stage, n.id);
    }
    injector = new Injector(dp.openGateway(CHAIN, 1));
    const chains: ServedChain[] = [0, 1, 3, 4, 5].map((stage) => ({
      name: stages[stage]!.stageName,
      tenant: 'default',
      chainId: CHAIN,
      entryStage: stage,
      maxBodyBytes: 8192,
      timeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      injector,
    }));
    const directory: ChainDirectory = { lookup: (name) => chains.find((c) => c.name === name), list: () => chains };
    app = buildGatewayServer({ directory, log: createLogger({ test: 'answers' }, 'error') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (let i = 0; i < 100 && dp.pool(CHAIN).stats().inUse > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(dp.pool(CHAIN).stats().inUse).toBe(0);
    expect(injector.inFlight).toBe(0);
  });

  afterAll(async () => {
    await app?.close();
    injector?.close();
    await cleanup?.();
  });

  describe('node: ctx.respond and HttpError', () => {
    it('answers the status, content type and body the function gave', async () => {
      const csv = await post('node-last', { respond: 201, body: 'a,b\n1,2\n', type: 'text/csv; charset=utf-8' });
      expect(csv.status).toBe(201);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(csv.body.toString()).toBe('a,b\n1,2\n');

      const json = await post('node-last', { respond: 422, body: { missing: ['items'] } });
      expect(json.status).toBe(422);
      expect(json.headers['content-type']).toMatch(/^application\/json/); // inferred, as for a plain reply
      expect(json.json()).toEqual({ missing: ['items'] });

      const empty = await post('node-last', { respond: 204 });
      expect(empty.status).toBe(204);
      expect(empty.body.byteLength).toBe(0);
    });

    it('answers with the payload itself or its own buffer (zero copy), even when the trailer does not fit', async () => {
      const ask = { respond: 202, echo: 'in-place', type: 'application/vnd.ferry+json' };
      const inPlace = await post('node-last', ask);
      expect(inPlace.status).toBe(202);
      expect(inPlace.headers['content-type']).toBe('application/vnd.ferry+json');
      expect(inPlace.json()).toEqual(ask);

      const alloc = await post('node-last', { ...ask, echo: 'alloc' });
      expect(alloc.status).toBe(202);
      expect(alloc.json()).toEqual({ ...ask, echo: 'alloc' });

      // Exactly one 2 KiB buffer: the body moves to a bigger one for its trailer.
      const base = JSON.stringify({ ...ask, pad: '' });
      const full = JSON.stringify({ ...ask, pad: 'p'.repeat(2048 - base.length) });
      expect(full.length).toBe(2048);
      const r = await post('node-last', full);
      expect(r.status).toBe(202);
      expect(r.body.toString()).toBe(full);
    });

    it("renders a thrown HttpError in ferry's error shape with its status, code and message", async () => {
      const r = await post('node-last', { throw: 404, message: 'no product "OLJ-9"', code: 'unknownProduct' });
      expect(r.status).toBe(404);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json()).toEqual({ error: { code: 'unknownProduct', message: 'no product "OLJ-9"', chain: 'node-last' } });

      const named = await post('node-last', { throw: 400, message: 'the order needs items' });
      expect(named.json().error).toEqual({ code: 'badRequest', message: 'the order needs items', chain: 'node-last' });
      const unavailable = await post('node-last', { throw: 503, message: 'later' });
      expect(unavailable.status).toBe(503);
      expect(unavailable.json().error.code).toBe('serviceUnavailable');

      // A message longer than the request's 2 KiB buffer is cut, never lost.
      const long = await post('node-last', { throw: 413, message: 'm', repeat: 5000 });
      expect(long.status).toBe(413);
      expect(long.json().error.message).toBe('m'.repeat(2047));
    });

    it('answers early from a middle stage: the next stage never runs', async () => {
      const before = upperRuns();
      const passed = await post('node-middle', 'hello');
      expect(passed.body.toString()).toBe('HELLO'); // the chain goes on for a plain result
      expect(upperRuns()).toBe(before + 1);

      const early = await post('node-middle', { respond: 409, body: 'already booked', type: 'text/plain; charset=utf-8' });
      expect(early.status).toBe(409);
      expect(early.body.toString()).toBe('already booked');
      const failed = await post('node-middle', { throw: 402, message: 'pay first', code: 'paymentRequired' });
      expect(failed.status).toBe(402);
      expect(failed.json().error).toEqual({ code: 'paymentRequired', message: 'pay first', chain: 'node-middle' });
      expect(upperRuns()).toBe(before + 1);
    });

    it('refuses a status or content type HTTP cannot carry with a 500 functionError, and the instance lives on', async () => {
      const pid = dp.instance(100)!.pid;
      await refused('node-last', { respond: 99 }, /ctx\.respond: 99 is not an HTTP status from 200 to 599/);
      await refused('node-last', { respond: 700 }, /700 is not an HTTP status/);
      await refused('node-last', { respond: 200.5 }, /200\.5 is not an HTTP status/);
      const injected = await refused('node-last', { respond: 200, body: 'x', type: 'text/plain\r\nset-cookie: a=b' }, /content type .* is not a media type/);
      expect(injected.headers['set-cookie']).toBeUndefined();
      await refused('node-last', { respond: 200, type: 'text/plain; charset=\u00e9' }, /not a media type/);
      await refused('node-last', { forge: true }, /ctx\.respond: content type .* is not a media type/);
      await refused('node-last', { respond: 204, body: 'not allowed' }, /status 204 has no body/);
      await refused('node-last', { throw: 200, message: 'fine?' }, /HttpError: 200 is not an HTTP status from 400 to 599/);
      await refused('node-last', { throw: 404, message: 'x', code: 'no spaces allowed' }, /error code "no spaces allowed" must be/);
      expect(alive(pid)).toBe(true);
      expect((await post('node-last', { respond: 200, body: 'still here' })).body.toString()).toBe('still here');
    });
  });

  it('turns an answer the router refuses into an ordinary 502 noRoute, not a garbled answer', async () => {
    const r = await post('no-reply-edge', { respond: 201, body: 'never seen' });
    expect(r.status, r.body.toString()).toBe(502);
    expect(r.json().error).toMatchObject({ code: 'noRoute', chain: 'no-reply-edge' });
  });

  describe('native: ferry_respond and ferry_fail_status', () => {
    it('answers the status, content type and body the function gave', async () => {
      const csv = await post('native-last', 'respond 201 text/csv a,b,c');
      expect(csv.status).toBe(201);
      expect(csv.headers['content-type']).toBe('text/csv');
      expect(csv.body.toString()).toBe('a,b,c');

      const inferred = await post('native-last', 'respond 200 - plain words');
      expect(inferred.status).toBe(200);
      expect(inferred.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(inferred.body.toString()).toBe('plain words');

      // A body filling its buffer moves to a bigger one for the trailer.
      const big = await post('native-last', 'big 200 application/octet-stream');
      expect(big.status).toBe(200);
      expect(big.body.byteLength).toBe(2048);
      expect(big.body.every((b) => b === 0x62)).toBe(true);
    });

    it("renders ferry_fail_status in ferry's error shape", async () => {
      const r = await post('native-last', 'fail 422 badPlate no plate in the reads');
      expect(r.status).toBe(422);
      expect(r.json()).toEqual({ error: { code: 'badPlate', message: 'no plate in the reads', chain: 'native-last' } });
      const unnamed = await post('native-last', 'fail 404 - gone');
      expect(unnamed.json().error).toEqual({ code: 'notFound', message: 'gone', chain: 'native-last' });
    });

    it('answers early from a middle stage: the next stage never runs', async () => {
      const before = upperRuns();
      expect((await post('native-middle', 'pass me on')).body.toString()).toBe('PASS ME ON');
      const early = await post('native-middle', 'respond 303 text/plain see elsewhere');
      expect(early.status).toBe(303);
      expect(early.body.toString()).toBe('see elsewhere');
      const failed = await post('native-middle', 'fail 429 slowDown too many');
      expect(failed.status).toBe(429);
      expect(failed.json().error.code).toBe('slowDown');
      expect(upperRuns()).toBe(before + 1);
    });

    it('refuses what HTTP cannot carry with a 500 functionError, checked by the runner and again by the gateway', async () => {
      const pid = dp.instance(103)!.pid;
      await refused('native-last', 'respond 99 text/plain x', /ferry_respond: 99 is not an HTTP status from 200 to 599/);
      await refused('native-last', 'fail 302 moved x', /ferry_fail_status: 302 is not an HTTP error status/);
      await refused('native-last', 'fail 400 9lives x', /ferry_fail_status: the code must be/);
      // Printable, so the runner passes it on; the gateway's grammar refuses it.
      await refused('native-last', 'respond 200 not-a-type x', /stage 3 answered with a response HTTP cannot carry: content type "not-a-type" is not a media type/);
      await refused('native-last', 'respond 204 - body', /status 204 has no body/);
      expect(alive(pid)).toBe(true);
      expect((await post('native-last', 'respond 200 text/plain ok')).body.toString()).toBe('ok');
    });
  });
});
