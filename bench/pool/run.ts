/**
 * npm run bench:pool [-- --json] [--rounds N]
 *
 * What scrubbing freed buffers costs: the pool built three ways
 * (bench/pool/scrub.c: none, memset, punch), run interleaved on this machine
 * so they share its noise, each scenario's figure the median over runs.
 * Prints a table (or --json) of ns per alloc-write-free cycle and the cost
 * over not scrubbing, and writes bench/results/pool-scrub-<time>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../control/paths.js';

const VARIANTS = ['none', 'memset', 'punch'] as const;
type Variant = (typeof VARIANTS)[number];

interface Row {
  class: number;
  payload: number;
  nsPerCycle: number;
}

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds: 1..20');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples = new Map<string, number[]>(); // "variant/class/payload" -> ns
for (let r = 0; r < rounds; r++) {
  for (const v of VARIANTS) {
    process.stderr.write(`[bench:pool] round ${r + 1}/${rounds}: ${v}\n`);
    const out = execFileSync(join(repoRoot, `bench/out/scrub-${v}`), ['--rounds', '5', '--ms', '100'], { encoding: 'utf8' });
    for (const row of (JSON.parse(out) as { results: Row[] }).results) {
      const key = `${v}/${row.class}/${row.payload}`;
      samples.set(key, [...(samples.get(key) ?? []), row.nsPerCycle]);
    }
  }
}

const scenarios = [...new Set([...samples.keys()].map((k) => k.slice(k.indexOf('/') + 1)))];
const results = scenarios.map((sc) => {
  const [cls, payload] = sc.split('/').map(Number) as [number, number];
  const ns = Object.fromEntries(VARIANTS.map((v) => [v, median(samples.get(`${v}/${sc}`)!)])) as Record<Variant, number>;
  return {
    class: cls,
    payload,
    nsPerCycle: ns,
    memsetExtraNs: ns.memset - ns.none,
    memsetRatio: Math.round((ns.memset / ns.none) * 100) / 100,
    punchRatio: Math.round((ns.punch / ns.none) * 100) / 100,
  };
});
const report = { machine: { cpus: execFileSync('nproc', { encoding: 'utf8' }).trim() }, rounds, at: new Date().toISOString(), results };
mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
const file = join(repoRoot, `bench/results/pool-scrub-${report.at.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');

if (values.json) process.stdout.write(JSON.stringify(report) + '\n');
else {
  const size = (b: number) => (b >= 1 << 20 ? `${b / (1 << 20)} MiB` : `${Math.round(b / 1024)} KiB`);
  process.stdout.write('class     payload   none ns  memset ns  +ns      x     punch ns   x\n');
  for (const r of results)
    process.stdout.write(
      `${size(r.class).padEnd(9)} ${size(r.payload).padEnd(9)} ${String(r.nsPerCycle.none).padStart(7)}  ${String(r.nsPerCycle.memset).padStart(9)}  ${String(r.memsetExtraNs).padStart(6)}  ${r.memsetRatio.toFixed(2).padStart(5)}  ${String(r.nsPerCycle.punch).padStart(9)}  ${r.punchRatio.toFixed(1)}\n`,
    );
  process.stdout.write(`(written to ${file})\n`);
}
