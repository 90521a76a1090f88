/**
 * The control plane's Prometheus metrics, read on scrape: each chain's
 * answers and latency over all the gateways that serve it, each stage's
 * service time over all its instances (both from the nodes' latest stats
 * samples, cumulative), instances by state, nodes, and every cluster event
 * by kind (applies, crashes, scaling and balancing decisions); what the
 * autoscaler decided per stage, and the weights each node's balancer wrote.
 */
import type { EventBus } from './events.js';
import type { ChainManager } from './chains/manager.js';
import type { NodeRegistry } from './nodes/registry.js';
import type { AutoscaleLoop } from './autoscale/loop.js';
import { HistogramsBy, SnapshotMetric, SumsBy } from '../metrics/prometheus.js';

export function controlPlaneMetrics(
  chains: ChainManager,
  nodes: NodeRegistry,
  events: EventBus,
  autoscaler?: Pick<AutoscaleLoop, 'decisions' | 'decisionCounts'>,
): SnapshotMetric[] {
  const eventCounts = new Map<string, number>();
  events.subscribe((e) => eventCounts.set(e.kind, (eventCounts.get(e.kind) ?? 0) + 1));
  const latest = () => nodes.list().flatMap((n) => (n.stats ? [{ node: n.name, stats: n.stats }] : []));

  /** Labels of a chain's stage by ids (undefined: a chain no longer stored). */
  const stageLabeller = async () => {
    const names = new Map((await chains.peekList()).map((r) => [r.chainId, { chain: r.name, tenant: r.tenant, stages: r.ir.stages.map((s) => s.name) }]));
    return (chainId: number, stage: number) => {
      const c = names.get(chainId);
      return c && { chain: c.chain, tenant: c.tenant, stage: c.stages[stage] ?? String(stage) };
    };
  };
  /** Every stage's balance on every node, with its labels. */
  const balances = async () => {
    const labelsOf = await stageLabeller();
    return latest().flatMap(({ node, stats }) =>
      (stats.balance ?? []).flatMap((b) => {
        const labels = labelsOf(b.chainId, b.stage);
        return labels ? [{ b, labels: { ...labels, node, policy: b.policy } }] : [];
      }),
    );
  };

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
      for (const { stats } of latest()) for (const g of stats.gateways) if (g.latency) byChain.of({ chain: g.chain, tenant: g.tenant }).merge(g.latency, g.latency.sumUs);
      return byChain.samples();
    }),
    new SnapshotMetric('ferry_chain_cold_start_seconds', 'Arrival to reply of a chain\'s requests that were held while a stage started from zero, over every gateway.', 'histogram', () => {
      const byChain = new HistogramsBy('ferry_chain_cold_start_seconds');
      for (const { stats } of latest()) for (const g of stats.gateways) if (g.coldStart) byChain.of({ chain: g.chain, tenant: g.tenant }).merge(g.coldStart, g.coldStart.sumUs);
      return byChain.samples();
    }),
    new SnapshotMetric('ferry_chain_held_requests', 'Requests the gateways hold now for a chain\'s stage scaled to zero.', 'gauge', () => {
      const sums = new SumsBy();
      for (const { stats } of latest()) for (const g of stats.gateways) sums.add({ chain: g.chain, tenant: g.tenant }, g.held);
      return sums.samples();
    }),
    new SnapshotMetric('ferry_stage_service_duration_seconds', 'Service time of a stage\'s requests over all its instances, as they measured them.', 'histogram', async () => {
      const labelsOf = await stageLabeller();
      const byStage = new HistogramsBy('ferry_stage_service_duration_seconds');
      for (const { stats } of latest())
        for (const i of stats.instances) {
          const labels = labelsOf(i.chainId, i.stage);
          if (labels && i.serviceTime) byStage.of(labels).merge(i.serviceTime, i.serviceTime.sumUs);
        }
      return byStage.samples();
    }),
    new SnapshotMetric('ferry_chain_instances', 'A chain\'s instances by stage, node and state.', 'gauge', async () => {
      const labelsOf = await stageLabeller();
      const n = new SumsBy();
      for (const { node, stats } of latest())
        for (const i of stats.instances) {
          const labels = labelsOf(i.chainId, i.stage);
          if (labels) n.add({ ...labels, node, state: i.state.toLowerCase() }, 1);
        }
      return n.samples();
    }),
    new SnapshotMetric('ferry_autoscaler_desired_instances', 'The instances the autoscaler last decided a stage should have (before they started or drained).', 'gauge', () =>
      (autoscaler?.decisions() ?? []).map((d) => ({ labels: { chain: d.chain, tenant: d.tenant, stage: d.stage, policy: d.policy }, value: d.desired })),
    ),
    new SnapshotMetric('ferry_autoscaler_decisions_total', 'Autoscaling decisions since the control plane started, by policy and the rule that fired (a count kept is a decision too).', 'counter', () =>
      (autoscaler?.decisionCounts() ?? []).map((c) => ({ labels: { policy: c.policy, rule: c.rule }, value: c.count })),
    ),
    new SnapshotMetric('ferry_balancer_target_weight', 'The route weight a node\'s balancer wrote for each target of a stage (an instance there, or another node).', 'gauge', async () =>
      (await balances()).flatMap(({ b, labels }) => b.targets.map((t) => ({ labels: { ...labels, target: t.node || `instance-${t.instance}` }, value: t.weight }))),
    ),
    new SnapshotMetric('ferry_balancer_decisions_total', 'Ticks at which a node\'s balance policy set a stage\'s weights, since that ferryd started.', 'counter', async () =>
      (await balances()).map(({ b, labels }) => ({ labels, value: b.decisions })),
    ),
    new SnapshotMetric('ferry_nodes', 'Nodes the control plane knows, 1 each, with whether they are ready.', 'gauge', () =>
      nodes.list().map((n) => ({ labels: { node: n.name, ready: String(n.ready), mode: n.info.dataplaneMode }, value: 1 })),
    ),
    new SnapshotMetric('ferry_events_total', 'Cluster events since the control plane started, by kind (chain-applied, instance-crashed, ...).', 'counter', () =>
      [...eventCounts].map(([kind, value]) => ({ labels: { kind }, value })),
    ),
  ];
}
