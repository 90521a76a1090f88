/**
 * An open-loop HTTP client: request i is due at start + i / rate and sent
 * then (or at once, if the loop is behind), whatever is still waiting for
 * an answer, and its latency runs from when it was due, not from when it was
 * sent, so a server that falls behind cannot hide its queue by slowing the
 * client down (no coordinated omission). The rate may change over time
 * (steps: a step and a burst for bench:autoscale --live). Used by the
 * balance tests, bench:lb and bench:autoscale --live.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** A stretch of constant rate: `rate` requests a second for `durationMs`. */
export interface RateStep {
  rate: number;
  durationMs: number;
}

export type PacedOptions = PacedCommon & (RateStep | { steps: readonly RateStep[] });

interface PacedCommon {
  url: string;
  body?: (i: number) => string;
  headers?: (i: number) => Record<string, string>;
  /** Where the client connects from (a host's address on a test link). */
  localAddress?: string;
  /** Give up on one request after this long (counted as status 0). */
  timeoutMs?: number;
  /** Called with every answer. */
  onAnswer?: (status: number, body: string, latencyMs: number, i: number) => void;
}

export interface PacedResult {
  sent: number;
  statuses: Map<number, number>;
  /** Milliseconds from each request's due time to its answer, in send order. */
  latenciesMs: number[];
  /** Bodies of the first non-2xx answers. */
  errors: string[];
  /** Most the loop ever lagged behind a due time. */
  maxLagMs: number;
  /** Each request's due time, ms after the first was due, in send order. */
  dueMs: number[];
  /** Date.now() when the first request was due (to line answers up with events). */
  startEpochMs: number;
}

/** When each request is due, ms from the start: evenly spaced within each
 * step, a step's first request at its start. */
export function dueTimes(steps: readonly RateStep[]): number[] {
  const due: number[] = [];
  let at = 0;
  for (const s of steps) {
    const n = Math.round((s.rate * s.durationMs) / 1000);
    for (let k = 0; k < n; k++) due.push(at + (k * 1000) / s.rate);
    at += s.durationMs;
  }
  return due;
}

export function paced(o: PacedOptions): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const u = new URL(o.url);
  const dueMs = dueTimes('steps' in o ? o.steps : [{ rate: o.rate, durationMs: o.durationMs }]);
  if (dueMs.length === 0) dueMs.push(0);
  const total = dueMs.length;
  const latenciesMs = new Array<number>(total).fill(NaN);
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let answered = 0;
  let next = 0;
  let maxLagMs = 0;
  const start = performance.now() + 5;
  const startEpochMs = Date.now() + 5;
  return new Promise((resolve) => {
    const finish = (i: number, status: number, body: string, due: number) => {
      const ms = performance.now() - due;
      latenciesMs[i] = ms;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if ((status < 200 || status > 299) && errors.length < 20) errors.push(`${status} ${body.slice(0, 300)}`);
      o.onAnswer?.(status, body, ms, i);
      if (++answered === total) {
        agent.destroy();
        resolve({ sent: total, statuses, latenciesMs, errors, maxLagMs, dueMs, startEpochMs });
      }
    };
    const send = (i: number, due: number) => {
      const body = o.body?.(i) ?? '{}';
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: 'POST',
          agent,
          localAddress: o.localAddress,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...o.headers?.(i) },
          timeout: o.timeoutMs ?? 30_000,
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => finish(i, res.statusCode ?? 0, Buffer.concat(parts).toString(), due));
          res.on('error', (err) => finish(i, 0, err.message, due));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => finish(i, 0, err.message, due));
      req.end(body);
    };
    const loop = () => {
      const now = performance.now();
      while (next < total) {
        const due = start + dueMs[next]!;
        if (due > now) break;
        maxLagMs = Math.max(maxLagMs, now - due);
        send(next++, due);
      }
      if (next < total) setTimeout(loop, Math.max(0, start + dueMs[next]! - performance.now()));
    };
    setTimeout(loop, 5);
  });
}

/** Nearest-rank percentile (p in 0..1) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  return percentiles(values, [p])[0]!;
}

/** Nearest-rank percentiles (each p in 0..1) of unsorted values, sorting
 * once; non-finite values (unanswered requests) are left out, NaN when
 * nothing is left. */
export function percentiles(values: readonly number[], ps: readonly number[]): number[] {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return ps.map((p) => (v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]!));
}
