/**
 * Which round an update counts toward, by the job's round rules
 * (control/fl/DESIGN.md "Rounds"): the open round; under late-merge a late
 * one (trained on an older model) goes to the round that takes updates now,
 * with its staleness, unless it is more than maxStaleness rounds late.
 * Pure, so the coordinator decides the same way when the URL arrives (no
 * buffer taken yet), when the header is in, and when the body is complete
 * (a round may have closed meanwhile).
 */
import type { JobSpec } from './config.js';
import { jobDone, roundClosed, roundNotOpen, tooStale } from './errors.js';

export type JobState = 'open' | 'closing' | 'done';

export interface Target {
  round: number;
  staleness: number;
}

export function targetRound(spec: Pick<JobSpec, 'name' | 'rounds' | 'stragglers' | 'maxStaleness'>, state: JobState, open: number, r: number): Target {
  if (state === 'done') throw jobDone(spec.name, spec.rounds);
  if (r > open) throw roundNotOpen(spec.name, r, open);
  if (r === open && state === 'open') return { round: open, staleness: 0 };
  // The round that takes updates now: the next one while this one closes.
  const taking = state === 'closing' ? open + 1 : open;
  if (spec.stragglers === 'drop') throw roundClosed(spec.name, r, taking);
  if (taking >= spec.rounds) throw jobDone(spec.name, spec.rounds);
  if (taking - r > spec.maxStaleness) throw tooStale(spec.name, r, taking, spec.maxStaleness);
  return { round: taking, staleness: taking - r };
}
