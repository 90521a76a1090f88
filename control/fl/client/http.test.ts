/**
 * The HTTP client SDK against a real ferryd (real gateway, coordinator,
 * native aggregators, eBPF as root): the client loop trains logistic
 * regression on digits through ferry and ends where the offline FedAvg
 * reference ends; every refusal arrives as an FlError with the server's
 * code; a gateway that is not there and a caller that gives up are told
 * apart from refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes } from '../../../test/helpers/dataplane.js';
import { deployJob } from '../../ferryd/jobs/testdata/harness.js';
import { startTestFerryd, type TestFerryd } from '../../ferryd/testdata/harness.js';
import { prepareFederation } from '../federation.js';
import { maxRelativeError } from '../reference.js';
import { clientSeed, simulate } from '../simulate.js';
import { FlError, HttpFlClient, isFlError, runFederation, type FlClient } from './index.js';

const LOGREG_PARAMS = 650;

describe('HTTP FL client against ferryd', () => {
  let t: TestFerryd;
  let gw: string;

  beforeAll(async () => {
    t = await startTestFerryd(modes[0]!, 'fl-sdk-node');
    gw = `http://${t.ferryd.gatewayAddress}`;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('four client loops (runFederation) train through ferry to the offline FedAvg result', async () => {
    const clients = 4;
    const rounds = 3;
    await deployJob(t.client, { chainId: 221, base: 2210, name: 'sdk-train', paramCount: LOGREG_PARAMS, leaves: 2, clients, rounds });
    // The harness deploys the job as a flat parameter count (zeros at round
    // 0): logistic regression trains from zeros, and so does the reference.
    const fed = { ...prepareFederation({ model: 'logreg', clients, split: { kind: 'iid' } }), initial: new Float32Array(LOGREG_PARAMS) };
    const run = await runFederation({
      fed,
      rounds,
      connect: () => new HttpFlClient(gw, { job: 'sdk-train' }),
      seed: clientSeed,
      waitMs: 10_000,
    });
    for (const s of run.clients) expect(s).toEqual({ submitted: rounds, refused: {}, lastRound: rounds - 1 });
    // the observer scored model 0 .. rounds
    expect(run.models.map((m) => m.round)).toEqual([0, 1, 2, 3]);
    expect(run.models[3]!.accuracy).toBeGreaterThan(run.models[0]!.accuracy);
    const api = new HttpFlClient(gw, { job: 'sdk-train' });
    const final = await api.model(rounds, { waitMs: 10_000 });
    expect(final.round).toBe(rounds);
    expect(final.params).toEqual(run.final);
    const want = simulate({ model: 'logreg', clients, rounds, split: { kind: 'iid' } }, fed).final;
    // ferry folds in float32, the reference in float64; training from the
    // slightly different models of rounds 1, 2 keeps the gap at rounding size
    expect(maxRelativeError(final.params, want).error).toBeLessThan(1e-4);
    const latest = await api.latest();
    expect(latest.round).toBe(rounds);
    const status = await api.status();
    expect(status).toMatchObject({ name: 'sdk-train', paramCount: LOGREG_PARAMS, rounds, clients });
    // after the last round: the job is done, and the client is told so
    await expect(api.submit(rounds - 1, { clientId: 'late', numExamples: 1, delta: new Float32Array(LOGREG_PARAMS) })).rejects.toMatchObject({ code: 'jobDone', status: 409 });
  });

  it('refusals are FlErrors with the server code, status and Retry-After', async () => {
    await deployJob(t.client, { chainId: 222, base: 2220, name: 'sdk-errors', paramCount: 64, leaves: 1, clients: 3, rounds: 2 });
    const api = new HttpFlClient(gw, { job: 'sdk-errors' });
    const d = new Float32Array(64).fill(0.5);
    await expect(new HttpFlClient(gw, { job: 'no-such-job' }).model(0)).rejects.toMatchObject({ code: 'unknownJob', status: 404, job: 'no-such-job' });
    expect((await api.model(0)).params).toHaveLength(64);
    const ok = await api.submit(0, { clientId: 'a', numExamples: 3, delta: d });
    expect(ok).toEqual({ round: 0, staleness: 0, weight: 3 });
    await expect(api.submit(0, { clientId: 'a', numExamples: 3, delta: d })).rejects.toMatchObject({ code: 'duplicateUpdate', status: 409 });
    await expect(api.submit(0, { clientId: 'b', numExamples: 3, delta: new Float32Array(63) })).rejects.toMatchObject({ code: 'badTensorSize', status: 400 });
    await expect(api.submit(1, { clientId: 'b', numExamples: 3, delta: d })).rejects.toMatchObject({ code: 'roundNotOpen', status: 409 });
    const notReady = await api.model(1, { waitMs: 50 }).catch((e: unknown) => e);
    expect(isFlError(notReady, 'roundNotReady')).toBe(true);
    expect((notReady as FlError).retryable).toBe(true);
    expect((notReady as FlError).retryAfterMs).toBeGreaterThan(0);
    // the refused uploads left the round intact: two more close it
    await api.submit(0, { clientId: 'b', numExamples: 1, delta: d });
    await api.submit(0, { clientId: 'c', numExamples: 1, delta: d });
    const m1 = await api.model(1, { waitMs: 5000 });
    const m0 = await api.model(0);
    for (let i = 0; i < 64; i++) expect(m1.params[i]).toBeCloseTo(m0.params[i]! + 0.5, 5);
    await expect(api.submit(0, { clientId: 'd', numExamples: 1, delta: d })).rejects.toMatchObject({ code: 'roundClosed', status: 409 });
  });

  it('a gateway that is not there is a transport error naming the address', async () => {
    const none = new HttpFlClient('http://127.0.0.1:22499', { job: 'x' });
    const err = await none.model(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlError);
    expect(err).toMatchObject({ code: 'transport', status: 0 });
    expect((err as Error).message).toMatch(/127\.0\.0\.1:22499.*ECONNREFUSED/);
  });

  it('a caller that gives up stops a model wait at once', async () => {
    await deployJob(t.client, { chainId: 223, base: 2230, name: 'sdk-abort', paramCount: 64, leaves: 1, clients: 2, rounds: 2 });
    const api = new HttpFlClient(gw, { job: 'sdk-abort' });
    const started = performance.now();
    const err = await api.model(1, { waitMs: 30_000, signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect((err as Error).name).toMatch(/AbortError|TimeoutError/);
    expect(performance.now() - started).toBeLessThan(5000);
    // the job is unharmed: a round still closes
    const d = new Float32Array(64);
    await api.submit(0, { clientId: 'a', numExamples: 1, delta: d });
    await api.submit(0, { clientId: 'b', numExamples: 1, delta: d });
    expect((await api.model(1, { waitMs: 5000 })).round).toBe(1);
  });

  it('a ferryd that goes away mid-run stops every client with a transport error, not a hang', async () => {
    const other = await startTestFerryd(modes[0]!, 'fl-sdk-gone');
    let closed: Promise<void> | undefined;
    try {
      await deployJob(other.client, { chainId: 226, base: 2260, name: 'sdk-gone', paramCount: LOGREG_PARAMS, leaves: 1, clients: 2, rounds: 50 });
      const fed = { ...prepareFederation({ model: 'logreg', clients: 2, split: { kind: 'iid' } }), initial: new Float32Array(LOGREG_PARAMS) };
      const started = performance.now();
      const err = await runFederation({
        fed,
        rounds: 50,
        connect: () => new HttpFlClient(`http://${other.ferryd.gatewayAddress}`, { job: 'sdk-gone' }),
        seed: clientSeed,
        waitMs: 30_000,
        onModel: (ev) => {
          if (ev.round === 2) closed ??= other.cleanup();
        },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FlError);
      expect((err as FlError).code).toBe('transport');
      // well before the 30 s a model wait may take
      expect(performance.now() - started).toBeLessThan(15_000);
    } finally {
      await (closed ?? other.cleanup());
    }
  });

  it('a straggler refused with roundClosed moves on to the next round and is counted', async () => {
    await deployJob(t.client, { chainId: 227, base: 2270, name: 'sdk-straggler', paramCount: LOGREG_PARAMS, leaves: 1, clients: 3, quorum: 2, roundDeadlineMs: 1500, rounds: 2 });
    const fed = { ...prepareFederation({ model: 'logreg', clients: 3, split: { kind: 'iid' } }), initial: new Float32Array(LOGREG_PARAMS) };
    // client 2 is slow in round 0 only: its update arrives after the deadline
    // closed round 0 with the quorum (1.5 s), and it is back in time for
    // round 1 (closed by its third update well before 3 s)
    const connect = (c: number): FlClient => {
      const http = new HttpFlClient(gw, { job: 'sdk-straggler' });
      if (c !== 2) return http;
      return {
        model: (r, o) => http.model(r, o),
        submit: async (r, u, o) => {
          if (r === 0) await new Promise((resolve) => setTimeout(resolve, 2200));
          return http.submit(r, u, o);
        },
        close: () => http.close(),
      };
    };
    const run = await runFederation({ fed, rounds: 2, connect, seed: clientSeed, waitMs: 10_000 });
    expect(run.clients[0]).toEqual({ submitted: 2, refused: {}, lastRound: 1 });
    expect(run.clients[2]).toEqual({ submitted: 1, refused: { roundClosed: 1 }, lastRound: 1 });
    expect(run.models.map((m) => m.round)).toEqual([0, 1, 2]);
    const status = await new HttpFlClient(gw, { job: 'sdk-straggler' }).status();
    expect(status.rejected).toMatchObject({ roundClosed: 1 });
  });
});
