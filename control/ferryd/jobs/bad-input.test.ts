/**
 * Bad input from outside, against a real ferryd with the real aggregator:
 * 1,000 mixed good and bad uploads, each answered with its specific error
 * and counted; afterwards the pool holds the live models only, and the
 * round's model is the reference FedAvg of the good updates alone. And a
 * full pool: an upload waits for a buffer (reading nothing), gets one when
 * it frees, or 503 busy at its body timeout.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialModel } from '../../fl/model.js';
import { maxRelativeError, runRounds, type RefUpdate } from '../../fl/reference.js';
import { encodeUpdate, UpdateField } from '../../fl/wire.js';
import type { HeldBuffer } from '../../gateway/injector.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { startTestFerryd, type TestFerryd } from '../testdata/harness.js';
import { deployJob, disconnectMidUpload, jobApi, testDelta } from './testdata/harness.js';

const P = 256;
const BYTES = 64 + 4 * P;
const CHAIN = 61;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case {
  kind: string;
  /** What the gateway must answer (status, code); none for a disconnect. */
  want?: [number, string];
  send(): Promise<Response | undefined>;
}

describe.each(modes.slice(0, 1))('bad input (%s mode)', () => {
  let t: TestFerryd;

  beforeEach(async () => {
    t = await startTestFerryd(modes[0]!, 'test-node', { gatewayAddress: '127.0.0.1:21510' });
  });
  afterEach(async () => {
    await t?.cleanup();
  });

  it('answers 1,000 mixed uploads each with its error, leaks no buffer, and aggregates the good ones only', async () => {
    const GOOD = 40;
    await deployJob(t.client, { chainId: CHAIN, base: 610, name: 'bad', paramCount: P, leaves: 2, clients: GOOD + 1, rounds: 2, roundDeadlineMs: 120_000, inFlight: 24 });
    const gw = t.ferryd.gatewayAddress;
    const api = jobApi(gw, 'bad');
    const init = initialModel([], P, 1);
    // Round 0 first, so that round 1 is open and round 0 is closed.
    const round0: RefUpdate[] = [];
    for (let c = 0; c <= GOOD; c++) {
      const u = { delta: testDelta(P, 0, c), numExamples: 1 + c };
      round0.push(u);
      expect((await api.update(0, `r0-${c}`, u.numExamples, u.delta)).status).toBe(200);
    }
    await api.model(1);

    const good: RefUpdate[] = [];
    const update = (clientId: string, over: Partial<Record<keyof typeof UpdateField, number>> = {}, delta = testDelta(P, 1, 99), round = 1) => {
      const b = encodeUpdate({ round, clientId, numExamples: 3 }, delta);
      const v = new DataView(b.buffer);
      for (const [k, val] of Object.entries(over)) {
        const at = UpdateField[k as keyof typeof UpdateField];
        if (k === 'version' || k === 'dtype') v.setUint16(at, val, true);
        else v.setUint32(at, val, true);
      }
      return b;
    };
    const post = (body: Uint8Array, round = 1, job = 'bad') => jobApi(gw, job).upload(round, body);
    const nan = testDelta(P, 1, 5);
    nan[17] = NaN;
    const inf = testDelta(P, 1, 6);
    inf[P - 1] = -Infinity;
    const garbage = new Uint8Array(BYTES).map((_, i) => (i * 131 + 7) & 0xff);
    const bad: ((i: number) => Case)[] = [
      (i) => ({ kind: 'short body', want: [400, 'badTensorSize'], send: () => post(update(`s${i}`).subarray(0, BYTES - 4)) }),
      (i) => ({ kind: 'wrong param_count', want: [400, 'badTensorSize'], send: () => post(update(`p${i}`, { paramCount: P + 1 })) }),
      (i) => ({ kind: 'wrong dtype', want: [400, 'badDtype'], send: () => post(update(`d${i}`, { dtype: 2 })) }),
      (i) => ({ kind: 'unknown job', want: [404, 'unknownJob'], send: () => post(update(`u${i}`), 1, 'nope') }),
      (i) => ({ kind: 'unknown round', want: [409, 'roundNotOpen'], send: () => post(update(`n${i}`, {}, undefined, 7), 7) }),
      (i) => ({ kind: 'closed round', want: [409, 'roundClosed'], send: () => post(update(`c${i}`, {}, undefined, 0), 0) }),
      (i) => ({ kind: 'NaN', want: [422, 'nonFiniteUpdate'], send: () => post(update(`nan${i}`, {}, nan)) }),
      (i) => ({ kind: 'Inf', want: [422, 'nonFiniteUpdate'], send: () => post(update(`inf${i}`, {}, inf)) }),
      (i) => ({ kind: 'oversized Content-Length', want: [413, 'tooLarge'], send: () => post(new Uint8Array(BYTES + 64 + (i % 3))) }),
      () => ({ kind: 'garbage header', want: [400, 'badHeader'], send: () => post(garbage) }),
      (i) => ({ kind: 'header round != URL', want: [400, 'badHeader'], send: () => post(update(`h${i}`, { round: 0 })) }),
      (i) => ({ kind: 'num_examples 0', want: [400, 'badHeader'], send: () => post(update(`z${i}`, { numExamples: 0 })) }),
      (i) => ({ kind: 'disconnect', send: async () => (await disconnectMidUpload(gw, '/jobs/bad/rounds/1/updates', update(`x${i}`)), undefined) }),
    ];
    const goodCase = (c: number): Case => ({
      kind: 'good',
      want: [200, ''],
      send: () => {
        const u = { delta: testDelta(P, 1, c), numExamples: 2 + c };
        good.push(u);
        return api.update(1, `g${c}`, u.numExamples, u.delta);
      },
    });
    // 40 good and 960 bad, interleaved; then a duplicate of each good one.
    const cases: Case[] = [];
    for (let i = 0, g = 0; cases.length < 1000 - GOOD; i++) {
      if (i % 23 === 0 && g < GOOD) cases.push(goodCase(g++));
      else cases.push(bad[i % bad.length]!(i));
    }
    while (cases.filter((c) => c.kind === 'good').length < GOOD) cases.push(goodCase(cases.filter((c) => c.kind === 'good').length));
    const want = new Map<string, number>();
    let i = 0;
    const run = async () => {
      for (let c = cases[i++]; c; c = cases[i++]) {
        const res = await c.send();
        if (!c.want) continue;
        expect(res, c.kind).toBeDefined();
        const body = (await res!.json()) as { error?: { code: string; job?: string } };
        expect([res!.status, body.error?.code ?? ''], `${c.kind}: ${JSON.stringify(body)}`).toEqual(c.want);
        if (c.want[1]) want.set(c.want[1], (want.get(c.want[1]) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 12 }, run));
    const dups = 1000 - cases.length;
    expect(dups).toBeGreaterThan(0);
    for (let d = 0; d < dups; d++) {
      const r = await api.update(1, `g${d % GOOD}`, 1, testDelta(P, 1, 0));
      expect(r.status).toBe(409);
      expect(await r.json()).toMatchObject({ error: { code: 'duplicateUpdate', job: 'bad' } });
    }
    if (dups > 0) want.set('duplicateUpdate', dups);
    want.delete('unknownJob'); // no job to count it on: counted under job ""
    const disconnects = cases.filter((c) => c.kind === 'disconnect').length;
    await sleep(100);
    const status = await api.status();
    expect(status.rejected).toEqual({ ...Object.fromEntries(want), disconnected: disconnects });
    expect(t.ferryd.daemon.jobs.unknownUploads).toBe(cases.filter((c) => c.kind === 'unknown job').length);
    // Only the round's models and its accumulators: no upload buffer leaked.
    const open = t.ferryd.dataPlane.occupancy(CHAIN);
    expect(open.classes.at(-1)!.inUse).toBe(2 /* models 0 and 1 */ + 2 /* one accumulator per leaf */);
    expect(open.classes[0]!.inUse).toBe(0);

    // The last good update closes round 1: its model is FedAvg of the good ones only.
    const last = { delta: testDelta(P, 1, GOOD), numExamples: 2 + GOOD };
    expect((await api.update(1, `g${GOOD}`, last.numExamples, last.delta)).status).toBe(200);
    const m2 = await api.model(2);
    const ref = runRounds(init, [round0, [...good, last]], 'num-examples');
    expect(maxRelativeError(m2, ref[2]!).error).toBeLessThan(1e-5);
    await sleep(50);
    const done = t.ferryd.dataPlane.occupancy(CHAIN);
    expect(done.classes.at(-1)!.inUse).toBe(2); // models 1 and 2, nothing else
    expect(done.classes[0]!.inUse).toBe(0);
  }, 120_000);

  it('an upload waits for a pool buffer while the pool is full: it gets one when one frees, or 503 busy at its body timeout', async () => {
    await deployJob(t.client, { chainId: 62, base: 620, name: 'full', paramCount: P, leaves: 1, clients: 4, rounds: 2, bodyTimeoutMs: 800, inFlight: 0 });
    const api = jobApi(t.ferryd.gatewayAddress, 'full');
    const injector = t.ferryd.daemon.directory.served(62)!.injector;
    // Everything the pool has of the model class, held here.
    const held: HeldBuffer[] = [];
    for (;;) {
      try {
        held.push(injector.lease(BYTES));
      } catch {
        break;
      }
    }
    expect(held.length).toBeGreaterThan(0);
    const started = Date.now();
    const busy = await api.update(0, 'a', 1, testDelta(P, 0, 1));
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(await busy.json()).toMatchObject({ error: { code: 'busy', job: 'full' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    // Buffers free while the next upload waits: it goes through once the
    // quota has room for it and the headroom uploads leave the aggregators'
    // small messages (4 of the pool's smallest buffers per stage).
    const waiting = api.update(0, 'b', 1, testDelta(P, 0, 2));
    await sleep(200);
    for (let n = 0; n < 4; n++) held.pop()!.free();
    t.ferryd.daemon.jobs.of(62)!.wake();
    const w = await waiting;
    expect(w.status, await w.clone().text()).toBe(200);
    for (const h of held) h.free();
    expect(await api.status()).toMatchObject({ accepted: 1, rejected: { busy: 1 } });
  });

  it('40 concurrent 4 MiB uploads into a pool with room for a few all go through (each waits its turn for a buffer)', async () => {
    const N = 40;
    const BIG = 1 << 20; // 4 MiB updates: a few fill the pool
    await deployJob(t.client, { chainId: 63, base: 630, name: 'crowd', paramCount: BIG, leaves: 2, clients: N, rounds: 1, inFlight: 0 });
    const api = jobApi(t.ferryd.gatewayAddress, 'crowd');
    const delta = testDelta(BIG, 0, 0);
    const answers = await Promise.all(Array.from({ length: N }, (_, c) => api.update(0, `c${c}`, 1, delta)));
    const bodies = await Promise.all(answers.map(async (a) => `${a.status} ${a.status === 200 ? '' : await a.text()}`));
    expect(bodies.filter((b) => !b.startsWith('200'))).toEqual([]);
    await api.model(1);
  });
});
