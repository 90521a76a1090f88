/**
 * A job as operators see it (admin JobStatus): the stored record, where
 * its aggregators run and in what state (asked of their nodes), and the
 * rounds as its home node's coordinator last reported them (JobStats in
 * the node's stats stream, once a second).
 */
import type { InstanceStatus, JobStats } from '../../ferryd/proto.js';
import { homeNode } from '../../fl/job/config.js';
import type { AggregatorInfo, JobStatus } from '../admin/proto.js';
import type { ChainHealth } from '../chains/manager.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { JobRecord } from './record.js';

const roleOf = (r: JobRecord, stage: number): 'leaf' | 'mid' | 'top' => (stage === r.ir.job.top ? 'top' : r.ir.job.mids.includes(stage) ? 'mid' : 'leaf');

/** The job's stats from its home node's last sample. */
export function homeStats(r: JobRecord, nodes: NodeRegistry): JobStats | undefined {
  const home = homeNode(r.ir.job, r.instances);
  return nodes.get(home)?.stats?.jobs.find((j) => j.name === r.name && (j.tenant || 'default') === r.tenant);
}

export function jobStatus(r: JobRecord, nodes: NodeRegistry, live: ReadonlyMap<number, InstanceStatus>, health?: ChainHealth): JobStatus {
  const job = r.ir.job;
  const aggregators: AggregatorInfo[] = r.instances.map((i) => ({
    stage: r.ir.stages[i.stage]?.name ?? String(i.stage),
    role: roleOf(r, i.stage),
    node: i.node,
    instance: i.id,
    state: live.get(i.id)?.state ?? (nodes.get(i.node)?.ready ? 'MISSING' : 'NODE_DOWN'),
    pid: live.get(i.id)?.pid ?? 0,
    restarts: live.get(i.id)?.restarts ?? 0,
    lastError: live.get(i.id)?.lastError ?? '',
  }));
  const down = aggregators.filter((a) => a.state !== 'RUNNING');
  const stats = homeStats(r, nodes);
  let state = stats?.state || 'starting';
  let message = '';
  if (health) {
    state = health.state === 'FAILED' ? 'failed' : 'starting';
    message = health.reason;
  } else if (down.length) {
    const crashed = down.some((a) => /CRASH|STUCK|OOM/.test(a.state));
    if (crashed) state = 'failed';
    message = `${down.length} of ${aggregators.length} aggregators not running: ${down.map((a) => `${a.stage} ${a.instance}@${a.node} ${a.state}${a.lastError ? ` (${a.lastError})` : ''}`).join(', ')}`;
  }
  return {
    name: r.name,
    tenant: r.tenant,
    sourceFile: r.file,
    appliedAtMs: r.appliedAtMs,
    rounds: job.rounds,
    clients: job.clients,
    modelBytes: job.modelBytes,
    round: stats?.round ?? 0,
    state,
    accepted: stats?.accepted ?? 0,
    lateMerged: stats?.lateMerged ?? 0,
    rejected: { ...(stats?.rejected ?? {}) },
    lastAggregationMs: stats?.lastAggregationMs ?? 0,
    lastRoundMs: stats?.lastRoundMs ?? 0,
    aggregators,
    homeNode: homeNode(job, r.instances),
    levels: job.levels,
    message,
  };
}
