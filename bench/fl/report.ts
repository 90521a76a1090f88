/**
 * bench:fl's outputs: the summary (the issue's fixed JSON shape: one row
 * per system x clients x model x nodes, medians over rounds), the targets
 * judged from one run's ratios, and report.md with percentiles over rounds.
 */
import { cpus, totalmem } from 'node:os';
import { HEADER_SIZE } from '../../control/fl/wire.js';
import { spread, type ConfigMeasure } from './measure.js';
import type { FlSystemName } from './system.js';

export interface FlResult {
  system: FlSystemName;
  clients: number;
  modelBytes: number;
  nodes: number;
  aggregationMs: number;
  roundMs: number;
  peakAggregatorRssBytes: number;
  bytesCopied: number;
}

export interface AccuracyRun {
  system: FlSystemName;
  rounds: number;
  /** Test accuracy after each round. */
  perRound: number[];
  /** Seconds from the job's start to the end of each round. */
  seconds: number[];
}

export interface FlSummary {
  results: FlResult[];
  accuracy: { ferry: number | null; grpc: number | null; rounds: number };
}

export interface StragglerRun {
  system: FlSystemName;
  roundDeadlineMs: number;
  roundMs: number[];
}

export interface Target {
  id: string;
  text: string;
  met: boolean | null;
  detail: string;
}

export const ACCURACY_GOAL = 0.9;

/** Medians over a configuration's rounds: one row of the summary. */
export function resultOf(m: ConfigMeasure): FlResult {
  return {
    system: m.system,
    clients: m.clients,
    modelBytes: m.modelBytes,
    nodes: m.nodes,
    aggregationMs: spread(m.rounds.map((r) => r.aggregationMs)).p50,
    roundMs: spread(m.rounds.map((r) => r.roundMs)).p50,
    peakAggregatorRssBytes: m.peakAggregatorRssBytes,
    bytesCopied: spread(m.rounds.map((r) => r.bytesCopied)).p50,
  };
}

export function summarize(measures: ConfigMeasure[], accuracy: AccuracyRun[]): FlSummary {
  const final = (s: FlSystemName) => accuracy.find((a) => a.system === s)?.perRound.at(-1) ?? null;
  return { results: measures.map(resultOf), accuracy: { ferry: final('ferry'), grpc: final('grpc'), rounds: accuracy[0]?.rounds ?? 0 } };
}

/** First round (1-based) and seconds at which accuracy reached the goal. */
export function timeToAccuracy(a: AccuracyRun): { rounds: number; seconds: number } | undefined {
  const i = a.perRound.findIndex((x) => x >= ACCURACY_GOAL);
  return i < 0 ? undefined : { rounds: i + 1, seconds: a.seconds[i]! };
}

const find = (rs: FlResult[], s: FlSystemName, clients: number, modelBytes: number, nodes = 1) =>
  rs.find((r) => r.system === s && r.clients === clients && r.modelBytes === modelBytes && r.nodes === nodes);

