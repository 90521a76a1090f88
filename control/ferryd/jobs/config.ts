/**
 * ProgramChainRequest.job (node.proto JobConfig) checked into what the
 * coordinator runs: every rule control/fl/DESIGN.md states about a compiled
 * job that this node relies on. Errors are INVALID_ARGUMENT naming the
 * field, like the rest of ProgramChain's.
 */
import { paramCount as countOf } from '../../fl/model.js';
import { HEADER_SIZE } from '../../fl/wire.js';
import type { RoundRules } from '../../fl/job/ir.js';
import type { JobConfig } from '../proto.js';
import { invalid } from '../rpc-error.js';

export interface LeafGroup {
  parentStage: number;
  leaves: number[];
}

/** The job as this node's coordinator runs it: the round rules, and where
 * its leaves and top are. */
export interface JobSpec extends RoundRules {
  localLeaves: number[];
  groups: LeafGroup[];
  topStage: number;
  home: boolean;
  homeNode: string;
}

/** Bytes of one update (and of one model buffer): header + float32s. */
export const updateBytes = (paramCount: number) => HEADER_SIZE + 4 * paramCount;

const NAME = /^[A-Za-z0-9._-]{1,63}$/;
const MAX_ROUNDS = 1_000_000;
const MAX_DEADLINE_MS = 24 * 3_600_000;

export function checkJobConfig(j: JobConfig, largestBuffer: number): JobSpec {
  const f = (s: string) => `job.${s}`;
  if (!NAME.test(j.name)) throw invalid(f('name'), `must be 1..63 of [A-Za-z0-9._-] (got "${j.name}")`);
  if (!Number.isInteger(j.paramCount) || j.paramCount < 1) throw invalid(f('param_count'), `must be at least 1 (got ${j.paramCount})`);
  const layers = j.layers.map((l, i) => {
    if (l.shape.length === 0 || l.shape.some((d) => d < 1)) throw invalid(f(`layers[${i}].shape`), 'every dimension must be at least 1');
    return { name: l.name, shape: [...l.shape] };
  });
  if (layers.length > 0 && countOf(layers) !== j.paramCount)
    throw invalid(f('layers'), `the layers hold ${countOf(layers)} parameters, param_count says ${j.paramCount}`);
  if (updateBytes(j.paramCount) > largestBuffer)
    throw invalid(f('param_count'), `an update of ${updateBytes(j.paramCount)} bytes does not fit the pool's largest buffer (${largestBuffer}): CreatePool with a class for it`);
  if (j.rounds < 1 || j.rounds > MAX_ROUNDS) throw invalid(f('rounds'), `must be 1..${MAX_ROUNDS} (got ${j.rounds})`);
  if (j.clients < 1) throw invalid(f('clients'), `must be at least 1 (got ${j.clients})`);
  if (j.quorum < 1 || j.quorum > j.clients) throw invalid(f('quorum'), `must be 1..clients (${j.clients}) (got ${j.quorum})`);
  if (j.roundDeadlineMs < 1 || j.roundDeadlineMs > MAX_DEADLINE_MS)
    throw invalid(f('round_deadline_ms'), `must be 1..${MAX_DEADLINE_MS} (got ${j.roundDeadlineMs})`);
  if (j.stragglers !== 'drop' && j.stragglers !== 'late-merge') throw invalid(f('stragglers'), `must be "drop" or "late-merge" (got "${j.stragglers}")`);
  if (j.weighting !== 'num-examples' && j.weighting !== 'uniform')
    throw invalid(f('weighting'), `must be "num-examples" or "uniform" (got "${j.weighting}")`);
  const maxStaleness = j.stragglers === 'late-merge' ? j.maxStaleness || 1 : 0;
  if (j.groups.length === 0) throw invalid(f('groups'), 'a job needs at least one group of leaves');
  const leaves = new Set<number>();
  const groups = j.groups.map((g, i) => {
    if (g.leaves.length === 0) throw invalid(f(`groups[${i}].leaves`), 'a group needs at least one leaf');
    for (const l of g.leaves) {
      if (leaves.has(l) || l === j.topStage || l === g.parentStage) throw invalid(f(`groups[${i}].leaves`), `stage ${l} is named twice`);
      leaves.add(l);
    }
    return { parentStage: g.parentStage, leaves: [...g.leaves] };
  });
  // Two levels: one group, right under the top; three: every group under a mid.
  const twoLevels = groups.length === 1 && groups[0]!.parentStage === j.topStage;
  if (!twoLevels && groups.some((g) => g.parentStage === j.topStage))
    throw invalid(f('groups'), 'with more than one group, every group is under a mid-level stage, not the top');
  for (const l of j.localLeaves) if (!leaves.has(l)) throw invalid(f('local_leaves'), `stage ${l} is not a leaf of any group`);
  return {
    name: j.name,
    tenant: j.tenant,
    paramCount: j.paramCount,
    layers,
    initSeed: j.initSeed,
    rounds: j.rounds,
    clients: j.clients,
    quorum: j.quorum,
    roundDeadlineMs: j.roundDeadlineMs,
    stragglers: j.stragglers,
    maxStaleness,
    weighting: j.weighting,
    fanIn: j.fanIn,
    // A node that serves uploads but runs no leaf (placement put every leaf
    // elsewhere, e.g. fewer leaves than nodes) sends them to every leaf
    // through the chain's routes: they cross the peer link, but they count.
    localLeaves: j.localLeaves.length > 0 ? [...j.localLeaves] : [...leaves],
    groups,
    topStage: j.topStage,
    home: j.home,
    homeNode: j.homeNode,
  };
}

/** The partials the top waits for: one per leaf (two levels) or per mid. */
export function expectTop(spec: Pick<JobSpec, 'groups' | 'topStage'>): number {
  const g = spec.groups;
  return g.length === 1 && g[0]!.parentStage === spec.topStage ? g[0]!.leaves.length : g.length;
}
