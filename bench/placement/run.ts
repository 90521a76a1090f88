/**
 * npm run bench:placement [-- --json] [--seed N] [--nodes N] [--iterations N] [--chains N] [--quick] [--out FILE]
 *
 * The control plane's scheduler (default configuration, control/controlplane/
 * placement) on a simulated cluster generated from a seed (cluster.ts says
 * how), in three parts:
 *   timing    one placement of a 6-stage chain on --nodes nodes (default
 *             1,000), p50/p99 in microseconds, default weights and with chain
 *             locality off, interleaved (target: p99 <= 1 ms)
 *   locality  --chains 6-stage chains placed one after another: hops that
 *             cross nodes per chain, with chain locality (default weights) and
 *             spreading (ChainLocality=0)
 *   fairness  three tenants (cpu-heavy and greedy, memory-heavy, balanced)
 *             fill an empty 60-node cluster: dominant shares, Jain's index,
 *             the headroom of the nodes each got; arrival order without the
 *             DRF score, arrival order with it, and DRF order with it
 * This times the scheduler itself, not the gRPC around an apply. Prints a
 * table (or --json: one JSON object) and writes bench/results/placement-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildScheduler, withWeights } from '../../control/controlplane/placement/config.js';
import { repoRoot } from '../../control/paths.js';
import { seeded } from '../lib/random.js';
import { generateNodes, NODE_GENERATOR, sixStageChain } from './cluster.js';
import { fillCluster, placeMany, TENANTS, timePlacements } from './scenarios.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    nodes: { type: 'string' },
    iterations: { type: 'string' },
    chains: { type: 'string' },
    out: { type: 'string' },
  },
  strict: true,
});

function count(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name}: a whole number 1..${max} (got ${text})`);
  return n;
}

const seed = count('seed', values.seed, 42, 2 ** 31);
const nodeCount = count('nodes', values.nodes, values.quick ? 200 : 1000, 100_000);
const iterations = count('iterations', values.iterations, values.quick ? 200 : 5000, 1_000_000);
const chains = count('chains', values.chains, values.quick ? 60 : 2000, 1_000_000);
const FAIRNESS_NODES = 60;
const PREFILL = 0.6;
const TARGET_P99_US = 1000;

const log = (msg: string) => process.stderr.write(`[bench:placement] ${msg}\n`);
const loadBefore = loadavg();
const cluster = () => generateNodes(seeded(seed), nodeCount, PREFILL);
const locality = buildScheduler();
const spreadOnly = buildScheduler(withWeights({ ChainLocality: 0 }));
const noFairness = buildScheduler(withWeights({ DominantResourceFairness: 0 }));

log(`timing: ${iterations} placements per variant on ${nodeCount} nodes (load ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`);
const chain = sixStageChain(seeded(seed + 7), 'timed', 't');
const timing = timePlacements({ default: locality, spread: spreadOnly }, cluster(), chain, iterations, Math.min(500, iterations));
log(`locality: ${chains} chains, chain locality vs spread`);
const links = placeMany({ locality, spread: spreadOnly }, cluster, seed, chains);
log(`fairness: ${TENANTS.map((t) => t.name).join(', ')} filling ${FAIRNESS_NODES} empty nodes`);
const fairCluster = () => generateNodes(seeded(seed + 3), FAIRNESS_NODES, 0);
const fairness = {
  arrival: fillCluster(noFairness, fairCluster(), 'arrival'),
  'arrival+drf-score': fillCluster(locality, fairCluster(), 'arrival'),
  drf: fillCluster(locality, fairCluster(), 'drf'),
};

const report = {
  bench: 'placement',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', loadavgBefore: loadBefore, loadavgAfter: loadavg() },
  seed,
  cluster: { nodes: nodeCount, prefill: PREFILL, generator: NODE_GENERATOR },
  timing: { what: 'Scheduler.place of a 6-stage chain, one instance per stage', iterations, targetP99Us: TARGET_P99_US, met: timing.default!.p99Us <= TARGET_P99_US, ...timing },
  locality: { chains, ...links },
  fairness: { nodes: FAIRNESS_NODES, tenants: TENANTS, ...fairness },
};

const file = values.out ?? join(repoRoot, `bench/results/placement-${report.at.replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');

if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
else {
  const out: string[] = [];
  out.push(`placement of a 6-stage chain on ${nodeCount} nodes (${iterations} each, interleaved):`);
  for (const [k, t] of Object.entries(timing))
    out.push(`  ${k.padEnd(8)} p50 ${t.p50Us} us  p99 ${t.p99Us} us  max ${t.maxUs} us  mean ${t.meanUs} us  (cpu p50 ${t.cpuP50Us} us, p99 ${t.cpuP99Us} us)`);
  out.push(`  target p99 <= ${TARGET_P99_US} us: ${report.timing.met ? 'met' : 'NOT met'} (load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${report.machine.loadavgAfter.map((l) => l.toFixed(2)).join(' ')} after, ${report.machine.cpus} cpus)`);
  out.push(`cross-node links per 6-stage chain (${chains} chains placed one after another):`);
  for (const [k, l] of Object.entries(links)) out.push(`  ${k.padEnd(8)} ${l.crossNodeLinksPerChain} of 5, ${Math.round(l.onOneNode * 100)}% on one node, ${l.chainsPlaced} placed`);
  out.push(`fairness, 3 tenants filling ${FAIRNESS_NODES} nodes (dominant share / chains / headroom of their nodes):`);
  for (const [k, f] of Object.entries(fairness))
    out.push(
      `  ${k.padEnd(18)} jain ${f.jainIndex}  min/max ${f.minOverMax}  ` +
        Object.entries(f.tenants)
          .map(([t, o]) => `${t} ${o.dominantShare}/${o.chains}/${o.nodeHeadroom}`)
          .join('  '),
    );
  out.push(`(written to ${file})`);
  process.stdout.write(out.join('\n') + '\n');
}
