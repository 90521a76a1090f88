/**
 * sweep: for each size in payloadBytes, durationS at a fixed rate of the
 * sample request padded to that size, one size after another. Each size is
 * its own k6 scenario tagged size=N with its own thresholds, so the summary
 * gives latency per size. k6 run -e SCENARIO=bench/scenarios/sweep.json bench/k6/sweep.ts
 */
import exec from 'k6/execution';
import type { Options, Scenario } from 'k6/options';
import { chainUrl, post, scenarioOf, summaryTrendStats, sweepBody, thresholdsOf, vusFor } from './common.ts';

const s = scenarioOf('sweep');
const url = chainUrl(s);
/** Seconds between one size's end and the next's start, for requests still in flight. */
const GAP_S = 5;

const bodies: Record<string, string> = {};
const scenarios: Record<string, Scenario> = {};
let thresholds: Record<string, string[]> = {};
s.payloadBytes.forEach((bytes, i) => {
  const name = `size_${bytes}`;
  bodies[name] = sweepBody(s, bytes);
  scenarios[name] = {
    executor: 'constant-arrival-rate',
    rate: s.rate,
    timeUnit: '1s',
    duration: `${s.durationS}s`,
    startTime: `${i * (s.durationS + GAP_S)}s`,
    gracefulStop: `${GAP_S}s`,
    tags: { size: String(bytes) },
    ...vusFor(s.rate, s.thresholds),
  };
  thresholds = { ...thresholds, ...thresholdsOf(s.thresholds, `{size:${bytes}}`) };
});

export const options: Options = { scenarios, thresholds, summaryTrendStats };

export default function (): void {
  const body = bodies[exec.scenario.name];
  if (body === undefined) throw new Error(`no body for scenario ${exec.scenario.name}`);
  post(url, body);
}
