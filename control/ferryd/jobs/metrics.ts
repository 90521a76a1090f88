/**
 * Prometheus metrics of the aggregation jobs this node coordinates (read
 * on scrape, like the rest of ferryd's): updates by result, the bytes
 * copied inside ferry for them (the bench reads this: socket -> pool once
 * per update, and round 0's model), rounds and their timings.
 */
import { SnapshotMetric } from '../../metrics/prometheus.js';
import type { NodeDaemon } from '../node-daemon.js';
import type { JobCoordinator } from './coordinator.js';

export function jobMetrics(daemon: NodeDaemon, node: string): SnapshotMetric[] {
  const labels = (j: JobCoordinator) => ({ node, job: j.spec.name, tenant: j.spec.tenant });
  const perJob = (value: (j: JobCoordinator) => number) => () => daemon.jobs.list().map((j) => ({ labels: labels(j), value: value(j) }));
  return [
    new SnapshotMetric('ferry_fl_updates_total', 'Updates this node\'s gateway received for a job, by result: accepted, lateMerged, or the error code it was refused with (disconnected: the client left mid-upload).', 'counter', () => [
      ...daemon.jobs.list().flatMap((j) => [...j.results].map(([result, value]) => ({ labels: { ...labels(j), result }, value }))),
      ...(daemon.jobs.unknownUploads > 0 ? [{ labels: { node, job: '', tenant: '', result: 'unknownJob' }, value: daemon.jobs.unknownUploads }] : []),
    ]),
    new SnapshotMetric('ferry_fl_bytes_copied_total', 'Bytes ferry copied for a job: each update once from its socket into the pool, and round 0\'s model; nothing else is copied.', 'counter', perJob((j) => j.bytesCopied)),
    new SnapshotMetric('ferry_fl_round', 'The job\'s open round (its rounds when done).', 'gauge', perJob((j) => j.round)),
    new SnapshotMetric('ferry_fl_failed_rounds_total', 'Rounds of the job that closed under quorum (their model carried forward).', 'counter', perJob((j) => j.failedRounds)),
    new SnapshotMetric('ferry_fl_last_aggregation_seconds', 'The last round\'s aggregation time: its last admitted update in -> its model sealed.', 'gauge', perJob((j) => j.lastAggregationMs / 1000)),
    new SnapshotMetric('ferry_fl_last_round_seconds', 'The last round\'s time: opened -> model sealed.', 'gauge', perJob((j) => j.lastRoundMs / 1000)),
    new SnapshotMetric('ferry_fl_models', 'Sealed model buffers the job holds in the pool now.', 'gauge', perJob((j) => j.models.liveBuffers())),
  ];
}
