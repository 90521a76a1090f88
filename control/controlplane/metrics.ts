/**
 * The control plane's Prometheus metrics, read on scrape: each chain's
 * answers and latency over all the gateways that serve it, each stage's
 * service time over all its instances (both from the nodes' latest stats
 * samples, cumulative), instances by state, nodes, and every cluster event
 * by kind (applies, crashes, scaling and balancing decisions).
 */
import type { EventBus } from './events.js';
import type { ChainManager } from './chains/manager.js';
import type { NodeRegistry } from './nodes/registry.js';
import { HistogramsBy, SnapshotMetric, SumsBy } from '../metrics/prometheus.js';

export function controlPlaneMetrics(chains: ChainManager, nodes: NodeRegistry, events: EventBus): SnapshotMetric[] {
  const eventCounts = new Map<string, number>();
  events.subscribe((e) => eventCounts.set(e.kind, (eventCounts.get(e.kind) ?? 0) + 1));
  const latest = () => nodes.list().flatMap((n) => (n.stats ? [{ node: n.name, stats: n.stats }] : []));

  /** Chains by id with their stage names: what labels need. */
  const catalogue = async () => new Map((await chains.list()).map((r) => [r.chainId, { chain: r.name, tenant: r.tenant, stages: r.ir.stages.map((s) => s.name) }]));

  return [
    new SnapshotMetric('ferry_chain_responses_total', 'Answers for a chain over every gateway that serves it, by HTTP status and ferry error code.', 'counter', () => {
      const sums = new SumsBy();
      for (const { stats } of latest())
        for (const g of stats.gateways)
          for (const [key, value] of Object.entries(g.responses)) {
            const [status, code = ''] = key.split(' ');
            sums.add({ chain: g.chain, tenant: g.tenant, status: status ?? '', code }, value);
          }
      return sums.samples();
    }),
    new SnapshotMetric('ferry_chain_request_duration_seconds', 'Dispatch-to-reply time of a chain\'s requests over every gateway that serves it.', 'histogram', () => {
      const byChain = new HistogramsBy('ferry_chain_request_duration_seconds');
      for (const { stats } of latest()) for (const g of stats.gateways) byChain.of({ chain: g.chain, tenant: g.tenant }).merge(g.latency, g.latency.sumUs);
      return byChain.samples();
    }),
    new SnapshotMetric('ferry_stage_service_duration_seconds', 'Service time of a stage\'s requests over all its instances, as they measured them.', 'histogram', async () => {
      const names = await catalogue();
      const byStage = new HistogramsBy('ferry_stage_service_duration_seconds');
      for (const { stats } of latest())
        for (const i of stats.instances) {
          const c = names.get(i.chainId);
          if (!c || !i.serviceTime) continue;
          byStage.of({ chain: c.chain, tenant: c.tenant, stage: c.stages[i.stage] ?? String(i.stage) }).merge(i.serviceTime, i.serviceTime.sumUs);
        }
      return byStage.samples();
    }),
    new SnapshotMetric('ferry_chain_instances', 'A chain\'s instances by stage, node and state.', 'gauge', async () => {
      const names = await catalogue();
      const n = new SumsBy();
      for (const { node, stats } of latest())
        for (const i of stats.instances) {
          const c = names.get(i.chainId);
          if (c) n.add({ chain: c.chain, tenant: c.tenant, stage: c.stages[i.stage] ?? String(i.stage), node, state: i.state.toLowerCase() }, 1);
        }
      return n.samples();
    }),
    new SnapshotMetric('ferry_nodes', 'Nodes the control plane knows, 1 each, with whether they are ready.', 'gauge', () =>
      nodes.list().map((n) => ({ labels: { node: n.name, ready: String(n.ready), mode: n.info.dataplaneMode }, value: 1 })),
    ),
    new SnapshotMetric('ferry_events_total', 'Cluster events since the control plane started, by kind (chain-applied, instance-crashed, ...).', 'counter', () =>
      [...eventCounts].map(([kind, value]) => ({ labels: { kind }, value })),
    ),
  ];
}
