/**
 * An aggregation job over two nodes the way an operator runs it: `ferry up
 * --no-local-node`, two real ferryd in network namespaces added with `ferry
 * node add`, an AggregationJob with `placement.nodes: [a, b]` applied with
 * `ferry apply`. The control plane spreads the leaves over both nodes, puts
 * the top (home) on a, gives both a gateway serving /jobs/NAME, links the
 * nodes and programs the routes across them (a's FLUSH to b's leaf, b's
 * PARTIAL to a's top) and each node's JobConfig (home, local leaves).
 * Clients upload to both gateways; both serve models equal to the offline
 * FedAvg reference.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferryCli } from '../helpers/ferry-cli.js';
import { waitFor as until } from '../../control/ferryd/testdata/harness.js';
import { jobApi, testDelta } from '../../control/ferryd/jobs/testdata/harness.js';
import { initialModel } from '../../control/fl/model.js';
import { maxRelativeError, runRounds, type RefUpdate } from '../../control/fl/reference.js';
import { clusterDown, clusterUp } from './cluster.js';
import { claimSubnet, NetnsPair, netnsUnavailable } from './netns-nodes.js';

const home = mkdtempSync(join(tmpdir(), 'ferry-flm-'));
/** Subnets 10.21[345].X: 250..255 here (control-plane.test.ts 220..249, two-node.test.ts 20..219). */
const pair = new NetnsPair(`j${process.pid % 100000}`, netnsUnavailable ? 0 : claimSubnet(250, 256), 'flm');
const { a, b } = pair;
const ferry = ferryCli(home);
const P = 20_000;
const ROUNDS = 3;

const JOB = `apiVersion: ferry.dev/v1
kind: AggregationJob
metadata: { name: fed2 }
spec:
  model: { parameters: ${P} }
  rounds: ${ROUNDS}
  clients: 4
  hierarchy: { fanIn: 2 }
  roundDeadlineMs: 60000
  placement: { nodes: [a, b], top: a }
`;

async function ok(...args: string[]): Promise<string> {
  const r = await ferry(...args);
  expect(r.code, `ferry ${args.join(' ')}: ${r.stderr}\n${pair.logs()}`).toBe(0);
  return r.stdout;
}

describe.skipIf(!!netnsUnavailable)('an aggregation job over two nodes through the control plane', () => {
  beforeAll(() => clusterUp(pair, ferry, home), 120_000);
  afterAll(() => clusterDown(pair, ferry, home), 60_000);

  it('places a leaf on each node, home on a, and both gateways serve rounds equal to FedAvg', async () => {
    const file = join(home, 'fed2.yaml');
    writeFileSync(file, JOB);
    await ok('apply', '-f', file);
    const jobs = JSON.parse(await ok('get', 'jobs', '-o', 'json')) as { name: string; aggregators: { stage: string; node: string }[]; homeNode: string }[];
    const j = jobs.find((x) => x.name === 'fed2')!;
    expect(j.homeNode).toBe('a');
    expect(Object.fromEntries(j.aggregators.map((x) => [x.stage, x.node]))).toEqual({ 'leaf-0': expect.any(String), 'leaf-1': expect.any(String), top: 'a' });
    expect(new Set(j.aggregators.filter((x) => x.stage.startsWith('leaf-')).map((x) => x.node))).toEqual(new Set(['a', 'b']));
    const apiA = jobApi(`${a.hostIp}:8080`, 'fed2');
    const apiB = jobApi(`${b.hostIp}:8080`, 'fed2');
    const init = initialModel([], P, 1);
    // b has round 0's model once its home shipped it.
    await until('b to serve round 0', async () => ((await fetch(`${apiB.root}/rounds/0/model`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000);
    expect(await apiB.model(0)).toEqual(init);
    const sent: RefUpdate[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const ups = [0, 1, 2, 3].map((c) => ({ delta: testDelta(P, r, c), numExamples: 3 + c }));
      const answers = await Promise.all(ups.map((u, c) => (c % 2 === 0 ? apiA : apiB).update(r, `c${c}`, u.numExamples, u.delta)));
      for (const x of answers) expect(x.status, `${await x.clone().text()}\n${pair.logs()}`).toBe(200);
      sent.push(ups);
      const want = runRounds(init, sent, 'num-examples')[r + 1]!;
      const gotA = await apiA.model(r + 1, 30_000);
      expect(maxRelativeError(gotA, want).error).toBeLessThan(1e-5);
      expect(await apiB.model(r + 1, 30_000)).toEqual(gotA);
    }
    expect(await apiA.status()).toMatchObject({ state: 'done', accepted: 4 * ROUNDS });
    expect(await apiB.status()).toMatchObject({ state: 'done', accepted: 2 * ROUNDS });
    await ok('delete', 'job', 'fed2');
  }, 180_000);
});
