/**
 * A job whose leaves are on two nodes: two real ferryd (a: home, with
 * leaf-0 and the top; b: follower, with leaf-1) joined by their peer link
 * (mutual TLS on loopback), programmed as the control plane programs them
 * (routes from each node to the other's stages, each node's gateway
 * serving the job), real aggregators, clients uploading to both gateways
 * (b's over HTTP and its gRPC door).
 *
 * What must hold: every round's model equals the offline FedAvg reference
 * on both nodes; what crosses the link is about one partial per round
 * (b -> a) and one model per round (a -> b), never an update; a client
 * of b gone mid-upload leaks nothing; with the home gone, b answers a clear
 * 503 homeUnreachable and holds nothing but its models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialModel } from '../../fl/model.js';
import { maxRelativeError, runRounds, type RefUpdate } from '../../fl/reference.js';
import { RouterClass } from '../../dataplane/native.js';
import { createLogger } from '../../log.js';
import { modes } from '../../../test/helpers/dataplane.js';
import type { FerrydClient } from '../client.js';
import type { RpcInput } from '../proto.js';
import { startFerryd, type Ferryd } from '../server.js';
import { connectFerryd, nodeTls, STAGE_REPLY, testPinDir, untilReady, waitFor } from '../testdata/harness.js';
import { connect } from 'node:net';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { codeOf, download, flClient, upload } from './testdata/fl-grpc.js';
import { disconnectMidUpload, jobApi, jobProgram, testDelta, type TestJob } from './testdata/harness.js';
import { encodeUpdate } from '../../fl/wire.js';

const mode = modes[0]!;
const CHAIN = 71;
const BASE = 710;
/** 200 KB models: an update or model crossing the link stands out from the control messages. */
const P = 50_000;
const MODEL = 64 + 4 * P;
/** Rounds the job has; the test runs all but the last (left open for the failure cases). */
const ROUNDS = 5;
const RUN = 3;
const CLIENTS = 4;
const TOLERANCE = 1e-5;
/** Frame header of the peer link. */
const FRAME = 40;
const ID = { leaf1: BASE + 1 };

interface Node {
  name: 'a' | 'b';
  ferryd: Ferryd;
  client: FerrydClient;
  pinDir: string;
  logs: string[];
  closed?: boolean;
}

async function startNode(name: Node['name']): Promise<Node> {
  const pinDir = testPinDir();
  const logs: string[] = [];
  const ferryd = await startFerryd({
    name,
    tls: await nodeTls(name),
    grpcAddress: '127.0.0.1:0',
    peerAddress: '127.0.0.1:0',
    gatewayAddress: '127.0.0.1:0',
    // b's gRPC door: the same rules as its HTTP one.
    ...(name === 'b' ? { flGrpcAddress: '127.0.0.1:0' } : {}),
    pinDir,
    mode,
    log: createLogger({ test: true, node: name }, 'debug', (l) => logs.push(l)),
  });
  return { name, ferryd, client: connectFerryd(ferryd.grpcAddress), pinDir, logs };
}

type JobRules = Omit<TestJob, 'chainId' | 'base' | 'leaves'>;
const MAIN: JobRules = { name: 'fed', paramCount: P, clients: CLIENTS, rounds: ROUNDS };

/** What the control plane sends each node: the same tree (leaf-0 and the
 * top on a, leaf-1 on b), routes to the other node's stages, the other
 * node's gateway as a remote gateway, each node's JobConfig. */
function program(node: 'a' | 'b', chainId: number, base: number, rules: JobRules, leafOnB = true): RpcInput<'ProgramChain'> {
  const gw = { a: base + 3, b: base + 4 };
  const p = jobProgram({ ...rules, chainId, base, leaves: 2 }, gw[node]);
  const other = node === 'a' ? 'b' : 'a';
  const where = ['a', leafOnB ? 'b' : 'a', 'a'];
  return {
    ...p,
    routes: [0, 1, 2].map((s) => ({ stage: s, targets: [{ instance: base + s, weight: 1, ...(where[s] === node ? {} : { node: other }) }] })),
    remoteGateways: [{ instance: gw[other], node: other }],
    job: { ...p.job!, localLeaves: [0, 1].filter((s) => where[s] === node), home: node === 'a', homeNode: 'a' },
  };
}

