/**
 * Nodes for the inter-node hop tests: a real data plane (own pin dir, own
 * pools, real instance processes) and a real PeerLink per node, in one
 * process (hops.test.ts, link-zero-copy.test.ts).
 */
import { join } from 'node:path';
import { openDataPlane, sleep } from '../../../../test/helpers/dataplane.js';
import { nodeTls } from '../../../ferryd/testdata/harness.js';
import { createLogger } from '../../../log.js';
import { repoRoot } from '../../../paths.js';
import type { NodeDataPlane } from '../../dataplane.js';
import { RemoteHops, type RemoteChain } from '../hops.js';
import { PeerLink, type PeerTransport } from '../link.js';

const TAG = join(repoRoot, 'control/node/peer/testdata/tag.ts');

export interface TestNode {
  name: string;
  dp: NodeDataPlane;
  link: PeerLink;
  hops: RemoteHops;
  logs: string[];
  cleanup: () => Promise<void>;
}

export async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Chain 8's pool is small (4 buffers) so a test can exhaust it. */
export async function startNode(mode: 'ebpf' | 'fallback', transport: PeerTransport, name: string, idBase: number): Promise<TestNode> {
  const { dp, cleanup } = await openDataPlane(mode);
  const logs: string[] = [];
  const log = createLogger({ node: name }, 'debug', (l) => logs.push(l));
  const link = await PeerLink.listen({ name, listen: '127.0.0.1:0', tls: await nodeTls(name), transport, log, backoff: { initialMs: 20, maxMs: 200 } });
  const hops = new RemoteHops({ dataPlane: dp, link, log });
  hops.setInfraIds(idBase, 16);
  dp.createPool(7, `${name}-7`, { classes: [{ size: 2048, count: 64 }] });
  dp.createPool(8, `${name}-8`, { classes: [{ size: 2048, count: 4 }] });
  return {
    name,
    dp,
    link,
    hops,
    logs,
    cleanup: async () => {
      hops.close();
      await link.close();
      await cleanup();
    },
  };
}

export function stage(n: TestNode, chain: number, id: number, stageId: number, name: string, next: { name: string; id: number }[]) {
  n.dp.spawn({ instanceId: id, chainId: chain, stage: stageId, stageName: name, runtime: 'node', handler: TAG, next, env: { NODE_TAG: n.name } });
}

export function allowChain(n: TestNode, chain: number, edges: [number, number][]) {
  for (const [from, to] of edges) n.dp.allow(chain, from, to);
}

export function remote(chainId: number, stages: [number, string][], gateways: [number, string][] = []): RemoteChain {
  return {
    chainId,
    remoteStages: new Map(stages.map(([s, node]) => [s, [{ node, weight: 1 }]])),
    remoteGateways: gateways.map(([instance, node]) => ({ instance, node })),
  };
}
