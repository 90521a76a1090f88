/**
 * ferryd end to end: a real ferryd (real gRPC server, real data plane,
 * real instance processes, real BPF as root) driven through the real
 * client, in both data plane modes.
 */
import { makeClientConstructor } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RequestInterruptedError, type Reply } from '../gateway/injector.js';
import { modes } from '../../test/helpers/dataplane.js';
import type { NodeStats } from './proto.js';
import { CHANNEL_OPTIONS, channelCredentials, expectServer } from '../auth/grpc.js';
import { alive, chainInstances, chainProgram, controlPlaneTls, startTestFerryd, untilReady, waitFor, type TestFerryd } from './testdata/harness.js';

const CHAIN = 41;
const BASE = 300;
const GW = 399;
const NAME = 'wc';
const text = (r: Reply) => new TextDecoder().decode(r.body);

describe.each(modes)('ferryd (%s mode)', (mode) => {
  let t: TestFerryd;

  beforeEach(async () => {
    t = await startTestFerryd(mode);
  });

  afterEach(async () => {
    await t.cleanup();
  });

  /** Pool, both instances, routes and gateway: the chain ready to serve. */
  async function deployChain(tag = 'zz') {
    await t.client.createPool({ chainId: CHAIN, chainName: NAME });
    for (const req of chainInstances(CHAIN, BASE, tag)) await t.client.startInstance(req);
    await t.client.programChain(chainProgram(CHAIN, BASE, GW, NAME));
    await untilReady(t.client, CHAIN);
  }

  function injector() {
    const served = t.ferryd.daemon.directory.lookup(NAME);
    if (!served) throw new Error(`chain ${NAME} is not served`);
    return served.injector;
  }

  it('reports who the node is and how its data plane runs', async () => {
    const info = await t.client.getNodeInfo();
    expect(info.name).toBe('test-node');
    expect(info.archs).toEqual([process.arch === 'x64' ? 'amd64' : process.arch]);
    expect(info.cpus).toBeGreaterThan(0);
    expect(info.memoryBytes).toBeGreaterThan(0);
    expect(info.dataplaneMode).toBe(mode);
    expect(info.dataplaneDetail).not.toBe('');
    expect(info.gatewayAddress).toBe(t.ferryd.gatewayAddress);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('answers SERVING on the gRPC health service', async () => {
    const Health = makeClientConstructor(healthService, 'Health');
    const health = new Health(t.ferryd.grpcAddress, channelCredentials(controlPlaneTls, expectServer(['node'])), CHANNEL_OPTIONS) as unknown as {
      check(req: { service: string }, cb: (err: Error | null, res: { status: string }) => void): void;
      close(): void;
    };
    const check = (service: string) =>
      new Promise<string>((resolve, reject) => health.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));
    expect(await check('')).toBe('SERVING');
    expect(await check('ferry.node.v1.NodeDaemon')).toBe('SERVING');
    health.close();
  });

  it('creates a pool once and accepts the same request again', async () => {
    const first = await t.client.createPool({ chainId: CHAIN, chainName: NAME, classes: [{ size: 4096, count: 16 }] });
    expect(first.poolBytes).toBeGreaterThanOrEqual(4096 * 16);
    const again = await t.client.createPool({ chainId: CHAIN, chainName: NAME, classes: [{ size: 4096, count: 16 }] });
    expect(again.poolBytes).toBe(first.poolBytes);
  });

  it('runs a node and a native instance and carries requests through the programmed routes', async () => {
    await deployChain('extra');
    const { instances } = await t.client.listInstances({ chainId: CHAIN });
    expect(instances.map((i) => [i.instanceId, i.stageName, i.state])).toEqual([
      [BASE, 'work', 'RUNNING'],
      [BASE + 1, 'count', 'RUNNING'],
    ]);
    for (const i of instances) expect(alive(i.pid)).toBe(true);

    const r = await injector().request(0, 'b a b');
    expect(r.status).toBe('ok');
    // The worker appended its $TAG; the native stage counted the words.
    expect(JSON.parse(text(r))).toMatchObject({ words: 4, distinct: 3 });
  });

  it('serves the chain over its HTTP gateway, and fails a request whose instance crashed at once', async () => {
    await deployChain();
    const url = `http://${t.ferryd.gatewayAddress}/chains/${NAME}`;
    const ok = await fetch(url, { method: 'POST', body: 'x y x' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(await ok.text())).toMatchObject({ words: 4, distinct: 3 });

    // The gateway's timeout is 5 s; the crash answers long before, with
    // the reason, because ferryd tells the injector what was interrupted.
    const crashed = await fetch(url, { method: 'POST', body: 'crash' });
    expect(crashed.status).toBe(502);
    const body = (await crashed.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('instanceDied');
    expect(body.error.message).toContain(`instance ${BASE} (work) exited with code 3`);
  });

  it('streams counters that grow with traffic, pool occupancy and node load', async () => {
    await deployChain();
    const stream = t.client.streamStats({ intervalMs: 50 });
    const samples: NodeStats[] = [];
    stream.on('data', (s: NodeStats) => samples.push(s));
    stream.on('error', () => undefined); // cancelled at the end
    const first = await waitFor('a first sample', () => samples[0]);
    const before = first.instances.find((i) => i.instanceId === BASE)!;
    expect(before).toMatchObject({ chainId: CHAIN, stage: 0, state: 'RUNNING' });

    for (let i = 0; i < 5; i++) expect((await injector().request(0, `req ${i}`)).status).toBe('ok');

    const after = await waitFor('a sample showing the traffic', () => {
      const s = samples.at(-1)!.instances.find((i) => i.instanceId === BASE)!;
      return s.rxMsgs >= before.rxMsgs + 5 && s.txMsgs >= before.txMsgs + 5 ? samples.at(-1) : undefined;
    });
    stream.cancel();
    const work = after.instances.find((i) => i.instanceId === BASE)!;
    expect(work.rxBytes).toBeGreaterThan(before.rxBytes);
    expect(work.pid).toBeGreaterThan(0);
    expect(work.cpuTicks).toBeGreaterThan(0);
    expect(work.rssBytes).toBeGreaterThan(0);
    expect(Object.keys(work.drops)).toContain('noRoute');
    expect(after.node).toBe('test-node');
    expect(after.loadavg).toHaveLength(3);
    expect(after.cpuBusy).toBeGreaterThanOrEqual(0);
    expect(after.cpuBusy).toBeLessThanOrEqual(1);
    expect(after.memoryTotalBytes).toBeGreaterThan(after.memoryAvailableBytes);
    const pool = after.pools.find((p) => p.chainId === CHAIN)!;
    expect(pool.buffers).toBeGreaterThan(0);
    expect(pool.inUse).toBe(0);
  });

  it('restarts a crashed instance under the same id, reclaims its buffers and reports what it interrupted', async () => {
    await deployChain();
    const interrupted: { tags: number[]; reason: string }[] = [];
    t.ferryd.daemon.interrupts.add(CHAIN, { failInterrupted: (tags, reason) => interrupted.push({ tags, reason }) });
    const before = (await t.client.listInstances({ chainId: CHAIN })).instances[0]!;

    const crashed = injector().request(0, 'crash now').then((r) => r, (e: Error) => e);

    const restarted = await waitFor('the instance to run again', async () => {
      const st = (await t.client.listInstances({ chainId: CHAIN })).instances[0]!;
      return st.restarts === 1 && st.state === 'RUNNING' ? st : undefined;
    });
    expect(restarted.instanceId).toBe(BASE);
    expect(restarted.pid).not.toBe(before.pid);
    expect(restarted.lastError).toMatch(/exited with code 3/);
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]!.tags).toHaveLength(1);
    expect(interrupted[0]!.reason).toContain(`instance ${BASE}`);
    expect(t.ferryd.dataPlane.pool(CHAIN).stats().inUse).toBe(0);

    // The request it held failed at once, with the reason.
    const failure = await crashed;
    expect(failure).toBeInstanceOf(RequestInterruptedError);
    expect((failure as Error).message).toContain('exited with code 3');
    // And it serves again, through the same routes.
    expect(text(await injector().request(0, 'a'))).toContain('"words":2');
  });

  it('leaves a crashed RESTART_NEVER instance down until it is started again', async () => {
    await deployChain();
    await t.client.startInstance({ ...chainInstances(CHAIN, BASE + 2)[0]!, restart: 'RESTART_NEVER' });
    await untilReady(t.client, CHAIN, [BASE + 2]);
    await t.client.programChain({
      ...chainProgram(CHAIN, BASE, GW, NAME),
      routes: [
        { stage: 0, targets: [{ instance: BASE + 2, weight: 1 }] },
        { stage: 1, targets: [{ instance: BASE + 1, weight: 1 }] },
      ],
    });
    const crashed = injector().request(0, 'crash').then((r) => r, (e: Error) => e);
    const down = await waitFor('the instance to be reported crashed', async () => {
      const st = (await t.client.listInstances({ chainId: CHAIN })).instances.find((i) => i.instanceId === BASE + 2)!;
      return st.state === 'CRASHED' ? st : undefined;
    });
    expect(down).toMatchObject({ pid: 0, restarts: 0 });
    expect(down.lastError).toMatch(/exited with code 3/);
    const again = await t.client.startInstance(chainInstances(CHAIN, BASE + 2)[0]!);
    expect(again.state).toBe('STARTING');
    await untilReady(t.client, CHAIN, [BASE + 2]);
    expect(await crashed).toBeInstanceOf(RequestInterruptedError);
  });

  it('replaces routes and gateway settings when the chain is programmed again', async () => {
    await deployChain('first');
    await t.client.startInstance(chainInstances(CHAIN, BASE + 2, 'second')[0]!);
    await untilReady(t.client, CHAIN, [BASE + 2]);
    const moved = {
      ...chainProgram(CHAIN, BASE, GW, NAME),
      routes: [
        { stage: 0, targets: [{ instance: BASE + 2, weight: 1 }] },
        { stage: 1, targets: [{ instance: BASE + 1, weight: 1 }] },
      ],
    };
    await t.client.programChain(moved);
    expect(text(await injector().request(0, 'q'))).toContain('"second"');
    // Same endpoint id: the injector stays, its settings change.
    const before = injector();
    await t.client.programChain({ ...moved, gateway: { ...moved.gateway!, timeoutMs: 1234 } });
    const served = t.ferryd.daemon.directory.lookup(NAME)!;
    expect(served.timeoutMs).toBe(1234);
    expect(served.injector).toBe(before);
    // No gateway config: no longer served here.
    await t.client.programChain({ ...moved, gateway: null });
    expect(t.ferryd.daemon.directory.lookup(NAME)).toBeUndefined();
  });

  it('drains an instance before stopping it: the request in flight completes', async () => {
    await deployChain();
    const pending = injector().request(0, 'slow:400');
    await waitFor('the request to reach the instance', () => (t.ferryd.dataPlane.counters(BASE).rxMsgs >= 1 ? true : undefined));
    const stopped = await t.client.stopInstance({ instanceId: BASE, drainTimeoutMs: 10_000 });
    const reply = await pending;
    expect(reply.status).toBe('ok');
    expect(text(reply)).toContain('"words":2');
    expect(stopped).toMatchObject({ instanceId: BASE, state: 'EXITED' });
    expect((await t.client.listInstances({ chainId: CHAIN })).instances.map((i) => i.instanceId)).toEqual([BASE + 1]);
    // Out of the route: the stage has no instance now.
    const refused = await injector().request(0, 'x').then((r) => r.status, (e: Error) => e.name);
    expect(['noRoute', 'RequestRefusedError']).toContain(refused);
  });

  it('deletes a chain: instances stopped, gateway closed, pool freed', async () => {
    await deployChain();
    const pids = (await t.client.listInstances({ chainId: CHAIN })).instances.map((i) => i.pid);
    const res = await t.client.deleteChain({ chainId: CHAIN });
    expect(res.stoppedInstances).toBe(2);
    expect((await t.client.listInstances({})).instances).toEqual([]);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(t.ferryd.daemon.directory.lookup(NAME)).toBeUndefined();
    expect(t.ferryd.dataPlane.hasPool(CHAIN)).toBe(false);
    // The chain can come back, even with other size classes.
    await t.client.createPool({ chainId: CHAIN, chainName: NAME, classes: [{ size: 8192, count: 8 }] });
    // Deleting what is not there is no error.
    expect((await t.client.deleteChain({ chainId: 999 })).stoppedInstances).toBe(0);
  });
});
