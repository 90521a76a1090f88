/**
 * ferryd's Prometheus metrics, read on scrape (see control/metrics/
 * prometheus.ts): the gateway's answers and latencies, each stage's service
 * times as its instances measured them, instance traffic, in-flight counts,
 * states and restarts, router drops by reason, pool occupancy per size
 * class. Names and labels follow Prometheus conventions (base units,
 * _total counters, snake_case); the README lists them.
 */
import { histogramSamples, HistogramsBy, SnapshotMetric, SumsBy, type Labels, type MetricSample } from '../metrics/prometheus.js';
import type { NodeDaemon } from './node-daemon.js';
import { countersOf, inFlight } from './stats.js';
import { jobMetrics } from './jobs/metrics.js';

export function ferrydMetrics(daemon: NodeDaemon, node: string): SnapshotMetric[] {
  const chainOf = (chainId: number): Labels => {
    const c = daemon.chainLabels(chainId);
    return { node, chain: c.chain, tenant: c.tenant };
  };
  const instances = () => daemon.supervisor.list();
  const instanceLabels = (s: { chainId: number; stageName: string; instanceId: number }): Labels => ({
    ...chainOf(s.chainId),
    stage: s.stageName,
    instance: s.instanceId,
  });
  const perInstance = (value: (s: ReturnType<typeof instances>[number]) => number) => () =>
    instances().map((s): MetricSample => ({ labels: instanceLabels(s), value: value(s) }));

  return [
    new SnapshotMetric('ferry_gateway_responses_total', 'Answers of this node\'s gateway, by chain, HTTP status and ferry error code.', 'counter', () =>
      daemon.directory.list().flatMap((g) =>
        [...(g.meter?.responses ?? [])].map(([key, value]) => {
          const [status, code = ''] = key.split(' ');
          return { labels: { node, chain: g.name, tenant: g.tenant, status: status ?? '', code }, value };
        }),
      ),
    ),
    new SnapshotMetric('ferry_gateway_request_duration_seconds', 'Dispatch-to-reply time of requests this node\'s gateway sent into a chain.', 'histogram', () =>
      daemon.directory.list().flatMap((g) =>
        g.meter ? histogramSamples('ferry_gateway_request_duration_seconds', { node, chain: g.name, tenant: g.tenant }, g.meter.latency) : [],
      ),
    ),
    new SnapshotMetric('ferry_gateway_held_requests', 'Requests this node\'s gateway holds now for a stage scaled to zero.', 'gauge', () =>
      daemon.directory.list().map((g) => ({ labels: { node, chain: g.name, tenant: g.tenant }, value: g.hold?.held ?? 0 })),
    ),
    new SnapshotMetric('ferry_gateway_cold_start_seconds', 'Arrival to reply of requests this node\'s gateway held while a stage started from zero.', 'histogram', () =>
      daemon.directory.list().flatMap((g) =>
        g.meter ? histogramSamples('ferry_gateway_cold_start_seconds', { node, chain: g.name, tenant: g.tenant }, g.meter.coldStart) : [],
      ),
    ),
    new SnapshotMetric('ferry_stage_service_duration_seconds', 'Service time of a stage\'s requests on this node, as its instances measured them (accepted to handed on).', 'histogram', () => {
      const byStage = new HistogramsBy('ferry_stage_service_duration_seconds');
      for (const s of instances()) {
        const mine = daemon.signals.instance(s.instanceId);
        if (mine) byStage.of({ ...chainOf(s.chainId), stage: s.stageName }).merge(mine.service);
      }
      return byStage.samples();
    }),
    new SnapshotMetric('ferry_instance_messages_total', 'Descriptors routed to (in) and from (out) an instance.', 'counter', () =>
      instances().flatMap((s) => {
        const c = countersOf(daemon.dataPlane, s.instanceId);
        return [
          { labels: { ...instanceLabels(s), direction: 'in' }, value: c.rxMsgs },
          { labels: { ...instanceLabels(s), direction: 'out' }, value: c.txMsgs },
        ];
      }),
    ),
    new SnapshotMetric('ferry_instance_completions_total', 'Requests an instance finished, as it reported.', 'counter', perInstance((s) => daemon.signals.instance(s.instanceId)?.completions ?? 0)),
    new SnapshotMetric('ferry_instance_in_flight', 'Requests routed to an instance and not yet passed on.', 'gauge', perInstance((s) => inFlight(countersOf(daemon.dataPlane, s.instanceId)))),
    new SnapshotMetric('ferry_instance_restarts_total', 'Restarts of an instance after it crashed.', 'counter', perInstance((s) => s.restarts)),
    new SnapshotMetric('ferry_instances', 'Instances on this node by chain, stage and state.', 'gauge', () => {
      const n = new SumsBy();
      for (const s of instances()) n.add({ ...chainOf(s.chainId), stage: s.stageName, state: s.state.toLowerCase(), ready: String(s.ready) }, 1);
      return n.samples();
    }),
    new SnapshotMetric('ferry_router_drops_total', 'Messages the router refused, by the sending instance and the reason.', 'counter', () =>
      instances().flatMap((s) =>
        Object.entries(countersOf(daemon.dataPlane, s.instanceId).drops).map(([reason, value]) => ({ labels: { ...instanceLabels(s), reason }, value })),
      ),
    ),
    new SnapshotMetric('ferry_pool_buffers', 'Buffers of a chain\'s pool per size class: in use, in service, and the most the class may grow to.', 'gauge', () =>
      daemon.dataPlane.poolChains().flatMap((chainId) =>
        daemon.dataPlane.occupancy(chainId).classes.flatMap((k) => [
          { labels: { ...chainOf(chainId), size_bytes: k.size, state: 'in_use' }, value: k.inUse },
          { labels: { ...chainOf(chainId), size_bytes: k.size, state: 'in_service' }, value: k.capacity },
          { labels: { ...chainOf(chainId), size_bytes: k.size, state: 'max' }, value: k.maxCount },
        ]),
      ),
    ),
    new SnapshotMetric('ferry_pool_bytes', 'A chain\'s pool: bytes in use, in service, and its quota.', 'gauge', () =>
      daemon.dataPlane.poolChains().flatMap((chainId) => {
        const o = daemon.dataPlane.occupancy(chainId);
        return [
          { labels: { ...chainOf(chainId), state: 'in_use' }, value: o.inUseBytes },
          { labels: { ...chainOf(chainId), state: 'in_service' }, value: o.capacityBytes },
          { labels: { ...chainOf(chainId), state: 'quota' }, value: o.quotaBytes },
        ];
      }),
    ),
    new SnapshotMetric('ferry_pool_alloc_failures_total', 'Allocations that found no buffer in a chain\'s pool.', 'counter', () =>
      daemon.dataPlane.poolChains().map((chainId) => ({ labels: chainOf(chainId), value: daemon.dataPlane.occupancy(chainId).allocFailures })),
    ),
    new SnapshotMetric('ferry_pool_expired_buffers_total', 'Buffers taken back because their request outlived its deadline.', 'counter', () =>
      daemon.dataPlane.poolChains().map((chainId) => ({ labels: chainOf(chainId), value: daemon.expiredBuffers(chainId) })),
    ),
    ...jobMetrics(daemon, node),
    new SnapshotMetric('ferry_peer_copied_bytes_total', 'Payload bytes the links to other nodes copied in user space (0 on plain TCP links; TLS encrypts and decrypts every byte).', 'counter', () => {
      const c = daemon.peerCopiedBytes();
      return c ? [{ labels: { node, transport: c.transport }, value: c.bytes }] : [];
    }),
  ];
}
