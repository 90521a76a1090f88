/**
 * bench:autoscale: the autoscaling policies compared on a virtual clock
 * (simulation mode: the real policy code, a discrete-event simulation of
 * the instances), or, with --measure, the measurements the simulation
 * draws from, taken on a real ferryd, or, with --live, the policies on a
 * real control plane and ferryd under real load (live/). See README.md.
 */
import { loadavg } from 'node:os';
import { relative } from 'node:path';
import { compileChainFile } from '../../control/chain/validate.js';
import { policies } from '../../control/controlplane/autoscale/registry.js';
import { repoRoot } from '../../control/paths.js';
import { sampleRequests } from '../../chains/samples.js';
import { measureChain } from './measure/measure.js';
import { runLive } from './live/live.js';
import { parseOptions } from './options.js';
import { loadProfile, profilePath } from './profile.js';
import { liveTable, table } from './report.js';
import { simulate, type SimResult } from './sim/simulate.js';
import { loadTraceCsv, syntheticTraces } from './traces.js';

/** The SLO a chain without one is measured against (said in the output). */
const ASSUMED_SLO_MS = 50;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const log = (m: string) => process.stderr.write(`[bench:autoscale] ${m}\n`);
  if (opts.live) {
    const names = opts.policies ?? ['kpa', 'slo'];
    for (const n of names) if (!policies.get(n)) throw new Error(`unknown policy "${n}" (have: ${policies.names().join(', ')})`);
    const out = await runLive(opts.live, names, opts.out, log);
    process.stdout.write(opts.json ? JSON.stringify(out) + '\n' : liveTable(out));
    return;
  }
  const [ir] = compileChainFile(opts.chain);
  if (!ir) throw new Error(`${opts.chain} defines no chain`);
  if (opts.measure) {
    const profile = await measureChain(ir, { file: opts.chain, samples: sampleRequests(opts.chain), perPoint: opts.samples, gapMs: opts.gapMs, coldStartRounds: opts.coldStarts, out: opts.out, log });
    process.stdout.write(JSON.stringify({ measured: profile.chain, host: profile.host }) + '\n');
    return;
  }
  const sloAssumed = ir.slo === undefined;
  const slo = ir.slo ?? { p99Ms: ASSUMED_SLO_MS };
  const chain = { ...ir, slo };
  const profileFile = opts.profile ?? profilePath(ir.name);
  const profile = loadProfile(ir.name, profileFile);
  // manual decides nothing: comparing it would only show a fixed count.
  const names = opts.policies ?? policies.names().filter((n) => n !== 'manual');
  for (const n of names) if (!policies.get(n)) throw new Error(`unknown policy "${n}" (have: ${policies.names().join(', ')})`);
  const traces = opts.traces.length > 0 ? opts.traces.map(loadTraceCsv) : syntheticTraces(opts.durationS, opts.seed, opts.rateScale);
  const results: (SimResult & { wallMs: number })[] = [];
  const t0 = Date.now();
  for (const trace of traces) {
    for (const name of names) {
      const started = Date.now();
      // Each policy gets its defaults: the comparison is of the policies as shipped.
      const r = simulate({ ir: chain, profile, trace, policy: policies.create(chain, { name, params: {} }), seed: opts.seed });
      results.push({ ...r, wallMs: Date.now() - started });
      log(`${trace.name} ${name}: ${r.sloViolationSeconds} violation s, p99 ${r.p99Ms} ms, ${r.instanceSeconds} instance-s, ${r.coldStarts} cold starts (${Date.now() - started} ms)`);
    }
  }
  const out = {
    mode: 'simulation',
    chain: { name: ir.name, file: relative(repoRoot, opts.chain), sloP99Ms: slo.p99Ms, sloAssumed, stages: ir.stages.map((s) => ({ name: s.name, runtime: s.runtime, cpuMilli: s.resources.cpuMilli, min: s.scale.min, max: s.scale.max })) },
    profile: { file: relative(repoRoot, profileFile), measuredAt: profile.measuredAt, host: profile.host },
    seed: opts.seed,
    rateScale: opts.rateScale,
    traces: traces.map((t) => ({ name: t.name, seconds: t.counts.length, requests: t.counts.reduce((a, b) => a + b, 0), peakPerSec: Math.max(...t.counts) })),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    wallMs: Date.now() - t0,
    results,
  };
  process.stdout.write(opts.json ? JSON.stringify(out) + '\n' : table(out.results, out.chain.sloP99Ms, sloAssumed));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
