/**
 * Balancing across nodes: three real ferryd linked by their peer listeners
 * (mutual TLS on loopback), node g serving the gateway and no instance of
 * the stage, nodes w1 and w2 one instance each, w2's four times slower and
 * CPU-limited. g's egress picks the node per request by the weights its
 * balancer sets (the same pick as the routers), from what it measures of
 * each node (round trips through the egress) and what each node reports of
 * itself (Load frames). Round-robin keeps half on w2; UCB1 and LinUCB
 * move most of it to w1, least-connections less (it evens queue lengths,
 * and w2's stays short at a third of the load). (The three nodes share this
 * process and its cgroup, so their node loads are the same: least-load
 * across nodes is shown by bench:lb, whose nodes have cgroups of their own.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { RouterClass } from '../../dataplane/native.js';
import { createLogger } from '../../log.js';
import { repoRoot } from '../../paths.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { paced } from '../../../bench/lib/paced-load.js';
import type { FerrydClient } from '../client.js';
import type { BalancePolicy } from '../proto.js';
import { startFerryd, type Ferryd } from '../server.js';
import { connectFerryd, nodeTls, testPinDir, untilReady, waitFor } from '../testdata/harness.js';

const WORK = join(repoRoot, 'bench/lb/functions/work.so');
const CHAIN = 9;
const GATEWAY = 90;
const REPLY = 0xffff;
const INSTANCE = { w1: 91, w2: 92 } as const;

interface Node {
  name: 'g' | 'w1' | 'w2';
  ferryd: Ferryd;
  client: FerrydClient;
  pinDir: string;
}

describe.each(modes)('balancing across nodes (%s mode)', (mode) => {
  const nodes: Node[] = [];
  const node = (name: Node['name']) => nodes.find((n) => n.name === name)!;
  let url = '';

  const program = (balance: Partial<BalancePolicy> | null) =>
    node('g').client.programChain({
      chainId: CHAIN,
      routes: [{ stage: 0, targets: (['w1', 'w2'] as const).map((w) => ({ instance: INSTANCE[w], weight: 1, node: w })), balance }],
      allow: [
        { fromStage: REPLY, toStage: 0 },
        { fromStage: 0, toStage: REPLY },
      ],
      gateway: { chainName: 'far', entryStage: 0, timeoutMs: 10_000, gatewayInstanceId: GATEWAY },
    });

  const served = () => (['w1', 'w2'] as const).map((w) => node(w).ferryd.dataPlane.counters(INSTANCE[w]).rxMsgs);

  /** w2's share of the requests in the last measureMs of a load of ms. */
  async function w2Share(ms: number, measureMs: number): Promise<number> {
    let before: number[] = [];
    const mark = setTimeout(() => (before = served()), ms - measureMs);
    const r = await paced({ url, rate: 100, durationMs: ms, timeoutMs: 10_000 });
    clearTimeout(mark);
    expect(r.statuses.get(200), r.errors.join('\n')).toBe(r.sent);
    const got = served().map((n, i) => n - before[i]!);
    await waitFor('w2 to drain', () => {
      const c = node('w2').ferryd.dataPlane.counters(INSTANCE.w2);
      return c.rxMsgs === c.txMsgs ? true : undefined;
    }, 30_000);
    return got[1]! / (got[0]! + got[1]!);
  }

  beforeAll(async () => {
    for (const name of ['g', 'w1', 'w2'] as const) {
      const pinDir = testPinDir();
      const ferryd = await startFerryd({
        name,
        tls: await nodeTls(name),
        grpcAddress: '127.0.0.1:0',
        peerAddress: '127.0.0.1:0',
        ...(name === 'g' ? { gatewayAddress: '127.0.0.1:0' } : {}),
        pinDir,
        mode,
        log: createLogger({ test: true, node: name }, 'error', () => undefined),
        balanceTickMs: 100,
        warmUp: { ms: 300, requests: 5 },
      });
      nodes.push({ name, ferryd, client: connectFerryd(ferryd.grpcAddress), pinDir });
    }
    const peer = (n: Node) => ({ name: n.name, address: n.ferryd.peerAddress });
    await node('g').client.setPeers({ peers: [peer(node('w1')), peer(node('w2'))], infraIdBase: 1000, infraIdCount: 50 });
    for (const w of ['w1', 'w2'] as const) {
      const c = node(w).client;
      await c.setPeers({ peers: [peer(node('g'))], infraIdBase: w === 'w1' ? 1100 : 1200, infraIdCount: 50 });
      await c.createPool({ chainId: CHAIN, chainName: 'far' });
      await c.startInstance({
        chainId: CHAIN, instanceId: INSTANCE[w], stage: 0, stageName: 'work', runtime: 'native', handler: WORK, next: [],
        env: { WORK_US: w === 'w2' ? '8000' : '2000' },
        resources: w === 'w2' ? { cpuMilli: 300 } : {},
      });
      await c.programChain({
        chainId: CHAIN,
        routes: [{ stage: 0, targets: [{ instance: INSTANCE[w], weight: 1 }] }],
        allow: [{ fromStage: REPLY, toStage: 0 }, { fromStage: 0, toStage: REPLY }],
        remoteGateways: [{ instance: GATEWAY, node: 'g' }],
      });
      await untilReady(c, CHAIN);
    }
    await node('g').client.createPool({ chainId: CHAIN, chainName: 'far' });
    await program(null);
    await waitFor('g to link to both workers', async () => {
      const r = await node('g').client.setPeers({ peers: [peer(node('w1')), peer(node('w2'))], infraIdBase: 1000, infraIdCount: 50 });
      return r.connected.length === 2 ? true : undefined;
    });
    url = `http://${node('g').ferryd.gatewayAddress}/chains/far`;
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes.reverse()) {
      n.client.close();
      await n.ferryd.close();
      if (mode === 'ebpf') RouterClass.unpin(n.pinDir);
    }
  }, 60_000);

  it('round-robin keeps sending the slow node its half', async () => {
    await program({ name: 'round-robin' });
    const share = await w2Share(3000, 2000);
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
  });

  it.each([
    ['ucb1', 0.3],
    ['linucb', 0.3],
    ['least-connections', 0.4],
  ])('%s moves traffic off the slow node (its share below %s)', async (name, most) => {
    await program({ name });
    const share = await w2Share(4000, 2000);
    const stage = node('g').ferryd.daemon.balancer.stats().find((s) => s.chainId === CHAIN)!;
    expect(share, JSON.stringify(stage)).toBeLessThan(most);
    // g weighed the nodes: both are targets, each measured.
    expect(stage.targets.map((t) => t.node).sort()).toEqual(['w1', 'w2']);
    expect(stage.decisions).toBeGreaterThan(10);
  });

  it('consistent-hash sends a key to one node every time, and keys to both', async () => {
    await program({ name: 'consistent-hash', keyField: 'user' });
    const before = served();
    const r = await paced({ url, rate: 40, durationMs: 1000, body: () => JSON.stringify({ user: 'alice' }) });
    expect(r.statuses.get(200)).toBe(r.sent);
    expect(served().map((n, i) => n - before[i]!).filter((n) => n > 0)).toEqual([r.sent]);
    const spread = served();
    await paced({ url, rate: 50, durationMs: 1000, body: (i) => JSON.stringify({ user: `user-${i}` }) });
    expect(served().every((n, i) => n > spread[i]!)).toBe(true);
  });

  it('hears each worker\'s load report: its node and the stage it serves', async () => {
    const balancer = node('g').ferryd.daemon.balancer;
    let busier = false;
    await paced({
      url,
      rate: 100,
      durationMs: 2000,
      onAnswer: () => {
        const [r1, r2] = [balancer.peerReport('w1'), balancer.peerReport('w2')];
        const [s1, s2] = [r1?.stages.find((s) => s.chainId === CHAIN), r2?.stages.find((s) => s.chainId === CHAIN)];
        // w2's instance runs against a 300m quota: its stage is the busier.
        if (s1 && s2 && s2.cpu > s1.cpu + 0.1) busier = true;
      },
    });
    const r2 = balancer.peerReport('w2')!;
    expect(r2.stages).toEqual([{ chainId: CHAIN, stage: 0, ready: 1, warm: true, inFlight: expect.any(Number), cpu: expect.any(Number) }]);
    expect(r2.cpu).toBeGreaterThanOrEqual(0);
    expect(busier).toBe(true);
    expect(balancer.peerReport('nobody')).toBeUndefined();
  });
});
