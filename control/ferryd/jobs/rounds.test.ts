/**
 * A job's rounds end to end on a real ferryd with the real aggregator
 * (dataplane-native/out/ferry-aggregator.so), driven through ferryd's gRPC
 * as the control plane does, updates over the HTTP gateway: ferry's models
 * equal the offline FedAvg reference (control/fl/reference.ts) of the same
 * deltas within float32 rounding, in sync mode, with stragglers dropped,
 * and with late-merge.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialModel } from '../../fl/model.js';
import { maxRelativeError, runRounds, type RefUpdate } from '../../fl/reference.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { startTestFerryd, waitFor, type TestFerryd } from '../testdata/harness.js';
import type { NodeStats } from '../proto.js';
import { deployJob, jobApi, jobProgram, testDelta } from './testdata/harness.js';

const P = 1000;
/** float32 rounding of a sum of a few dozen terms, relative to the values. */
const TOLERANCE = 1e-5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(modes)('aggregation job rounds (%s mode)', (mode) => {
  let t: TestFerryd;

  beforeEach(async () => {
    t = await startTestFerryd(mode, 'test-node', { gatewayAddress: '127.0.0.1:21500' });
  });
  afterEach(async () => {
    await t?.cleanup();
  });

  it('sync: every round closes on its count and equals FedAvg of its updates', async () => {
    await deployJob(t.client, { chainId: 51, base: 510, name: 'sync', paramCount: P, leaves: 2, clients: 4, rounds: 3 });
    const api = jobApi(t.ferryd.gatewayAddress, 'sync');
    const init = initialModel([], P, 1);
    expect(await api.model(0)).toEqual(init);
    const sent: RefUpdate[][] = [];
    for (let r = 0; r < 3; r++) {
      const ups = [0, 1, 2, 3].map((c) => ({ delta: testDelta(P, r, c), numExamples: 10 + c * 7 }));
      const answers = await Promise.all(ups.map((u, c) => api.update(r, `client-${c}`, u.numExamples, u.delta)));
      for (const a of answers) expect(a.status, await a.clone().text()).toBe(200);
      expect(await answers[0]!.json()).toEqual({ round: r, staleness: 0, weight: 10 });
      sent.push(ups);
      const got = await api.model(r + 1);
      const want = runRounds(init, sent, 'num-examples')[r + 1]!;
      expect(maxRelativeError(got, want).error).toBeLessThan(TOLERANCE);
    }
    const status = await api.status();
    expect(status).toMatchObject({ name: 'sync', round: 3, state: 'done', accepted: 12, lateMerged: 0, paramCount: P });
    // Each update copied once (socket -> pool), and round 0's model: nothing else.
    expect(status.bytesCopied).toBe(12 * (64 + 4 * P) + 4 * P);
    expect((await fetch(`${api.root}/model`)).headers.get('x-ferry-round')).toBe('3');
    // Only the last 2 models are kept; there is no round past the last.
    const gone = await fetch(`${api.root}/rounds/1/model`);
    expect([gone.status, ((await gone.json()) as { error: { code: string } }).error.code]).toEqual([410, 'roundGone']);
    const past = await fetch(`${api.root}/rounds/4/model`);
    expect([past.status, ((await past.json()) as { error: { code: string } }).error.code]).toEqual([404, 'unknownRound']);
    const done = await api.update(3, 'late', 1, testDelta(P, 3, 0));
    expect([done.status, ((await done.json()) as { error: { code: string } }).error.code]).toEqual([409, 'jobDone']);
    // After the job: only the kept models are in the pool.
    const occ = t.ferryd.dataPlane.occupancy(51);
    expect(occ.classes.at(-1)!.inUse).toBe(2);
    // StreamStats carries what the coordinator saw.
    const stream = t.client.streamStats({ intervalMs: 50 });
    const sample = await new Promise<NodeStats>((resolve) => stream.once('data', resolve));
    stream.cancel();
    stream.on('error', () => undefined);
    expect(sample.jobs).toEqual([
      expect.objectContaining({ name: 'sync', tenant: 'default', round: 3, state: 'done', accepted: 12, lastRoundUpdates: 4, modelBytes: 4 * P }),
    ]);
    expect(sample.jobs[0]!.lastAggregationMs).toBeGreaterThan(0);
    expect(sample.jobs[0]!.lastRoundMs).toBeGreaterThanOrEqual(sample.jobs[0]!.lastAggregationMs);
    // DeleteChain: the job is gone, and so is its pool.
    await t.client.deleteChain({ chainId: 51 });
    expect((await fetch(api.root)).status).toBe(404);
    expect(await (await fetch(`${api.root}/rounds/3/updates`, { method: 'POST', body: 'x' })).json()).toMatchObject({ error: { code: 'unknownJob', job: 'sync' } });
  });

  it('ProgramChain again keeps the running job; /chains/ does not serve it', async () => {
    await deployJob(t.client, { chainId: 55, base: 550, name: 'again', paramCount: P, leaves: 1, clients: 2, rounds: 2 });
    const api = jobApi(t.ferryd.gatewayAddress, 'again');
    expect((await api.update(0, 'a', 1, testDelta(P, 0, 0))).status).toBe(200);
    await t.client.programChain(jobProgram({ chainId: 55, base: 550, name: 'again', paramCount: P, leaves: 1, clients: 2, rounds: 2 }, 552));
    // Same round, and the client's update is still there: a second one is a duplicate.
    expect((await api.update(0, 'a', 1, testDelta(P, 0, 0))).status).toBe(409);
    expect((await api.update(0, 'b', 1, testDelta(P, 0, 1))).status).toBe(200);
    await api.model(1);
    expect(await api.status()).toMatchObject({ round: 1, accepted: 2 });
    expect((await fetch(`http://${t.ferryd.gatewayAddress}/chains/again`, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it('drop: a round closes at its deadline with quorum, and a late update is refused 409 roundClosed', async () => {
    await deployJob(t.client, { chainId: 52, base: 520, name: 'drop', paramCount: P, leaves: 2, clients: 5, quorum: 3, rounds: 2, roundDeadlineMs: 600 });
    const api = jobApi(t.ferryd.gatewayAddress, 'drop');
    const init = initialModel([], P, 1);
    const ups = [0, 1, 2].map((c) => ({ delta: testDelta(P, 0, c), numExamples: 5 + c }));
    for (const [c, u] of ups.entries()) expect((await api.update(0, `c${c}`, u.numExamples, u.delta)).status).toBe(200);
    // Not sealed yet: 409 roundNotReady, with when to come back.
    const early = await fetch(`${api.root}/rounds/1/model`);
    expect([early.status, early.headers.get('retry-after'), ((await early.json()) as { error: { code: string } }).error.code]).toEqual([409, '1', 'roundNotReady']);
    const started = Date.now();
    const got = await api.model(1);
    // The straggler came after the deadline.
    const late = await api.update(0, 'c4', 9, testDelta(P, 0, 4));
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ error: { code: 'roundClosed', job: 'drop' } });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(maxRelativeError(got, runRounds(init, [ups], 'num-examples')[1]!).error).toBeLessThan(TOLERANCE);
    const s = await api.status();
    expect(s).toMatchObject({ round: 1, accepted: 3, rejected: { roundClosed: 1 } });
  });

  it('a round under quorum at its deadline fails: the next round starts from the same model', async () => {
    await deployJob(t.client, { chainId: 53, base: 530, name: 'fail', paramCount: P, leaves: 2, clients: 4, quorum: 3, rounds: 2, roundDeadlineMs: 400 });
    const api = jobApi(t.ferryd.gatewayAddress, 'fail');
    expect((await api.update(0, 'only', 3, testDelta(P, 0, 0))).status).toBe(200);
    const m1 = await api.model(1);
    expect(m1).toEqual(await api.model(0));
    expect(await api.status()).toMatchObject({ round: 1, failedRounds: 1 });
    // Nothing of the failed round stays in the leaves: 2 model buffers (round 0 = round 1).
    await sleep(50);
    expect(t.ferryd.dataPlane.occupancy(53).classes.at(-1)!.inUse).toBe(1);
  });

  it('a leaf that dies with the round\'s sum fails the round; the next round, on the restarted leaf, is FedAvg again', async () => {
    await deployJob(t.client, { chainId: 56, base: 560, name: 'crash', paramCount: P, leaves: 2, clients: 2, rounds: 2 });
    const api = jobApi(t.ferryd.gatewayAddress, 'crash');
    const init = initialModel([], P, 1);
    // Leaves take updates round robin: the first goes to leaf-0.
    expect((await api.update(0, 'a', 1, testDelta(P, 0, 0))).status).toBe(200);
    const leaf0 = (await t.client.listInstances({ chainId: 56 })).instances.find((i) => i.stageName === 'leaf-0')!;
    process.kill(leaf0.pid, 'SIGKILL');
    await waitFor('leaf-0 to be back', async () => {
      const st = (await t.client.listInstances({ chainId: 56 })).instances.find((i) => i.stageName === 'leaf-0')!;
      return st.pid !== leaf0.pid && st.ready ? true : undefined;
    });
    expect((await api.update(0, 'b', 1, testDelta(P, 0, 1))).status).toBe(200);
    expect(await api.model(1)).toEqual(init);
    expect(await api.status()).toMatchObject({ round: 1, failedRounds: 1 });
    const ups = [0, 1].map((c) => ({ delta: testDelta(P, 1, c), numExamples: 1 }));
    for (const [c, u] of ups.entries()) expect((await api.update(1, `c${c}`, 1, u.delta)).status).toBe(200);
    expect(maxRelativeError(await api.model(2), runRounds(init, [null, ups], 'num-examples')[2]!).error).toBeLessThan(TOLERANCE);
    await sleep(50);
    expect(t.ferryd.dataPlane.occupancy(56).classes.at(-1)!.inUse).toBe(2);
  });

  it('late-merge: a late update is folded into the next round with weight 1/sqrt(1+s)', async () => {
    await deployJob(t.client, {
      chainId: 54, base: 540, name: 'late', paramCount: P, leaves: 2, clients: 3, quorum: 2, rounds: 3, roundDeadlineMs: 500, stragglers: 'late-merge', weighting: 'uniform',
    });
    const api = jobApi(t.ferryd.gatewayAddress, 'late');
    const init = initialModel([], P, 1);
    const d = (r: number, c: number) => testDelta(P, r, c);
    // Round 0: two on time, one trained on round 0 arrives after the deadline.
    for (const c of [0, 1]) expect((await api.update(0, `c${c}`, 1, d(0, c))).status).toBe(200);
    await api.model(1);
    const late = await api.update(0, 'c2', 1, d(0, 2));
    expect(late.status).toBe(200);
    expect(await late.json()).toEqual({ round: 1, staleness: 1, weight: 1 / Math.sqrt(2) });
    // Round 1: two more fill it (3 with the late one).
    for (const c of [0, 1]) expect((await api.update(1, `c${c}`, 1, d(1, c))).status).toBe(200);
    const m2 = await api.model(2);
    const want = runRounds(init, [
      [{ delta: d(0, 0), numExamples: 1 }, { delta: d(0, 1), numExamples: 1 }],
      [{ delta: d(0, 2), numExamples: 1, staleness: 1 }, { delta: d(1, 0), numExamples: 1 }, { delta: d(1, 1), numExamples: 1 }],
    ], 'uniform');
    expect(maxRelativeError(m2, want[2]!).error).toBeLessThan(TOLERANCE);
    // Two rounds late is more than maxStaleness (1).
    const stale = await api.update(0, 'c9', 1, d(0, 9));
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: { code: 'tooStale' } });
    expect(await api.status()).toMatchObject({ lateMerged: 1, rejected: { tooStale: 1 } });
  });
});
