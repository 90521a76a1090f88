/**
 * The gRPC client SDK against a real ferryd's FL door (--fl-grpc): the
 * same training through ferry to the offline FedAvg result as over HTTP,
 * uploads in many small chunks, the server's codes from the trailers, and
 * a door that is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes } from '../../../test/helpers/dataplane.js';
import { deployJob } from '../../ferryd/jobs/testdata/harness.js';
import { startTestFerryd, type TestFerryd } from '../../ferryd/testdata/harness.js';
import { prepareFederation } from '../federation.js';
import { maxRelativeError } from '../reference.js';
import { clientSeed, simulate } from '../simulate.js';
import { FlError, GrpcFlClient, HttpFlClient, runFederation } from './index.js';

const LOGREG_PARAMS = 650;

describe('gRPC FL client against ferryd', () => {
  let t: TestFerryd;
  let door: string;

  beforeAll(async () => {
    t = await startTestFerryd(modes[0]!, 'fl-grpc-node', { flGrpcAddress: '127.0.0.1:0' });
    door = t.ferryd.flGrpcAddress;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('client loops over gRPC train through ferry to the offline FedAvg result', async () => {
    const clients = 3;
    const rounds = 2;
    await deployJob(t.client, { chainId: 224, base: 2240, name: 'grpc-train', paramCount: LOGREG_PARAMS, leaves: 2, clients, rounds });
    const fed = { ...prepareFederation({ model: 'logreg', clients, split: { kind: 'iid' } }), initial: new Float32Array(LOGREG_PARAMS) };
    // 256-byte chunks: an update of 2,664 bytes arrives in 11 messages
    const run = await runFederation({ fed, rounds, connect: () => new GrpcFlClient(door, { job: 'grpc-train' }, { chunkBytes: 256 }), seed: clientSeed, waitMs: 10_000 });
    for (const s of run.clients) expect(s).toEqual({ submitted: rounds, refused: {}, lastRound: rounds - 1 });
    const want = simulate({ model: 'logreg', clients, rounds, split: { kind: 'iid' } }, fed).final;
    expect(maxRelativeError(run.final, want).error).toBeLessThan(1e-4);
    // the same model over both doors
    const http = await new HttpFlClient(`http://${t.ferryd.gatewayAddress}`, { job: 'grpc-train' }).model(rounds);
    expect(http.params).toEqual(run.final);
  });

  it('refusals carry the server code from the trailers', async () => {
    await deployJob(t.client, { chainId: 225, base: 2250, name: 'grpc-errors', paramCount: 64, leaves: 1, clients: 2, rounds: 1 });
    const api = new GrpcFlClient(door, { job: 'grpc-errors' });
    const d = new Float32Array(64).fill(0.25);
    try {
      await expect(new GrpcFlClient(door, { job: 'nope' }).model(0)).rejects.toMatchObject({ code: 'unknownJob', status: 404 });
      const m0 = await api.model(0);
      expect(m0).toMatchObject({ round: 0 });
      expect(m0.params).toHaveLength(64);
      expect(await api.submit(0, { clientId: 'a', numExamples: 2, delta: d })).toEqual({ round: 0, staleness: 0, weight: 2 });
      await expect(api.submit(0, { clientId: 'a', numExamples: 2, delta: d })).rejects.toMatchObject({ code: 'duplicateUpdate', status: 409 });
      await expect(api.submit(0, { clientId: 'b', numExamples: 2, delta: new Float32Array(63) })).rejects.toMatchObject({ code: 'badTensorSize', status: 400 });
      await expect(api.model(1, { waitMs: 50 })).rejects.toMatchObject({ code: 'roundNotReady' });
      await api.submit(0, { clientId: 'b', numExamples: 2, delta: d });
      const m1 = await api.model(1, { waitMs: 5000 });
      for (let i = 0; i < 64; i++) expect(m1.params[i]).toBeCloseTo(m0.params[i]! + 0.25, 5);
      await expect(api.submit(1, { clientId: 'c', numExamples: 2, delta: d })).rejects.toMatchObject({ code: 'jobDone' });
    } finally {
      api.close();
    }
  });

  it('a door that is not there is a transport error', async () => {
    const none = new GrpcFlClient('127.0.0.1:22498', { job: 'x' });
    const err = await none.model(0).catch((e: unknown) => e);
    none.close();
    expect(err).toBeInstanceOf(FlError);
    expect(err).toMatchObject({ code: 'transport' });
  });
});
