/**
 * Closed-loop HTTP load with autocannon: `connections` keep-alive
 * connections, each sending its next request when the last one answered,
 * for `durationS`. Latency is taken from autocannon's per-response event
 * (sub-millisecond, every response) rather than its histogram (whole ms).
 */
import autocannon from 'autocannon';
import { summariseLatencies, type LatencySummary } from '../measure/latency.js';

export interface ClosedOptions {
  url: string;
  /** Request bodies, sent in turn on each connection. */
  bodies: readonly string[];
  connections: number;
  durationS: number;
}

export interface ClosedResult {
  connections: number;
  durationS: number;
  /** 2xx answers. */
  ok: number;
  /** Non-2xx answers, connection errors and timeouts. */
  failed: number;
  /** 2xx answers per second. */
  rps: number;
  latency: LatencySummary;
}

export async function closedLoop(o: ClosedOptions): Promise<ClosedResult> {
  const latencies: number[] = [];
  let done!: (r: autocannon.Result) => void;
  let fail!: (err: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => ((done = resolve), (fail = reject)));
  const options: autocannon.Options = {
    url: o.url,
    connections: o.connections,
    duration: o.durationS,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: o.bodies.map((body) => ({ method: 'POST', body })),
    timeout: 10,
  };
  // The callback form: it returns the instance, whose events carry each response.
  const instance = autocannon(options, (err, result) => (err ? fail(err instanceof Error ? err : new Error(String(err))) : done(result)));
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await finished;
  const ok = result['2xx'];
  return {
    connections: o.connections,
    durationS: o.durationS,
    ok,
    failed: result.non2xx + result.errors + result.timeouts,
    rps: Math.round((ok / (result.duration > 0 ? result.duration : o.durationS)) * 10) / 10,
    latency: summariseLatencies(latencies),
  };
}