export function judge(summary: FlSummary, measures: ConfigMeasure[], accuracy: AccuracyRun[], stragglers: StragglerRun[]): Target[] {
  const rs = summary.results;
  const targets: Target[] = [];
  const big = 4 * 11_689_512;
  const f = find(rs, 'ferry', 50, big);
  const g = find(rs, 'grpc', 50, big);
  targets.push({
    id: 'aggregation-3x',
    text: 'aggregation >= 3x faster than the gRPC aggregator at 47 MB x 50 clients (one node)',
    met: f && g ? g.aggregationMs / f.aggregationMs >= 3 : null,
    detail: f && g ? `grpc ${g.aggregationMs.toFixed(1)} ms / ferry ${f.aggregationMs.toFixed(1)} ms = ${(g.aggregationMs / f.aggregationMs).toFixed(2)}x` : 'not measured: the run had no 47MB x 50 clients configuration for both systems',
  });
  // Judged per aggregator (the issue's O(1) models per aggregator) at the
  // largest model run: at KB-sized models a process's own runtime (~1.6 MB
  // for a native runner) is most of it, whatever the architecture.
  const largest = Math.max(0, ...measures.filter((m) => m.system === 'ferry').map((m) => m.modelBytes));
  const ferryBig = measures.filter((m) => m.system === 'ferry' && m.modelBytes === largest);
  const perAgg = (m: ConfigMeasure) => m.memoryParts['perAggregatorMax'] ?? m.peakAggregatorRssBytes;
  targets.push({
    id: 'memory-2x',
    text: 'peak aggregator memory <= 2x model size whatever the client count',
    met: ferryBig.length > 0 ? ferryBig.every((m) => perAgg(m) <= 2 * m.modelBytes) : null,
    detail:
      ferryBig.length > 0
        ? `per aggregator at ${mb(largest)}: ` +
          ferryBig.map((m) => `ferry ${m.clients} clients ${(perAgg(m) / m.modelBytes).toFixed(2)}x (the job's whole pool and aggregators ${(m.peakAggregatorRssBytes / m.modelBytes).toFixed(1)}x)`).join(', ') +
          '; ' +
          measures.filter((m) => m.system === 'grpc' && m.modelBytes === largest).map((m) => `grpc ${m.clients} clients ${(m.peakAggregatorRssBytes / m.modelBytes).toFixed(1)}x`).join(', ')
        : 'not measured: ferry ran no configuration',
  });
  const fa = accuracy.find((a) => a.system === 'ferry');
  const ga = accuracy.find((a) => a.system === 'grpc');
  const ft = fa && timeToAccuracy(fa);
  const gt = ga && timeToAccuracy(ga);
  targets.push({
    id: 'time-to-accuracy',
    text: `time-to-accuracy (${ACCURACY_GOAL}) on digits no worse than the baseline's`,
    met: fa && ga ? (ft !== undefined && (gt === undefined || ft.rounds <= gt.rounds)) : null,
    detail: fa && ga ? `ferry ${ft ? `${ft.rounds} rounds, ${ft.seconds.toFixed(1)} s` : 'never'}; grpc ${gt ? `${gt.rounds} rounds, ${gt.seconds.toFixed(1)} s` : 'never'} (rounds judged: seconds depend on the shared machine)` : 'not measured: the accuracy run did not run for both systems',
  });
  const fs = stragglers.find((s) => s.system === 'ferry');
  targets.push({
    id: 'stragglers-deadline',
    text: 'a round with 20% stragglers closes within deadline + 50 ms',
    met: fs ? Math.max(...fs.roundMs) <= fs.roundDeadlineMs + 50 : null,
    detail: stragglers.map((s) => `${s.system}: rounds of ${s.roundMs.map((x) => x.toFixed(0)).join(', ')} ms against a ${s.roundDeadlineMs} ms deadline`).join('; ') || 'not measured',
  });
  return targets;
}

