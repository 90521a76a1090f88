/**
 * The FL gRPC door (ferry.fl.v1.Aggregation on --fl-grpc) of a real ferryd
 * with the real aggregator: uploads in chunks and downloads of the model
 * give what HTTP gives, errors carry ferry's code, and a cancelled upload
 * or download gives back what it held.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialModel } from '../../fl/model.js';
import { maxRelativeError, runRounds } from '../../fl/reference.js';
import { encodeUpdate } from '../../fl/wire.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { startTestFerryd, waitFor, type TestFerryd } from '../testdata/harness.js';
import { codeOf, download, flClient, upload, type AggregationClient } from './testdata/fl-grpc.js';
import { deployJob, jobApi, testDelta } from './testdata/harness.js';

const P = 100_000; // 400 KB: several chunks
const CHAIN = 71;

describe.each(modes.slice(0, 1))('the FL gRPC door (%s mode)', () => {
  let t: TestFerryd;
  let c: AggregationClient;

  beforeEach(async () => {
    t = await startTestFerryd(modes[0]!, 'test-node', { gatewayAddress: '127.0.0.1:21521', flGrpcAddress: '127.0.0.1:21520' });
    await deployJob(t.client, { chainId: CHAIN, base: 710, name: 'g', paramCount: P, leaves: 2, clients: 3, rounds: 2 });
    c = flClient(t.ferryd.flGrpcAddress);
  });
  afterEach(async () => {
    c?.close();
    await t?.cleanup();
  });

  it('takes updates in chunks and serves the model in chunks, equal to FedAvg and to the HTTP model', async () => {
    const init = initialModel([], P, 1);
    const r0 = await download(c, 'g', 0);
    expect(r0.first).toMatchObject({ round: 0, paramCount: P });
    expect(r0.chunks).toBe(4);
    expect(new Float32Array(r0.bytes.buffer, r0.bytes.byteOffset, P)).toEqual(init);
    const ups = [0, 1, 2].map((k) => ({ delta: testDelta(P, 0, k), numExamples: 4 + k }));
    const results = await Promise.all(ups.map((u, k) => upload(c, 'g', 0, encodeUpdate({ round: 0, clientId: `k${k}`, numExamples: u.numExamples }, u.delta), 50_000 + k * 777)));
    expect(results[1]).toMatchObject({ round: 0, staleness: 0, weight: 5 });
    const m1 = await download(c, 'g', 1);
    const got = new Float32Array(m1.bytes.buffer, m1.bytes.byteOffset, P);
    expect(maxRelativeError(got, runRounds(init, [ups], 'num-examples')[1]!).error).toBeLessThan(1e-5);
    expect(await jobApi(t.ferryd.gatewayAddress, 'g').model(1)).toEqual(got);
  });

  it('answers errors with their gRPC status and ferry-error-code', async () => {
    const good = encodeUpdate({ round: 0, clientId: 'a', numExamples: 1 }, testDelta(P, 0, 0));
    const cases: [() => Promise<unknown>, status, string][] = [
      [() => upload(c, 'nope', 0, good), status.NOT_FOUND, 'unknownJob'],
      [() => upload(c, 'g', 3, encodeUpdate({ round: 3, clientId: 'a', numExamples: 1 }, testDelta(P, 0, 0))), status.FAILED_PRECONDITION, 'roundNotOpen'],
      [() => upload(c, 'g', 0, good.subarray(0, good.byteLength - 8)), status.INVALID_ARGUMENT, 'badTensorSize'],
      [() => upload(c, 'g', 0, encodeUpdate({ round: 0, clientId: 'b', numExamples: 1 }, new Float32Array(P).fill(NaN))), status.INVALID_ARGUMENT, 'nonFiniteUpdate'],
      [() => download(c, 'g', 9), status.NOT_FOUND, 'unknownRound'],
    ];
    for (const [p, code, ferry] of cases) {
      const err = (await p().then(() => undefined, (e: ServiceError) => e))!;
      expect(err, ferry).toBeDefined();
      expect([err.code, codeOf(err)]).toEqual([code, ferry]);
    }
    expect((await jobApi(t.ferryd.gatewayAddress, 'g').status()).rejected).toMatchObject({ roundNotOpen: 1, badTensorSize: 1, nonFiniteUpdate: 1 });
  });

  it('a cancelled upload frees its buffer and is counted; the client may send again', async () => {
    const bytes = encodeUpdate({ round: 0, clientId: 'x', numExamples: 1 }, testDelta(P, 0, 0));
    const err = await upload(c, 'g', 0, bytes, 64 * 1024, 128 * 1024).then(() => undefined, (e: ServiceError) => e);
    expect(err?.code).toBe(status.CANCELLED);
    const job = t.ferryd.daemon.jobs.of(CHAIN)!;
    await waitFor('the cancelled upload to be counted', () => (job.results.get('disconnected') === 1 ? true : undefined), 3000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify([...job.results])} ${t.logs.filter((l) => l.includes('fl')).slice(-3).join(' ')}`);
    });
    // Round 0's model only: the upload's buffer went back.
    expect(t.ferryd.dataPlane.occupancy(CHAIN).classes.at(-1)!.inUse).toBe(1);
    await expect(upload(c, 'g', 0, bytes)).resolves.toMatchObject({ round: 0 });
  });

  it('a cancelled download lets go of the model it read', async () => {
    const job = t.ferryd.daemon.jobs.of(CHAIN)!;
    const model = job.models.get(0)!;
    const call = c.Download({ job: 'g', round: 0, chunkBytes: 1024 });
    await new Promise((r) => call.once('data', r));
    call.cancel();
    call.on('error', () => undefined);
    // Seal rounds 1 and 2 (3 updates each): round 0's model is let go, its buffer freed.
    for (const r of [0, 1])
      await Promise.all([0, 1, 2].map((k) => upload(c, 'g', r, encodeUpdate({ round: r, clientId: `k${k}`, numExamples: 1 }, testDelta(P, r, k)))));
    await waitFor('round 0\'s model to be freed', () => (model.live ? undefined : true));
    expect(t.ferryd.dataPlane.occupancy(CHAIN).classes.at(-1)!.inUse).toBe(2);
  });
});
