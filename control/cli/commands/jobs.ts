/** Aggregation jobs for people: `ferry get jobs`, `ferry get job NAME`,
 * and what `ferry apply` prints for a job. */
import { formatChainRef } from '../../chain/tenant.js';
import type { JobStatus } from '../../controlplane/admin/proto.js';
import { chainArg, withAdmin, type CommandContext } from '../context.js';
import { print, table } from '../output.js';

const ms = (x: number) => (!x ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mb = (bytes: number) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)}Mi` : `${Math.ceil(bytes / 1024)}Ki`);
const rejectedTotal = (j: JobStatus) => Object.values(j.rejected).reduce((a, b) => a + b, 0);

/** Round, state, counts, timings, then every aggregator and where it runs. */
export function describeJob(j: JobStatus): string {
  const rejected = Object.entries(j.rejected)
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const lines = [
    `${j.state}${j.message ? `: ${j.message}` : ''}`,
    `tenant ${j.tenant}, from ${j.sourceFile}; model ${mb(j.modelBytes)}, ${j.clients} clients a round, ${j.levels} levels, home ${j.homeNode || '-'}`,
    `round ${j.round} of ${j.rounds}; accepted ${j.accepted} (late-merged ${j.lateMerged}); rejected ${rejectedTotal(j)}${rejected ? ` (${rejected})` : ''}`,
    `last aggregation ${ms(j.lastAggregationMs)} ms, last round ${ms(j.lastRoundMs)} ms`,
    table(j.aggregators.map((a) => ({ aggregator: a.stage, role: a.role, node: a.node, instance: a.instance, pid: a.pid, state: a.state, restarts: a.restarts }))),
  ];
  return lines.join('\n');
}

export async function getJobs(ctx: CommandContext, name?: string): Promise<void> {
  if (name) {
    const j = await withAdmin(ctx, (a) => a.call('GetJob', chainArg(ctx, name)));
    print(ctx.format, j, () => `job ${formatChainRef(j)}\n${describeJob(j)}`);
    return;
  }
  const { jobs } = await withAdmin(ctx, (a) => a.call('ListJobs', { tenant: ctx.tenant ?? '' }));
  const rows = jobs.map((j) => ({
    name: j.name,
    tenant: j.tenant,
    state: j.state,
    round: `${j.round}/${j.rounds}`,
    clients: j.clients,
    accepted: j.accepted,
    rejected: rejectedTotal(j),
    'agg ms': ms(j.lastAggregationMs),
    'round ms': ms(j.lastRoundMs),
    aggregators: j.aggregators.length,
    nodes: [...new Set(j.aggregators.map((a) => a.node))].join(','),
    model: mb(j.modelBytes),
  }));
  const reasons = jobs.filter((j) => j.message).map((j) => `${j.name}: ${j.message}`);
  print(ctx.format, jobs, () => [table(rows), ...reasons].join('\n'));
}
