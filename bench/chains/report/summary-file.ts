/** summary.json: what a reader of the suite looks at first (see bench/README.md). */
import { summariseSystem, ratiosOf, type Ratios, type SystemSummary } from '../summary.js';
import { evaluateTargets, type TargetResult } from '../targets.js';
import type { ChainSuiteRaw, EqualLoad } from '../suite.js';
import type { SystemName } from '../system.js';

export interface ChainSuiteSummary {
  suite: 'chains';
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  command: string;
  systems: string[];
  chains: string[];
  skippedChains: string[];
  equalLoad: EqualLoad;
  results: Partial<Record<SystemName, SystemSummary>>;
  ratios: Ratios[];
  targets: TargetResult[];
}

export function buildSummary(raw: ChainSuiteRaw, meta: { startedAt: string; finishedAt: string; command: string }): ChainSuiteSummary {
  const results: Partial<Record<SystemName, SystemSummary>> = {};
  for (const run of raw.runs) results[run.system] = summariseSystem(run, raw.chains);
  return {
    suite: 'chains',
    quick: raw.plan.quick,
    ...meta,
    systems: raw.systems,
    chains: raw.chains,
    skippedChains: raw.skippedChains,
    equalLoad: raw.equalLoad,
    results,
    ratios: ratiosOf(results, raw.chains),
    targets: evaluateTargets(results),
  };
}
