/**
 * What ProgramChain tells one node about a job (node.proto JobConfig): the
 * round rules from the compiled job, and from where its aggregators were
 * placed, which leaves are this node's (its gateway's uploads go to them)
 * and which node is home (the top's: that coordinator owns the rounds).
 */
import type { JobConfig } from '../../proto/gen/ferry/node/v1/JobConfig.js';
import type { JobIR } from './ir.js';

export interface PlacedStage {
  stage: number;
  node: string;
}

/** The job's home: the node of its top aggregator. */
export function homeNode(job: JobIR, instances: readonly PlacedStage[]): string {
  return instances.find((i) => i.stage === job.top)?.node ?? '';
}

export function jobConfig(job: JobIR, instances: readonly PlacedStage[], node: string): JobConfig {
  const home = homeNode(job, instances);
  const here = new Set(instances.filter((i) => i.node === node).map((i) => i.stage));
  return {
    name: job.name,
    tenant: job.tenant,
    paramCount: job.paramCount,
    layers: job.layers.map((l) => ({ name: l.name, shape: [...l.shape] })),
    initSeed: job.initSeed,
    rounds: job.rounds,
    clients: job.clients,
    quorum: job.quorum,
    roundDeadlineMs: job.roundDeadlineMs,
    stragglers: job.stragglers,
    maxStaleness: job.maxStaleness,
    weighting: job.weighting,
    fanIn: job.fanIn,
    localLeaves: job.leaves.filter((l) => here.has(l)),
    groups: job.groups.map((g) => ({ parentStage: g.parent, leaves: [...g.leaves] })),
    topStage: job.top,
    home: home === node,
    homeNode: home,
  };
}
