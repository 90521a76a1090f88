/**
 * Which placement plugins run and how much each score counts: the cluster
 * default below, changed with `ferry up --placement-weights
 * NAME=WEIGHT,...` (the control plane's placementWeights). Weights are
 * integers 0..100 as in a KubeSchedulerConfiguration profile; 0 turns a
 * score plugin off. Everything is checked against the registry before the
 * control plane starts, and every problem is named at once.
 */
import { Scheduler } from './framework.js';
import { builtinPlugins, type PluginRegistry } from './registry.js';

export interface SchedulerConfig {
  /** Filter plugins in the order they run. */
  filters: string[];
  /** Score plugins and their weights. */
  weights: Record<string, number>;
}

/** Fit first; data over chain locality over fairness between tenants
 * over spreading. AggregatorPacking only speaks for aggregation jobs, and
 * there it decides (best fit, leaves spread where updates arrive): its
 * weight outweighs all the others together. Fairness weighs 2: at 1 it only cancels Spread for the
 * tenant it steers to tighter nodes (bench:placement shows both). */
export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  filters: ['ArchFit', 'ResourceFit', 'PeerReach', 'AggregatorNodes'],
  weights: { DataLocality: 4, ChainLocality: 3, DominantResourceFairness: 2, Spread: 1, AggregatorPacking: 20 },
};

export const MAX_WEIGHT = 100;

export class SchedulerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`placement weights: ${problems.join('; ')}`);
    this.name = 'SchedulerConfigError';
  }
}

/** "ChainLocality=3,Spread=0" -> { ChainLocality: 3, Spread: 0 }, values
 * not yet checked against the registry (checkConfig does). */
export function parseWeights(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const problems: string[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S+)$/.exec(part);
    if (!m) {
      problems.push(`"${part}" is not NAME=WEIGHT (e.g. ChainLocality=3)`);
      continue;
    }
    const [, name, value] = m as unknown as [string, string, string];
    if (name in out) problems.push(`${name} is given twice`);
    out[name] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  }
  if (problems.length) throw new SchedulerConfigError(problems);
  return out;
}

/** The default with some weights changed. */
export function withWeights(overrides: Record<string, number>, base: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG): SchedulerConfig {
  return { filters: [...base.filters], weights: { ...base.weights, ...overrides } };
}

/** Every problem with the configuration, or none. */
export function configProblems(cfg: SchedulerConfig, registry: PluginRegistry): string[] {
  const problems: string[] = [];
  for (const f of cfg.filters) if (registry.kindOf(f) !== 'filter') problems.push(`${f} is not a filter plugin (filters: ${registry.names('filter').join(', ')})`);
  for (const [name, w] of Object.entries(cfg.weights)) {
    const kind = registry.kindOf(name);
    if (kind === 'filter') problems.push(`${name} is a filter: filters have no weight, they only say which nodes fit`);
    else if (kind === undefined) problems.push(`${name} is not a placement plugin (score plugins: ${registry.names('score').join(', ')})`);
    else if (!Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) problems.push(`${name}=${Number.isNaN(w) ? 'not a number' : w}: a weight is a whole number 0..${MAX_WEIGHT} (0 turns it off)`);
  }
  if (problems.length === 0 && !Object.values(cfg.weights).some((w) => w > 0))
    problems.push('every score plugin has weight 0, so placement would take the first node that fits: give at least one a weight');
  return problems;
}

/** The scheduler a configuration describes; SchedulerConfigError when it is wrong. */
export function buildScheduler(cfg: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG, registry: PluginRegistry = builtinPlugins()): Scheduler {
  const problems = configProblems(cfg, registry);
  if (problems.length) throw new SchedulerConfigError(problems);
  return new Scheduler(
    cfg.filters.map((f) => registry.filter(f)),
    Object.entries(cfg.weights).map(([name, weight]) => ({ plugin: registry.score(name), weight })),
  );
}
