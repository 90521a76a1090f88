/**
 * burst: the arrival rate driven through the scenario's stages (k6 ramps
 * linearly to each stage's rate over its duration, so a 1 s stage is a step
 * or the edge of a spike). k6 run -e SCENARIO=bench/scenarios/burst.json bench/k6/burst.ts
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { chainUrl, nth, post, sampleBodies, scenarioOf, summaryTrendStats, thresholdsOf, vusFor } from './common.ts';

const s = scenarioOf('burst');
const bodies = sampleBodies(s);
const url = chainUrl(s);
const peak = Math.max(...s.stages.map((st) => st.rate));

export const options: Options = {
  scenarios: {
    burst: {
      executor: 'ramping-arrival-rate',
      // Start at the first stage's rate so a flat first stage holds it.
      startRate: s.stages[0]?.rate ?? 0,
      timeUnit: '1s',
      stages: s.stages.map((st) => ({ duration: `${st.durationS}s`, target: st.rate })),
      ...vusFor(peak, s.thresholds),
    },
  },
  thresholds: thresholdsOf(s.thresholds),
  summaryTrendStats,
};

export default function (): void {
  post(url, nth(bodies, exec.scenario.iterationInTest));
}
