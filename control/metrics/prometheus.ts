/**
 * Prometheus exposition for ferry: metrics read on scrape from what ferryd
 * and the control plane already keep (cumulative counters and histograms),
 * through prom-client's registry and text format, on a listener of their
 * own (never the public gateway port).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { Logger } from '../log.js';
import { Histogram } from './histogram.js';

export type Labels = Record<string, string | number>;

export interface MetricSample {
  labels: Labels;
  value: number;
  /** For histogram series: name_bucket, name_sum, name_count. */
  metricName?: string;
}

/** Latency bucket bounds (seconds) of every ferry duration histogram. */
export const DURATION_BOUNDS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A metric whose samples are read when Prometheus scrapes, rather than
 * kept up to date on every event: ferry already counts everything it
 * exposes (BPF counters, pool headers, histograms), so a scrape is the only
 * time the exposition costs anything.
 */
export class SnapshotMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => MetricSample[] | Promise<MetricSample[]>,
  ) {}

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: await this.read() };
  }

  reset(): void {}
}

/** A ferry histogram as Prometheus buckets (cumulative, le in seconds):
 * a value counts below a bound when its whole bucket does, so a bound may
 * miss the one bucket that straddles it (under 12.5% of the bound). */
export function histogramSamples(name: string, labels: Labels, h: Histogram): MetricSample[] {
  const out: MetricSample[] = DURATION_BOUNDS_S.map((le) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: h.countBelow(le * 1e6) }));
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.total });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum / 1e6 });
  out.push({ metricName: `${name}_count`, labels, value: h.total });
  return out;
}

/** Samples summed per label set: one series from many sources. */
export class SumsBy {
  private readonly sums = new Map<string, MetricSample>();

  add(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    const got = this.sums.get(key);
    if (got) got.value += value;
    else this.sums.set(key, { labels, value });
  }

  samples(): MetricSample[] {
    return [...this.sums.values()];
  }
}

/** Histograms merged per label set, exposed as one Prometheus histogram each. */
export class HistogramsBy {
  private readonly merged = new Map<string, { labels: Labels; h: Histogram }>();

  constructor(private readonly name: string) {}

  /** The histogram of that label set, to merge into. */
  of(labels: Labels): Histogram {
    const key = JSON.stringify(labels);
    const got = this.merged.get(key);
    if (got) return got.h;
    const h = new Histogram();
    this.merged.set(key, { labels, h });
    return h;
  }

  samples(): MetricSample[] {
    return [...this.merged.values()].flatMap((e) => histogramSamples(this.name, e.labels, e.h));
  }
}

/** How often the event-loop lag probe fires. prom-client's default (10 ms)
 * is a timer that wakes the process 100 times a second, forever: most of
 * an idle daemon's wake-ups (bench:idle). Once a second, the lag is still
 * each probe's lateness; a stall that ends between two probes is missed
 * (the price of not waking an idle daemon). */
const EVENT_LOOP_PROBE_MS = 1000;

/** A registry with the process's own metrics (CPU, memory, event loop) and these. */
export function metricsRegistry(metrics: SnapshotMetric[], prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix, eventLoopMonitoringPrecision: EVENT_LOOP_PROBE_MS });
  for (const m of metrics) registry.registerMetric(m as unknown as Metric);
  return registry;
}

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

/** GET /metrics on host:port (port 0: any); anything else 404. */
export async function serveMetrics(address: string, registry: Registry, log: Logger): Promise<MetricsServer> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`metrics address "${address}" is not host:port`);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('ferry serves /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => {
        log.warn('metrics scrape failed', { error: err.message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
