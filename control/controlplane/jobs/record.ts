/**
 * What the store keeps of an applied aggregation job: the internal chain
 * it deploys as (a ChainRecord whose IR carries the compiled job), so the
 * chains' deploy, placement and program paths run it unchanged, and a
 * restart redeploys it with the same chain and instance ids.
 */
import type { JobIR } from '../../fl/job/ir.js';
import type { ChainRecord } from '../chains/record.js';

export type JobRecord = ChainRecord & { ir: ChainRecord['ir'] & { job: JobIR } };

/** Records live at /jobs/TENANT/NAME: a job and a chain may share a name. */
export const JOB_PREFIX = '/jobs/';
export const jobKey = (tenant: string, name: string) => `${JOB_PREFIX}${tenant}/${name}`;
export const jobTenantPrefix = (tenant: string) => `${JOB_PREFIX}${tenant}/`;

/** What decides the running job: when it is unchanged, a re-apply keeps
 * the aggregators and the coordinator's rounds as they are (and programs
 * ferryd again); otherwise the job is deployed again from round 0. Round
 * rules count too: ferryd keeps a running job's coordinator as it is, and
 * leaves keep accumulators keyed by round, so new rules under running
 * aggregators would mix old sums into the new rounds. */
export function treeOf(ir: JobRecord['ir']): string {
  return JSON.stringify({
    stages: ir.stages.map((s) => [s.name, s.next.map((n) => n.id), s.resources]),
    classes: ir.sizeClasses,
    poolBytes: ir.poolBytes,
    maxBodyBytes: ir.maxBodyBytes,
    timeoutMs: ir.timeoutMs,
    job: ir.job,
  });
}
