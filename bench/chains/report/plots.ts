/** The suite's plots, one SVG file each, from the raw runs. */
import { linePlot } from '../../lib/svg-plot.js';
import type { ChainSuiteRaw } from '../suite.js';

export interface Plot {
  file: string;
  title: string;
  svg: string;
}

const bytesLabel = (b: number) => (b >= 1048576 ? `${+(b / 1048576).toPrecision(3)} MiB` : b >= 1024 ? `${+(b / 1024).toPrecision(3)} KiB` : `${b} B`);

export function suitePlots(raw: ChainSuiteRaw): Plot[] {
  const plots: Plot[] = [];
  for (const chain of raw.chains) {
    const rate = raw.equalLoad.fixed[chain]?.rate;
    const title = `${chain}: latency CDF at ${rate}/s (paced, equal for all systems)`;
    plots.push({
      file: `latency-cdf-${chain}.svg`,
      title,
      svg: linePlot({
        title,
        xLabel: 'latency from due time (ms, log)',
        yLabel: 'fraction of requests',
        xLog: true,
        series: raw.runs.map((r) => ({ name: r.system, points: (r.fixed.find((f) => f.chain === chain)?.result.latency.cdf ?? []).map(([q, ms]) => [ms, q] as const) })),
      }),
    });
    const tTitle = `${chain}: throughput vs offered load (closed loop)`;
    plots.push({
      file: `throughput-${chain}.svg`,
      title: tTitle,
      svg: linePlot({
        title: tTitle,
        xLabel: 'connections (closed loop, log)',
        yLabel: 'requests per second (2xx)',
        xLog: true,
        series: raw.runs.map((r) => ({ name: r.system, points: (r.max.find((m) => m.chain === chain)?.levels ?? []).map((l) => [l.connections, l.rps] as const) })),
      }),
    });
  }
  const sweep = raw.equalLoad.sweep;
  if (sweep) {
    const title = `${sweep.chain}: p99 vs payload size at ${sweep.rate}/s (paced)`;
    plots.push({
      file: 'p99-vs-payload.svg',
      title,
      svg: linePlot({
        title,
        xLabel: 'request body (log)',
        yLabel: 'p99 latency (ms, log)',
        xLog: true,
        yLog: true,
        xTickLabel: bytesLabel,
        series: raw.runs.map((r) => ({ name: r.system, points: r.sweep.map((s) => [s.bytes, s.result.latency.p99Ms] as const) })),
      }),
    });
  }
  return plots;
}