async function deployTwoNodes(a: FerrydClient, b: FerrydClient, chainId: number, base: number, rules: JobRules, leafOnB = true): Promise<void> {
  for (const c of [a, b]) await createPool(c, chainId, rules.name, 64 + 4 * rules.paramCount);
  const aggregator = { chainId, runtime: 'native', handler: 'builtin:aggregator' } as const;
  await a.startInstance({ ...aggregator, instanceId: base, stage: 0, stageName: 'leaf-0', next: [{ name: 'top', id: 2 }] });
  await a.startInstance({ ...aggregator, instanceId: base + 2, stage: 2, stageName: 'top', next: [] });
  await (leafOnB ? b : a).startInstance({ ...aggregator, instanceId: base + 1, stage: 1, stageName: 'leaf-1', next: [{ name: 'top', id: 2 }] });
  // The follower first: it waits for its home (joins again until welcomed).
  await b.programChain(program('b', chainId, base, rules, leafOnB));
  await a.programChain(program('a', chainId, base, rules, leafOnB));
  await untilReady(a, chainId);
  if (leafOnB) await untilReady(b, chainId);
}

async function createPool(client: FerrydClient, chainId: number, name: string, model: number): Promise<void> {
  const modelBuffer = Math.ceil(model / 64) * 64;
  const count = 16;
  await client.createPool({
    chainId,
    chainName: name,
    tenant: '',
    classes: [
      { size: 256, count: 64 },
      { size: modelBuffer, count },
    ],
    quotaBytes: 256 * 64 + modelBuffer * count,
  });
}

/** An upload whose head and first half go now and the rest once `until`
 * resolved (a straggler: admitted before a close, complete after it). */
function slowUpload(gateway: string, path: string, body: Uint8Array, until: Promise<unknown>): Promise<{ status: number; body: string }> {
  const [host, port] = gateway.split(':');
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect(Number(port), host!, () => {
      s.write(`POST ${path} HTTP/1.1\r\nhost: ${gateway}\r\nconnection: close\r\ncontent-length: ${body.byteLength}\r\n\r\n`);
      s.write(body.subarray(0, body.byteLength >> 1));
      void until.then(() => s.write(body.subarray(body.byteLength >> 1)));
    });
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0), body: got.slice(got.indexOf('\r\n\r\n') + 4) }));
    s.on('error', reject);
  });
}

