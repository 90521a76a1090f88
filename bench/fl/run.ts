/**
 * npm run bench:fl -- [--json] [--quick] [--systems ferry,grpc] [--clients 10,50,100]
 *   [--models 1MB,47MB,digits] [--nodes 1,2] [--rounds N] [--accuracy-rounds N] [--fan-in F] [--out DIR]
 *
 * Issue #11's benchmark: ferry's AggregationJobs against the gRPC baseline
 * aggregator (bench/fl/baseline), one system up at a time, on the same
 * synthetic clients: per system x clients x model x nodes, aggregation and
 * round time, peak aggregator memory and bytes copied, medians over rounds;
 * a 20%-stragglers round against its deadline; time-to-accuracy on digits.
 * Writes summary.json, raw.json and report.md under bench/results/fl-<UTC
 * time>/ (or --out); stdout gets the summary (one JSON object with --json),
 * progress goes to stderr.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../control/paths.js';
import { runAccuracy } from './accuracy.js';
import { foldKernel } from './baseline/fold.js';
import { measureConfig, sharedTensor, type ConfigMeasure } from './measure.js';
import { parseModel } from './models.js';
import { parseOptions } from './options.js';
import { judge, reportMarkdown, summarize, type AccuracyRun, type StragglerRun } from './report.js';
import type { FlSystem, JobSpec, RunningFlSystem } from './system.js';
import { ferrySystem } from './systems/ferry.js';
import { grpcSystem } from './systems/grpc.js';

const SYSTEMS: Record<string, FlSystem> = { ferry: ferrySystem, grpc: grpcSystem };
/** The stragglers check: 10 clients (5 with --quick), 20% never send, quorum the rest. */
const STRAGGLER_DEADLINE_MS = 1000;

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const log = (m: string) => process.stderr.write(`[bench:fl ${((performance.now() - started) / 1000).toFixed(0)}s] ${m}\n`);
  const out = o.out ?? join(repoRoot, 'bench/results', `fl-${startedAt.replace(/:/g, '-').replace(/\..*/, 'Z')}`);
  const work = mkdtempSync(join(tmpdir(), 'flb-'));
  log(`work dir ${work}; fold kernel ${foldKernel}`);

  let current: RunningFlSystem | undefined;
  /** The system over two nodes (--nodes 2), brought up at its first such configuration. */
  let twoNodes: RunningFlSystem | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    stopping = true;
    log(`${signal}: taking the system down`);
    void Promise.allSettled([current?.down(), twoNodes?.down()]).finally(() => {
      rmSync(work, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const measures: ConfigMeasure[] = [];
  const stragglers: StragglerRun[] = [];
  const accuracy: AccuracyRun[] = [];
  const skipped: string[] = [];
  const how: string[] = [];
  const tensors = new Map<number, Float32Array>();
  const tensorOf = (n: number) => tensors.get(n) ?? tensors.set(n, sharedTensor(n)).get(n)!;
  const configs = o.nodes.flatMap((nodes) => o.models.flatMap((model) => o.clients.map((clients) => ({ nodes, model, clients }))));
  let jobs = 0;
  const jobName = (what: string) => `flb-${jobs++}-${what}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');

  try {
    for (const [si, name] of o.systems.entries()) {
      const system = SYSTEMS[name]!;
      const sysWork = join(work, name);
      mkdirSync(sysWork, { recursive: true });
      const sysOpts = { portBase: o.portBase + si * 100, workDir: sysWork, log };
      log(`${name}: up`);
      try {
        current = await system.up(sysOpts);
      } catch (err) {
        skipped.push(`${name}: could not come up: ${(err as Error).message.split('\n')[0]}`);
        log(skipped.at(-1)!);
        continue;
      }
      for (const [ci, c] of configs.entries()) {
        // Interrupted: the signal handler is taking the system down; start nothing new.
        if (stopping) await new Promise(() => undefined);
        if (c.nodes === 2 && !system.upTwoNodes) {
          skipped.push(`${name} ${c.clients} x ${c.model.name} on 2 nodes: ${name} has no two-node mode here`);
          continue;
        }
        log(`${name}: ${c.clients} clients x ${c.model.name}, ${o.rounds} rounds (${ci + 1}/${configs.length})`);
        const spec: JobSpec = {
          name: jobName(`${c.model.name}-${c.clients}`),
          paramCount: c.model.paramCount,
          layers: c.model.layers,
          seed: 1,
          rounds: o.rounds,
          clients: c.clients,
          quorum: c.clients,
          roundDeadlineMs: 120_000,
          weighting: 'num-examples',
          fanIn: o.fanIn,
        };
        try {
          if (c.nodes === 2) twoNodes ??= await system.upTwoNodes!(sysOpts);
          measures.push(await measureConfig(c.nodes === 2 ? twoNodes! : current, spec, { model: c.model.name, nodes: c.nodes, tensor: tensorOf(c.model.paramCount), log }));
        } catch (err) {
          skipped.push(`${name} ${c.clients} x ${c.model.name}: ${(err as Error).message.split('\n')[0]}`);
          log(`skipped: ${skipped.at(-1)}`);
        }
      }
      // A round with 20% stragglers must close at its deadline (not wait for them).
      const clients = o.quick ? 5 : 10;
      const active = Math.round(clients * 0.8);
      const model = parseModel('1MB');
      log(`${name}: stragglers: ${clients} clients, ${clients - active} never send, deadline ${STRAGGLER_DEADLINE_MS} ms`);
      try {
        const m = await measureConfig(
          current,
          { name: jobName('stragglers'), paramCount: model.paramCount, layers: [], seed: 1, rounds: 2, clients, quorum: active, roundDeadlineMs: STRAGGLER_DEADLINE_MS, weighting: 'num-examples', fanIn: o.fanIn },
          { model: model.name, nodes: 1, tensor: tensorOf(model.paramCount), log, active },
        );
        stragglers.push({ system: name, roundDeadlineMs: STRAGGLER_DEADLINE_MS, roundMs: m.rounds.map((r) => r.roundMs) });
      } catch (err) {
        skipped.push(`${name} stragglers: ${(err as Error).message.split('\n')[0]}`);
      }
      if (o.accuracyRounds > 0) {
        try {
          const a = await runAccuracy(current, { name, rounds: o.accuracyRounds, jobName: jobName('digits-accuracy'), log });
          accuracy.push(a);
        } catch (err) {
          skipped.push(`${name} accuracy: ${(err as Error).message.split('\n')[0]}`);
          log(`skipped: ${skipped.at(-1)}`);
        }
      }
      how.push(`${name}: ${current.describe()}`);
      if (twoNodes) how.push(`${name} on 2 nodes: ${twoNodes.describe()}`);
      log(`${name}: down`);
      await current.down();
      current = undefined;
      await twoNodes?.down();
      twoNodes = undefined;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await current?.down();
    await twoNodes?.down();
    rmSync(work, { recursive: true, force: true });
  }

  const summary = summarize(measures, accuracy);
  const targets = judge(summary, measures, accuracy, stragglers);
  mkdirSync(out, { recursive: true });
  const command = `npm run bench:fl -- ${process.argv.slice(2).join(' ')}`.trim();
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(out, 'raw.json'), `${JSON.stringify({ startedAt, command, how, foldKernel, measures, stragglers, accuracy, targets, skipped }, null, 2)}\n`);
  writeFileSync(join(out, 'report.md'), reportMarkdown({ how, summary, measures, accuracy, stragglers, targets, skipped, command, foldKernel, startedAt, seconds: (performance.now() - started) / 1000 }));
  log(`wrote ${out}/{summary.json,raw.json,report.md}`);
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    for (const r of summary.results) process.stdout.write(`${r.system.padEnd(6)} ${String(r.clients).padStart(4)} clients ${(r.modelBytes / 1e6).toFixed(2).padStart(7)} MB x${r.nodes}: aggregation ${r.aggregationMs.toFixed(1)} ms, round ${r.roundMs.toFixed(0)} ms, peak ${(r.peakAggregatorRssBytes / 1e6).toFixed(1)} MB, copied ${(r.bytesCopied / 1e6).toFixed(1)} MB/round\n`);
    for (const t of targets) process.stdout.write(`target ${t.id}: ${t.met === null ? 'not judged' : t.met ? 'met' : 'MISSED'}: ${t.detail}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench:fl: ${err.message}\n`);
    process.exit(1);
  },
);
