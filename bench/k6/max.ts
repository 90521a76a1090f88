/**
 * max: a closed loop (each VU is one connection sending its next request
 * as soon as the last one answers) at 1, 2, 4 ... `connections` VUs, each
 * level held for an equal share of durationS. Requests are tagged with
 * their level (level=N) and each level has its own thresholds: the largest
 * level that passes is the most the chain takes within its SLO, and its
 * rate is http_reqs{level:N} / holdS (floor(durationS / number of levels),
 * at least 2 s). Levels past that one fail their thresholds by design, so
 * k6 exits non-zero.
 * k6 run -e SCENARIO=bench/scenarios/max.json bench/k6/max.ts
 */
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { chainUrl, nth, post, sampleBodies, scenarioOf, summaryTrendStats, thresholdsOf } from './common.ts';

const s = scenarioOf('max');
const bodies = sampleBodies(s);
const url = chainUrl(s);

/** 1, 2, 4 ... up to and including `connections`. */
const levels: number[] = [];
for (let n = 1; n < s.connections; n *= 2) levels.push(n);
levels.push(s.connections);
/** Seconds at each level, the first of them spent ramping to it. */
const holdS = Math.max(2, Math.floor(s.durationS / levels.length));

let thresholds: Record<string, string[]> = {};
for (const n of levels) thresholds = { ...thresholds, ...thresholdsOf(s.thresholds, `{level:${n}}`), [`http_reqs{level:${n}}`]: ['count>=0'] };

export const options: Options = {
  scenarios: {
    max: {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: levels.flatMap((n) => [
        { duration: '1s', target: n },
        { duration: `${holdS - 1}s`, target: n },
      ]),
      gracefulRampDown: '5s',
    },
  },
  thresholds,
  summaryTrendStats,
};

export default function (): void {
  const step = Math.min(levels.length - 1, Math.floor(exec.instance.currentTestRunDuration / 1000 / holdS));
  post(url, nth(bodies, exec.scenario.iterationInTest), { level: String(nth(levels, step)) });
}