describe(`a job over two nodes (${mode} mode)`, () => {
  const nodes: Node[] = [];
  const node = (n: Node['name']) => nodes.find((x) => x.name === n)!;
  let grpcB: ReturnType<typeof flClient>;
  const peerBytes = () => {
    const p = node('b').ferryd.peers!.link.stats().peers.find((x) => x.name === 'a')!;
    return { bToA: p.bytesOut, aToB: p.bytesIn };
  };

  beforeAll(async () => {
    nodes.push(await startNode('a'), await startNode('b'));
    const peer = (n: Node) => ({ name: n.name, address: n.ferryd.peerAddress });
    await node('a').client.setPeers({ peers: [peer(node('b'))], infraIdBase: 2000, infraIdCount: 20 });
    await node('b').client.setPeers({ peers: [peer(node('a'))], infraIdBase: 2100, infraIdCount: 20 });
    await waitFor('a and b to link', async () => ((await node('a').client.setPeers({ peers: [peer(node('b'))], infraIdBase: 2000, infraIdCount: 20 })).connected.length === 1 ? true : undefined));
    await deployTwoNodes(node('a').client, node('b').client, CHAIN, BASE, MAIN);
    grpcB = flClient(node('b').ferryd.flGrpcAddress);
  }, 60_000);

  afterAll(async () => {
    grpcB?.close();
    for (const n of nodes.reverse()) {
      n.client.close();
      if (!n.closed) await n.ferryd.close();
      if (mode === 'ebpf') RouterClass.unpin(n.pinDir);
    }
  }, 60_000);

  it('refuses a follower whose home is no peer', async () => {
    const p = program('b', CHAIN, BASE, MAIN);
    await expect(node('b').client.programChain({ ...p, job: { ...p.job!, homeNode: 'nowhere' } })).rejects.toThrow(/node nowhere is not a peer of b: SetPeers first/);
  });

  it('rounds over both gateways equal FedAvg on both nodes; only partials and models cross the link', async () => {
    const apiA = jobApi(node('a').ferryd.gatewayAddress, 'fed');
    const apiB = jobApi(node('b').ferryd.gatewayAddress, 'fed');
    const init = initialModel([], P, 1);
    expect(await apiA.model(0)).toEqual(init);
    expect(await apiB.model(0)).toEqual(init);
    const before = peerBytes();
    const sent: RefUpdate[][] = [];
    for (let r = 0; r < RUN; r++) {
      const ups = [0, 1, 2, 3].map((c) => ({ delta: testDelta(P, r, c), numExamples: 10 + c * 7 }));
      const first = await apiA.update(r, 'client-0', ups[0]!.numExamples, ups[0]!.delta);
      expect(first.status, await first.text()).toBe(200);
      // Sent through a, it is a duplicate at b as well: the home refuses it.
      const dup = await apiB.update(r, 'client-0', 1, ups[0]!.delta);
      expect([dup.status, ((await dup.json()) as { error: { code: string } }).error.code]).toEqual([409, 'duplicateUpdate']);
      // Client 1 uploads to a; 2 to b over HTTP, 3 to b over gRPC.
      const answers = await Promise.all(ups.slice(1, 3).map((u, i) => (i === 0 ? apiA : apiB).update(r, `client-${i + 1}`, u.numExamples, u.delta)));
      const viaGrpc = await upload(grpcB, 'fed', r, encodeUpdate({ round: r, clientId: 'client-3', numExamples: ups[3]!.numExamples }, ups[3]!.delta));
      for (const a of answers) expect(a.status, await a.clone().text()).toBe(200);
      expect(viaGrpc).toMatchObject({ round: r, staleness: 0 });
      sent.push(ups);
      const want = runRounds(init, sent, 'num-examples')[r + 1]!;
      const gotA = await apiA.model(r + 1);
      const gotB = await apiB.model(r + 1);
      expect(maxRelativeError(gotA, want).error).toBeLessThan(TOLERANCE);
      expect(gotB).toEqual(gotA);
      expect(new Float32Array((await download(grpcB, 'fed', r + 1)).bytes.slice().buffer)).toEqual(gotA);
    }
    expect(await apiA.status()).toMatchObject({ round: RUN, state: 'open', accepted: RUN * CLIENTS });
    expect(await apiB.status()).toMatchObject({ round: RUN, state: 'open', accepted: RUN * 2 });
    const after = peerBytes();
    const bToA = after.bToA - before.bToA;
    const aToB = after.aToB - before.aToB;
    // b -> a: leaf-1's PARTIAL each round, plus small control frames; an
    // update (MODEL bytes too) would be 2 more per round.
    const control = 16 * 1024;
    expect(bToA).toBeGreaterThanOrEqual(RUN * MODEL);
    expect(bToA).toBeLessThan(RUN * (MODEL + FRAME) + control);
    // a -> b: one model per round (rounds 1..RUN), each FLUSH (64 bytes), control.
    expect(aToB).toBeGreaterThanOrEqual(RUN * MODEL);
    expect(aToB).toBeLessThan(RUN * (MODEL + FRAME) + control);
    process.stderr.write(`two-node job: ${RUN} rounds of a ${MODEL}-byte model: b->a ${bToA} bytes (${(bToA / (RUN * MODEL)).toFixed(3)} x partials), a->b ${aToB} bytes (${(aToB / (RUN * MODEL)).toFixed(3)} x models)\n`);
    // Only the kept models are in either pool.
    for (const n of nodes) expect(n.ferryd.dataPlane.occupancy(CHAIN).classes.at(-1)!.inUse, n.name).toBe(2);
  }, 60_000);

  it('late-merge: an upload to the follower admitted before the close and complete after it goes to the next round', async () => {
    const rules: JobRules = { name: 'late', paramCount: 1000, clients: 3, quorum: 2, rounds: 3, roundDeadlineMs: 500, stragglers: 'late-merge', weighting: 'uniform' };
    await deployTwoNodes(node('a').client, node('b').client, 72, 720, rules);
    const apiA = jobApi(node('a').ferryd.gatewayAddress, 'late');
    const apiB = jobApi(node('b').ferryd.gatewayAddress, 'late');
    const d = (r: number, c: number) => testDelta(1000, r, c);
    await apiB.model(0);
    // Round 0: one on time at each node; c2's upload to b is half in when the deadline closes the round.
    for (const [c, api] of [apiA, apiB].entries()) expect((await api.update(0, `c${c}`, 1, d(0, c))).status).toBe(200);
    const closed = apiB.model(1);
    const late = await slowUpload(node('b').ferryd.gatewayAddress, '/jobs/late/rounds/0/updates', encodeUpdate({ round: 0, clientId: 'c2', numExamples: 1 }, d(0, 2)), closed);
    expect([late.status, JSON.parse(late.body)]).toEqual([200, { round: 1, staleness: 1, weight: 1 / Math.sqrt(2) }]);
    // Round 1: two more fill it (3 with the late one) and close it on the count.
    for (const [c, api] of [apiA, apiB].entries()) expect((await api.update(1, `c${c}`, 1, d(1, c))).status).toBe(200);
    const want = runRounds(initialModel([], 1000, 1), [
      [{ delta: d(0, 0), numExamples: 1 }, { delta: d(0, 1), numExamples: 1 }],
      [{ delta: d(0, 2), numExamples: 1, staleness: 1 }, { delta: d(1, 0), numExamples: 1 }, { delta: d(1, 1), numExamples: 1 }],
    ], 'uniform');
    const m2 = await apiA.model(2);
    expect(maxRelativeError(m2, want[2]!).error).toBeLessThan(TOLERANCE);
    expect(await apiB.model(2)).toEqual(m2);
    expect(await apiA.status()).toMatchObject({ round: 2, accepted: 5, lateMerged: 1 });
    // Two rounds late is more than maxStaleness (1): the follower's own rules say so.
    const stale = await apiB.update(0, 'c9', 1, d(0, 9));
    expect([stale.status, ((await stale.json()) as { error: { code: string } }).error.code]).toEqual([409, 'tooStale']);
    await node('a').client.deleteChain({ chainId: 72 });
    await node('b').client.deleteChain({ chainId: 72 });
  }, 60_000);

  it('a follower with no leaf of its own sends its uploads to the leaves elsewhere; they count', async () => {
    const rules: JobRules = { name: 'noleaf', paramCount: 1000, clients: 4, rounds: 2 };
    await deployTwoNodes(node('a').client, node('b').client, 73, 730, rules, false);
    const apiA = jobApi(node('a').ferryd.gatewayAddress, 'noleaf');
    const apiB = jobApi(node('b').ferryd.gatewayAddress, 'noleaf');
    const init = await apiB.model(0);
    const ups = [0, 1, 2, 3].map((c) => ({ delta: testDelta(1000, 0, c), numExamples: 2 + c }));
    const answers = await Promise.all(ups.map((u, c) => (c < 2 ? apiA : apiB).update(0, `c${c}`, u.numExamples, u.delta)));
    for (const x of answers) expect(x.status, await x.clone().text()).toBe(200);
    const m1 = await apiB.model(1);
    expect(maxRelativeError(m1, runRounds(init, [ups], 'num-examples')[1]!).error).toBeLessThan(TOLERANCE);
    expect(await apiA.model(1)).toEqual(m1);
    await node('a').client.deleteChain({ chainId: 73 });
    await node('b').client.deleteChain({ chainId: 73 });
  }, 60_000);

  it("the follower's leaf killed with an update in it: the round fails rather than lose the update", async () => {
    const apiA = jobApi(node('a').ferryd.gatewayAddress, 'fed');
    const apiB = jobApi(node('b').ferryd.gatewayAddress, 'fed');
    const before = await apiA.model(RUN);
    expect((await apiB.update(RUN, 'client-2', 5, testDelta(P, RUN, 2))).status).toBe(200);
    const { instances } = await node('b').client.listInstances({ chainId: CHAIN });
    process.kill(instances.find((i) => i.instanceId === ID.leaf1)!.pid, 'SIGKILL');
    await waitFor('a to hear of the lost leaf', () => (node('a').logs.some((l) => l.includes('an aggregator died')) ? true : undefined));
    await untilReady(node('b').client, CHAIN);
    const rest = await Promise.all([apiA.update(RUN, 'client-0', 5, testDelta(P, RUN, 0)), apiA.update(RUN, 'client-1', 5, testDelta(P, RUN, 1)), apiB.update(RUN, 'client-3', 5, testDelta(P, RUN, 3))]);
    for (const r of rest) expect(r.status, await r.clone().text()).toBe(200);
    // Round RUN failed: its successor starts from the same model.
    expect(await apiA.model(RUN + 1)).toEqual(before);
    expect(await apiB.model(RUN + 1)).toEqual(before);
    expect(await apiA.status()).toMatchObject({ round: RUN + 1, failedRounds: 1 });
  }, 60_000);

  it('a client of the follower gone mid-upload leaks nothing; the home gone, the follower says so', async () => {
    const gwB = node('b').ferryd.gatewayAddress;
    const open = RUN + 1;
    const occ = () => node('b').ferryd.dataPlane.occupancy(CHAIN).classes.at(-1)!.inUse;
    // The kept models: rounds RUN and RUN + 1 are one buffer (RUN failed).
    expect(occ()).toBe(1);
    const body = encodeUpdate({ round: open, clientId: 'gone', numExamples: 1 }, testDelta(P, 0, 0));
    await disconnectMidUpload(gwB, `/jobs/fed/rounds/${open}/updates`, body);
    await waitFor('b to free the cut upload', () => (occ() === 1 ? true : undefined));
    expect(await jobApi(gwB, 'fed').status()).toMatchObject({ rejected: { disconnected: 1 } });
    // The home goes away.
    node('a').closed = true;
    await node('a').ferryd.close();
    await waitFor('b to see a gone', () => (node('b').ferryd.peers!.link.connected().length === 0 ? true : undefined));
    const api = jobApi(gwB, 'fed');
    const r = await api.update(open, 'late', 1, testDelta(P, 0, 0));
    const e = (await r.json()) as { error: { code: string; message: string } };
    expect([r.status, e.error.code]).toEqual([503, 'homeUnreachable']);
    expect(e.error.message).toMatch(/home node a .*retry/);
    const viaGrpc = await upload(grpcB, 'fed', open, encodeUpdate({ round: open, clientId: 'late-grpc', numExamples: 1 }, testDelta(P, 0, 0))).catch((err: ServiceError) => err);
    expect([(viaGrpc as ServiceError).code, codeOf(viaGrpc as ServiceError)]).toEqual([GrpcStatus.UNAVAILABLE, 'homeUnreachable']);
    // Models are still served from b; nothing else is held.
    expect((await api.model(open)).length).toBe(P);
    expect(occ()).toBe(1);
  }, 60_000);

  it('a restarted home starts the job over: the follower drops the old run and follows the new one', async () => {
    const old = node('a');
    if (mode === 'ebpf') RouterClass.unpin(old.pinDir);
    const a = await startNode('a');
    nodes[nodes.indexOf(old)] = a;
    const b = node('b');
    await a.client.setPeers({ peers: [{ name: 'b', address: b.ferryd.peerAddress }], infraIdBase: 2000, infraIdCount: 20 });
    await b.client.setPeers({ peers: [{ name: 'a', address: a.ferryd.peerAddress }], infraIdBase: 2100, infraIdCount: 20 });
    await createPool(a.client, CHAIN, 'fed', MODEL);
    const aggregator = { chainId: CHAIN, runtime: 'native', handler: 'builtin:aggregator' } as const;
    await a.client.startInstance({ ...aggregator, instanceId: BASE, stage: 0, stageName: 'leaf-0', next: [{ name: 'top', id: 2 }] });
    await a.client.startInstance({ ...aggregator, instanceId: BASE + 2, stage: 2, stageName: 'top', next: [] });
    await a.client.programChain(program('a', CHAIN, BASE, MAIN));
    await untilReady(a.client, CHAIN);
    const apiA = jobApi(a.ferryd.gatewayAddress, 'fed');
    const apiB = jobApi(b.ferryd.gatewayAddress, 'fed');
    await waitFor('b to follow the new run', async () => ((await apiB.status()).round === 0 ? true : undefined));
    const init = initialModel([], P, 1);
    expect(await apiB.model(0)).toEqual(init);
    const ups = [0, 1, 2, 3].map((c) => ({ delta: testDelta(P, 9, c), numExamples: 1 + c }));
    const answers = await Promise.all(ups.map((u, c) => (c % 2 === 0 ? apiA : apiB).update(0, `again-${c}`, u.numExamples, u.delta)));
    for (const x of answers) expect(x.status, await x.clone().text()).toBe(200);
    const m1 = await apiB.model(1);
    expect(maxRelativeError(m1, runRounds(init, [ups], 'num-examples')[1]!).error).toBeLessThan(TOLERANCE);
    expect(await apiA.model(1)).toEqual(m1);
  }, 60_000);
});
