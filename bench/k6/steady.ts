/**
 * steady: a fixed arrival rate (open loop) for durationS, the sample
 * requests in turn. k6 run -e SCENARIO=bench/scenarios/steady.json bench/k6/steady.ts
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { chainUrl, nth, post, sampleBodies, scenarioOf, summaryTrendStats, thresholdsOf, vusFor } from './common.ts';

const s = scenarioOf('steady');
const bodies = sampleBodies(s);
const url = chainUrl(s);

export const options: Options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: s.rate,
      timeUnit: '1s',
      duration: `${s.durationS}s`,
      ...vusFor(s.rate, s.thresholds),
    },
  },
  thresholds: thresholdsOf(s.thresholds),
  summaryTrendStats,
};

export default function (): void {
  post(url, nth(bodies, exec.scenario.iterationInTest));
}
