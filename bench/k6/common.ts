/**
 * What the k6 scripts share: reading a scenario (bench/scenarios/*.json) and
 * its chain's sample requests at init, posting to the gateway, and the k6
 * thresholds a scenario asks for. Runs under k6 (k6 run bench/k6/steady.ts),
 * never under Node: k6 is AGPL and not part of ferry; these files are only
 * type-checked here (bench/k6/tsconfig.json, @types/k6).
 *
 * Scenario files are checked by bench/scenarios/load.ts in ferry's tests;
 * a script checks only that it was given the kind it drives.
 */
import { check } from 'k6';
import http from 'k6/http';
import { paddedBody, type HttpScenario, type Thresholds } from '../scenarios/scenario.ts';

/** The gateway, without a trailing slash. */
export const FERRY_URL = (__ENV['FERRY_URL'] ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');

/** A path from the command line or a scenario: absolute as is, otherwise
 * relative to the checkout (two folders above this file), whatever folder
 * k6 was started in. open() takes the file: URL import.meta.resolve gives. */
export function repoFile(path: string): string {
  return path.startsWith('/') ? path : import.meta.resolve(`../../${path}`);
}

/** The scenario named by -e SCENARIO=..., which must be of `kind`. Call at init. */
export function scenarioOf<K extends HttpScenario['kind']>(kind: K): Extract<HttpScenario, { kind: K }> {
  const path = __ENV['SCENARIO'];
  if (!path) throw new Error(`set SCENARIO: k6 run -e SCENARIO=bench/scenarios/${kind}.json bench/k6/${kind}.ts`);
  const s = JSON.parse(open(repoFile(path))) as HttpScenario;
  if (s.kind !== kind) throw new Error(`${path} is a ${String(s.kind)} scenario: run it with bench/k6/${String(s.kind)}.ts, not ${kind}.ts`);
  return s as Extract<HttpScenario, { kind: K }>;
}

/** The texts of the scenario's sample requests (chains/<chain>/requests/). Call at init. */
export function sampleBodies(s: HttpScenario): string[] {
  return s.requests.map((r) => open(repoFile(`chains/${s.chain}/requests/${r}`)));
}

/** The scenario's single sample request padded to `bytes` (sweep). */
export function sweepBody(s: HttpScenario, bytes: number): string {
  const [text] = sampleBodies(s);
  if (text === undefined) throw new Error(`${s.name}: a sweep needs one sample request`);
  return paddedBody(JSON.parse(text) as Record<string, unknown>, bytes);
}

/** Where the chain is served: POST /chains/NAME. */
export function chainUrl(s: HttpScenario): string {
  return `${FERRY_URL}/chains/${encodeURIComponent(s.chain)}`;
}

/** The i-th of `items`, cycling. */
export function nth<T>(items: readonly T[], i: number): T {
  const item = items[i % items.length];
  if (item === undefined) throw new Error('nothing to send');
  return item;
}

/** One request; counts as failed (http_req_failed) unless it is a 2xx or 3xx,
 * and checked to be a 200. */
export function post(url: string, body: string, tags: Record<string, string> = {}): void {
  const res = http.post(url, body, { headers: { 'content-type': 'application/json' }, tags });
  check(res, { 'status is 200': (r) => r.status === 200 });
}

/** k6 thresholds from the scenario's: p99 latency and failed-request rate,
 * over every request or (`tag` like `{size:1024}`) over one tagged part. */
export function thresholdsOf(t: Thresholds, tag = ''): Record<string, string[]> {
  return {
    [`http_req_duration${tag}`]: [`p(99)<${t.p99Ms}`],
    [`http_req_failed${tag}`]: [`rate<=${t.maxErrorRate}`],
  };
}

/** VUs an arrival-rate executor needs for `rate` per second when replies
 * take up to the p99 bound: twice Little's law, at least 10, and up to ten
 * times that before k6 reports dropped iterations. */
export function vusFor(rate: number, t: Thresholds): { preAllocatedVUs: number; maxVUs: number } {
  const preAllocatedVUs = Math.max(10, Math.ceil((2 * rate * t.p99Ms) / 1000));
  return { preAllocatedVUs, maxVUs: preAllocatedVUs * 10 };
}

/** Percentiles in the end-of-test summary: p(99) is what thresholds are set on. */
export const summaryTrendStats = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];
