/**
 * A chain as operators see it (admin ChainStatus): the stored record joined
 * with what the nodes last streamed about its instances.
 */
import { chainPath } from '../../chain/tenant.js';
import type { InstanceStats, InstanceStatus } from '../../ferryd/proto.js';
import type { ChainState, ChainStatus, InstanceInfo, NodeStatus, PoolStatus } from '../admin/proto.js';
import type { NodeEntry, NodeRegistry } from '../nodes/registry.js';
import type { ChainHealth } from './manager.js';
import type { ChainRecord } from './record.js';

/** Live instance states of a chain, asked of its nodes (unreachable ones are skipped). */
export async function liveInstances(r: ChainRecord, nodes: NodeRegistry): Promise<Map<number, InstanceStatus>> {
  const live = new Map<number, InstanceStatus>();
  for (const name of new Set(r.instances.map((i) => i.node))) {
    const n = nodes.get(name);
    if (!n?.ready) continue;
    const got = await n.client.listInstances({ chainId: r.chainId }).catch(() => ({ instances: [] as InstanceStatus[] }));
    for (const i of got.instances) live.set(i.instanceId, i);
  }
  return live;
}

/** health: what the chain manager knows of a restore in progress or failed. */
export function chainStatus(r: ChainRecord, nodes: NodeRegistry, live: Map<number, InstanceStatus> = new Map(), health?: ChainHealth): ChainStatus {
  const stats = new Map<number, InstanceStats>();
  for (const n of nodes.list()) for (const i of n.stats?.instances ?? []) stats.set(i.instanceId, i);
  const placed = r.instances.map((i) => ({ id: i.id, node: i.node, stage: i.stage }));
  const traffic = nodes.signals.chain(r.chainId);
  const stageTraffic = (stage: number) => {
    const sig = nodes.signals.stage(r.chainId, stage, placed);
    const service = nodes.signals.stageService(stage, placed);
    return {
      serviceP50Ms: service.p50,
      serviceP99Ms: service.p99,
      inFlight: sig.instances.reduce((n, i) => n + i.inFlight, 0),
      completionsPerSec: round(sig.instances.reduce((n, i) => n + i.completionsPerSec, 0)),
    };
  };
  const status: Omit<ChainStatus, 'state' | 'reason'> = {
    name: r.name,
    tenant: r.tenant,
    chainId: r.chainId,
    entry: r.ir.stages[r.ir.entry]?.name ?? '',
    sourceFile: r.file,
    appliedAtMs: r.appliedAtMs,
    generation: r.generation,
    endpoints: r.gateways
      .map((g) => nodes.get(g.node)?.info.gatewayAddress)
      .filter((a): a is string => !!a)
      .map((a) => `http://${a}${chainPath(r)}`),
    stages: r.ir.stages.map((s) => {
      const mine = r.instances.filter((i) => i.stage === s.id);
      return {
        name: s.name,
        id: s.id,
        runtime: s.runtime,
        next: s.next.map((n) => n.name),
        instances: mine.map((i) => {
          const st = live.get(i.id);
          const state = st?.state ?? (nodes.get(i.node)?.ready ? 'MISSING' : 'NODE_DOWN');
          return {
            id: i.id,
            node: i.node,
            pid: st?.pid ?? 0,
            state,
            restarts: st?.restarts ?? 0,
            weight: i.weight,
            ready: st?.ready ?? false,
            lastError: st?.lastError ?? '',
            restartInMs: st?.restartInMs ?? 0,
            version: i.version ?? '',
          };
        }),
        rxPerSec: mine.reduce((sum, i) => sum + nodes.rates.perSec(i.id), 0),
        rxMsgs: mine.reduce((sum, i) => sum + (stats.get(i.id)?.rxMsgs ?? 0), 0),
        drops: mine.reduce((sum, i) => sum + Object.values(stats.get(i.id)?.drops ?? {}).reduce((a, b) => a + b, 0), 0),
        ...stageTraffic(s.id),
      };
    }),
    pools: poolsOf(r, nodes),
    requestsPerSec: round(traffic?.requestsPerSec ?? 0),
    latencyP50Ms: traffic?.latencyMs.p50 ?? 0,
    latencyP99Ms: traffic?.latencyMs.p99 ?? 0,
  };
  return { ...status, ...(health ?? runningState(status.stages.flatMap((s) => s.instances))) };
}

/** RUNNING when every instance runs; otherwise which ones do not, and how they are. */
function runningState(instances: InstanceInfo[]): { state: ChainState; reason: string } {
  const down = instances.filter((i) => i.state !== 'RUNNING' || !i.ready);
  if (down.length === 0) return { state: 'RUNNING', reason: '' };
  const which = down.map((i) => `${i.id}@${i.node} ${i.state === 'RUNNING' ? 'STARTING' : i.state}${i.lastError ? ` (${i.lastError})` : ''}`).join(', ');
  return { state: 'DEGRADED', reason: `${down.length} of ${instances.length} instances not running: ${which}` };
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The chain's pool on each of its nodes, from their last stats sample. */
function poolsOf(r: ChainRecord, nodes: NodeRegistry): PoolStatus[] {
  const out: PoolStatus[] = [];
  for (const n of nodes.list()) {
    const p = n.stats?.pools.find((x) => x.chainId === r.chainId);
    if (!p) continue;
    out.push({
      node: n.name,
      quotaBytes: p.quotaBytes,
      capacityBytes: p.capacityBytes,
      inUseBytes: p.inUseBytes,
      allocFailures: p.allocFailures,
      expired: p.expired,
      classes: p.classes.map((c) => ({ size: c.size, capacity: c.capacity, inUse: c.inUse, maxCount: c.maxCount })),
    });
  }
  return out;
}

export function nodeStatus(n: NodeEntry): NodeStatus {
  return {
    name: n.name,
    address: n.address,
    gatewayAddress: n.info.gatewayAddress,
    archs: n.info.archs,
    cpus: n.info.cpus,
    memoryBytes: n.info.memoryBytes,
    dataplaneMode: n.info.dataplaneMode,
    ready: n.ready,
    cpuBusy: n.stats?.cpuBusy ?? 0,
    instances: n.stats?.instances.length ?? 0,
    labels: n.labels,
    peerAddress: n.info.peerAddress,
    sandbox: n.info.sandbox,
  };
}
