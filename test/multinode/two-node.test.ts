/**
 * Two nodes on one machine: two real ferryd processes in two network
 * namespaces joined by veth (netns.sh), each with its own bpffs pin dir,
 * driven from the host through their gRPC API and a's HTTP gateway.
 *
 * The chain `relay` (relay.yaml) runs `here` and `back` on node a and
 * `there` on node b; routes come from the compiler's routeTables, so a
 * request crosses a -> b -> a over the peer link and the reply shows where
 * each stage ran. Killing b's ferryd must fail requests at once with a 502
 * that names node b, not leave them to time out.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowEdges, routeTables, type Placed } from '../../control/chain/routes.js';
import { compileChainFile } from '../../control/chain/validate.js';
import type { ChainIR } from '../../control/chain/ir.js';
import type { FerrydClient } from '../../control/ferryd/client.js';
import type { NodeStats } from '../../control/ferryd/proto.js';
import { connectFerryd, waitFor as until } from '../../control/ferryd/testdata/harness.js';
import { testCredentialDir } from '../helpers/pki.js';
import { repoRoot } from '../../control/paths.js';
import { claimSubnet, NetnsPair, netnsUnavailable, type NetnsNode } from './netns-nodes.js';

const X = netnsUnavailable ? 0 : claimSubnet(20, 220);
const CHAIN_ID = 1;
const GATEWAY_ID = 1;
/** Instance ids: here (a) 10, there (b) 11, back (a) 12. */
const PLACED: [number, Placed][] = [
  [0, { instance: 10, node: 'a', weight: 1 }],
  [1, { instance: 11, node: 'b', weight: 1 }],
  [2, { instance: 12, node: 'a', weight: 1 }],
];

interface Node extends NetnsNode {
  client?: FerrydClient;
  peerAddress?: string;
}

if (netnsUnavailable) console.warn(`two-node test skipped: \`ip netns\` is unavailable (${netnsUnavailable})`);

const pair = new NetnsPair(String(process.pid), X);
const a: Node = pair.a;
const b: Node = pair.b;

async function startFerryd(n: Node): Promise<void> {
  pair.start(n, { gateway: n.name === 'a', tlsDir: await testCredentialDir({ kind: 'node', name: n.name }) });
  n.client = connectFerryd(`${n.hostIp}:7070`, n.name);
}

async function post(body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${a.hostIp}:8080/chains/relay`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  return { status: res.status, text: await res.text() };
}

async function statsOf(n: Node): Promise<NodeStats> {
  const stream = n.client!.streamStats({ intervalMs: 50 });
  try {
    for await (const s of stream) return s as NodeStats;
  } finally {
    stream.cancel();
  }
  throw new Error(`no stats from node ${n.name}`);
}

let ir: ChainIR;

async function deploy(n: Node, other: Node): Promise<void> {
  const c = n.client!;
  await c.createPool({ chainId: CHAIN_ID, chainName: ir.name, tenant: ir.tenant });
  for (const [stage, p] of PLACED.filter(([, p]) => p.node === n.name)) {
    const s = ir.stages[stage]!;
    await c.startInstance({
      chainId: CHAIN_ID, instanceId: p.instance, stage, stageName: s.name, runtime: s.runtime, handler: s.handler,
      next: s.next, // ferryd sets FERRY_NODE itself
    });
  }
  await c.setPeers({
    peers: [{ name: other.name, address: other.peerAddress! }],
    infraIdBase: n.name === 'a' ? 1000 : 1100,
    infraIdCount: 100,
  });
  const placement = new Map<number, Placed[]>(PLACED.map(([stage, p]) => [stage, [p]]));
  await c.programChain({
    chainId: CHAIN_ID,
    routes: routeTables(ir, placement, n.name).map((r) => ({ stage: r.stage, targets: r.targets.map((t) => ({ ...t, node: t.node ?? '' })) })),
    allow: allowEdges(ir).map(([fromStage, toStage]) => ({ fromStage, toStage })),
    gateway: n.name === 'a' ? { chainName: ir.name, entryStage: ir.entry, timeoutMs: 60_000, gatewayInstanceId: GATEWAY_ID } : null,
    remoteGateways: n.name === 'b' ? [{ instance: GATEWAY_ID, node: 'a' }] : [],
  });
  // Requests are routed only to instances that said they are ready.
  await until(`node ${n.name}'s instances to be ready`, async () => {
    const { instances } = await c.listInstances({ chainId: CHAIN_ID });
    return instances.length > 0 && instances.every((i) => i.ready) ? true : undefined;
  });
}

describe.skipIf(!!netnsUnavailable)('two nodes in two network namespaces', () => {
  beforeAll(async () => {
    [ir] = compileChainFile(join(repoRoot, 'test/multinode/relay.yaml')) as [ChainIR];
    pair.up();
    await startFerryd(a);
    await startFerryd(b);
    for (const n of [a, b]) {
      const info = await until(`ferryd ${n.name} to answer`, () => n.client!.getNodeInfo({ timeoutMs: 1000 }), 30_000);
      expect(info.name).toBe(n.name);
      expect(info.peerAddress).toBe(`${n.linkIp}:7071`);
      n.peerAddress = info.peerAddress;
    }
    await deploy(a, b);
    await deploy(b, a);
    await until('the peer link', async () => {
      const r = await a.client!.setPeers({ peers: [{ name: 'b', address: b.peerAddress! }], infraIdBase: 1000, infraIdCount: 100 });
      return r.connected.includes('b') ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    for (const n of [a, b]) n.client?.close();
    await pair.down();
  }, 60_000);

  it('runs the middle stage on node b and the others on node a', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await post(`req${i}`);
      expect(r, pair.logs()).toEqual({ status: 200, text: `req${i}|here@a|there@b|back@a` });
    }
    const stats = await statsOf(b);
    const there = stats.instances.find((s) => s.instanceId === 11);
    expect(there?.rxMsgs).toBeGreaterThanOrEqual(5);
  });

  it('fails requests at once with a 502 naming node b when b\'s ferryd dies', async () => {
    // One request held on b (its stage waits 60 s), then b's ferryd is killed.
    const held = post('slow@b:60000');
    await until('the request to reach b', async () => {
      const s = await statsOf(b);
      return (s.instances.find((i) => i.instanceId === 11)?.rxMsgs ?? 0) >= 6 ? true : undefined;
    });
    b.child!.kill('SIGKILL');
    await b.exited;

    const r = await held;
    expect(r.status).toBe(502);
    const err = JSON.parse(r.text) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('instanceDied');
    expect(err.error.message).toMatch(new RegExp(`node b \\(10\\.213\\.${X}\\.2:7071\\) went away while serving stage 1`));

    const next = await post('after');
    expect(next.status).toBe(502);
    const err2 = JSON.parse(next.text) as { error: { code: string; message: string } };
    expect(err2.error.code).toBe('noRoute');
    expect(err2.error.message).toMatch(/no link to node b/);
  });
});
