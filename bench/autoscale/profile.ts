/**
 * A chain's measured profile: per sample request, the stages it crosses and
 * each one's service times; per stage, its cold starts. Written by
 * `bench:autoscale -- --measure` (measure.ts) from a real ferryd, read by
 * the simulator, which draws every service time and cold start from these
 * samples (bootstrap: a uniform pick among the measured values).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../control/paths.js';
import type { ColdStartProfile } from './measure/cold-start.js';
import type { RequestProfile } from './measure/service.js';

export interface ChainProfile {
  chain: string;
  /** The chain file measured, relative to the repository. */
  file: string;
  measuredAt: string;
  host: { cpus: number; loadavgBefore: number[]; loadavgAfter: number[]; mode: string; sandbox: string };
  method: string;
  /** The capture echo's round trip, taken off the stage samples. */
  echoMs: number[];
  /** CPU time a request costs each stage, ms (what its quota is spent on). */
  cpuMs: Record<string, number>;
  /** Time each stage's instance waited on a run queue per request, ms. */
  cpuWaitMs: Record<string, number>;
  /** Sample requests, sent in equal parts. */
  requests: RequestProfile[];
  coldStarts: Record<string, ColdStartProfile>;
}

export function profilePath(chain: string): string {
  return join(repoRoot, 'bench/autoscale/profiles', `${chain}.json`);
}

export function loadProfile(chain: string, file = profilePath(chain)): ChainProfile {
  if (!existsSync(file)) {
    throw new Error(`no measured profile for chain "${chain}" (${file}): measure one with \`npm run bench:autoscale -- --measure --chain FILE\` (a real ferryd, the chain's requests/*.json as samples)`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ChainProfile;
}

/** Quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