const mb = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} KB`);
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');

export interface ReportInput {
  /** How each system ran. */
  how: string[];
  summary: FlSummary;
  measures: ConfigMeasure[];
  accuracy: AccuracyRun[];
  stragglers: StragglerRun[];
  targets: Target[];
  skipped: string[];
  command: string;
  foldKernel: string;
  startedAt: string;
  seconds: number;
}

export function reportMarkdown(r: ReportInput): string {
  const out: string[] = [];
  out.push(`# bench:fl, ${r.startedAt}`, '');
  out.push('## Machine', '', `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}. The machine may be shared: compare the systems within this run (ratios), not absolute times across runs.`, '');
  out.push('## What ran', '', `\`${r.command}\` (${(r.seconds / 60).toFixed(1)} min). Fold kernel of the baseline: ${r.foldKernel}.`, '', ...r.how.map((h) => `- ${h}`), '');
  out.push('Per configuration, one job, rounds run with every client concurrently: fetch round R\'s model, upload a delta (one shared tensor; each client its own 64-byte header). aggregationMs and roundMs are the systems\' own timers (last update in -> model sealed; opened -> sealed); "client round" is seen from outside (first fetch -> next model fetched). Memory: see bench/README.md, "Federated learning".', '');
  if (r.skipped.length > 0) out.push('Skipped:', '', ...r.skipped.map((s) => `- ${s}`), '');
  out.push('## Results', '');
  out.push('| system | clients | model | nodes | aggregation ms p50 / p90 / max | round ms p50 / p90 / max | client round ms p50 | peak aggregator memory (x model) | bytes copied per round (x uploads) |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const m of r.measures) {
    const a = spread(m.rounds.map((x) => x.aggregationMs));
    const rd = spread(m.rounds.map((x) => x.roundMs));
    const c = spread(m.rounds.map((x) => x.clientRoundMs));
    const copied = spread(m.rounds.map((x) => x.bytesCopied)).p50;
    const uploads = m.clients * (HEADER_SIZE + m.modelBytes);
    out.push(
      `| ${m.system} | ${m.clients} | ${m.model} (${mb(m.modelBytes)}) | ${m.nodes} | ${ms(a.p50)} / ${ms(a.p90)} / ${ms(a.max)} | ${ms(rd.p50)} / ${ms(rd.p90)} / ${ms(rd.max)} | ${ms(c.p50)} | ${mb(m.peakAggregatorRssBytes)} (${ratio(m.peakAggregatorRssBytes, m.modelBytes)}) | ${mb(copied)} (${ratio(copied, uploads)})${m.bytesCopiedSource === 'design' ? ' computed' : ''} |`,
    );
  }
  out.push('');
  out.push('### Ratios (grpc / ferry, same configuration)', '');
  out.push('| clients | model | nodes | aggregation | round | peak memory | bytes copied |', '|---|---|---|---|---|---|---|');
  for (const f of r.summary.results.filter((x) => x.system === 'ferry')) {
    const g = find(r.summary.results, 'grpc', f.clients, f.modelBytes, f.nodes);
    if (!g) continue;
    out.push(`| ${f.clients} | ${mb(f.modelBytes)} | ${f.nodes} | ${ratio(g.aggregationMs, f.aggregationMs)} | ${ratio(g.roundMs, f.roundMs)} | ${ratio(g.peakAggregatorRssBytes, f.peakAggregatorRssBytes)} | ${ratio(g.bytesCopied, f.bytesCopied)} |`);
  }
  out.push('');
  const parts = r.measures.filter((m) => Object.keys(m.memoryParts).length > 1);
  if (parts.length > 0) {
    out.push('### What the memory figures count', '');
    for (const m of parts) out.push(`- ${m.system} ${m.clients} x ${m.model}: ${Object.entries(m.memoryParts).map(([k, v]) => `${k} ${mb(v)}`).join(', ')}`);
    out.push('');
  }
  const errs = r.measures.filter((m) => m.errors.length > 0 || Object.keys(m.rejected).length > 0);
  if (errs.length > 0) {
    out.push('### Refusals and errors', '');
    for (const m of errs) out.push(`- ${m.system} ${m.clients} x ${m.model}: rejected ${JSON.stringify(m.rejected)}; ${m.errors.length} client errors${m.errors[0] ? ` (first: ${m.errors[0]})` : ''}`);
    out.push('');
  }
  out.push('## Time to accuracy (digits MLP, IID, 20 clients)', '');
  if (r.accuracy.length === 0) out.push('Not run.', '');
  for (const a of r.accuracy) {
    const t = timeToAccuracy(a);
    out.push(`- ${a.system}: final ${a.perRound.at(-1)?.toFixed(4) ?? 'n/a'} after ${a.rounds} rounds; reached ${ACCURACY_GOAL} ${t ? `at round ${t.rounds} (${t.seconds.toFixed(1)} s)` : 'never'}. Per round: ${a.perRound.map((x) => x.toFixed(3)).join(' ')}`);
  }
  out.push('');
  out.push('## Targets (issue #11)', '');
  out.push('| target | met | detail |', '|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.text} | ${t.met === null ? 'not judged' : t.met ? 'yes' : 'NO'} | ${t.detail} |`);
  out.push('');
  return out.join('\n');
}
