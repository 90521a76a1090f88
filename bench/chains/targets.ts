/**
 * Issue #10's targets, evaluated on a summary for each ferry mode: each
 * with the numbers it was judged on and met true/false, or null when
 * something it needs did not run (a baseline not in this run, a chain not
 * in this checkout), saying what.
 */
import { PER_CPU_CHAINS } from './plan.js';
import type { SystemSummary } from './summary.js';
import { isFerry } from './systems/index.js';
import type { SystemName } from './system.js';

export interface TargetResult {
  id: string;
  /** The target as issue #10 states it. */
  target: string;
  system: SystemName;
  met: boolean | null;
  numbers: Record<string, number | null>;
  note?: string;
}

type Results = Partial<Record<SystemName, SystemSummary>>;
const BASELINES: readonly SystemName[] = ['http', 'knative', 'grpc'];

const r2 = (x: number) => Math.round(x * 100) / 100;

/** All of `checks` true: met; any false: not met; otherwise (something missing) null. */
function verdict(checks: (boolean | null)[]): boolean | null {
  if (checks.includes(false)) return false;
  if (checks.length === 0 || checks.includes(null)) return null;
  return true;
}

function perCpuTarget(results: Results, ferry: SystemName, baseline: SystemName, kib: 1 | 64, atLeast: number): TargetResult {
  const field = kib === 1 ? 'reqPerCpuSecond1KiB' : 'reqPerCpuSecond64KiB';
  const numbers: Record<string, number | null> = {};
  const checks: (boolean | null)[] = [];
  const missing: string[] = [];
  for (const chain of PER_CPU_CHAINS) {
    const f = results[ferry]?.chains[chain]?.[field] ?? null;
    const b = results[baseline]?.chains[chain]?.[field] ?? null;
    numbers[`${chain}.${ferry}`] = f;
    numbers[`${chain}.${baseline}`] = b;
    const x = f !== null && b !== null && b > 0 ? r2(f / b) : null;
    numbers[`${chain}.ratio`] = x;
    if (x === null) missing.push(`${chain} (${f === null ? ferry : baseline} not measured)`);
    checks.push(x === null ? null : x >= atLeast);
  }
  const t: TargetResult = {
    id: `req-per-cpu-${kib}kib-vs-${baseline}`,
    target: `>= ${atLeast}x ${baseline}'s requests per CPU-second at ${kib} KiB on ${PER_CPU_CHAINS.join(' and ')}`,
    system: ferry,
    met: verdict(checks),
    numbers,
  };
  if (missing.length > 0) t.note = `not measured: ${missing.join(', ')}`;
  return t;
}

/** p99 at equal offered load: the fixed-rate run of each chain and each sweep size. */
function p99Points(s: SystemSummary | undefined): Map<string, number> {
  const points = new Map<string, number>();
  if (!s) return points;
  for (const [chain, c] of Object.entries(s.chains)) if (c.p99Ms !== null && Number.isFinite(c.p99Ms)) points.set(`fixed.${chain}`, c.p99Ms);
  for (const p of s.sweep) if (Number.isFinite(p.p99Ms)) points.set(`sweep.${p.nominalBytes}B`, p.p99Ms);
  return points;
}

function p99LowerTarget(results: Results, ferry: SystemName): TargetResult {
  const f = p99Points(results[ferry]);
  const numbers: Record<string, number | null> = {};
  const checks: (boolean | null)[] = [];
  const present = BASELINES.filter((b) => results[b]);
  for (const b of present) {
    const o = p99Points(results[b]);
    for (const [k, fp] of f) {
      const op = o.get(k) ?? null;
      numbers[`${k}.${ferry}`] = fp;
      numbers[`${k}.${b}`] = op;
      checks.push(op === null ? null : fp < op);
    }
  }
  const missing = BASELINES.filter((b) => !results[b]);
  return {
    id: 'p99-lower-than-every-baseline',
    target: "at equal offered load (paced, half the slowest system's max) ferry's p99 is lower than every baseline's at every payload size",
    system: ferry,
    met: missing.length > 0 ? (checks.includes(false) ? false : null) : verdict(checks),
    numbers,
    ...(missing.length > 0 ? { note: `baselines not in this run: ${missing.join(', ')}` } : {}),
  };
}

function knativeP99Target(results: Results, ferry: SystemName): TargetResult {
  const f = p99Points(results[ferry]);
  const k = p99Points(results.knative);
  const numbers: Record<string, number | null> = {};
  const checks: (boolean | null)[] = [];
  for (const [key, fp] of f) {
    const kp = k.get(key) ?? null;
    const x = kp !== null && fp > 0 ? r2(kp / fp) : null;
    numbers[`${key}.lowerX`] = x;
    checks.push(x === null ? null : x >= 5);
  }
  return {
    id: 'p99-5x-lower-than-knative',
    target: "ferry's p99 >= 5x lower than knative's at equal offered load",
    system: ferry,
    met: results.knative ? verdict(checks) : null,
    numbers,
    ...(results.knative ? {} : { note: 'knative not in this run' }),
  };
}

function flatP99Target(results: Results, ferry: SystemName): TargetResult {
  const edge = (s: SystemSummary | undefined) => {
    const pts = [...(s?.sweep ?? [])].sort((a, b) => a.nominalBytes - b.nominalBytes);
    const small = pts.find((p) => p.nominalBytes === 64) ?? null;
    // Only a body that really was 1 MiB (not one cut to the chain's limit).
    const big = pts.find((p) => p.nominalBytes === 1048576 && p.bytes === 1048576) ?? null;
    return { small: small?.p99Ms ?? null, big: big?.p99Ms ?? null };
  };
  const f = edge(results[ferry]);
  const numbers: Record<string, number | null> = { [`${ferry}.p99At64B`]: f.small, [`${ferry}.p99At1MiB`]: f.big };
  const checks: (boolean | null)[] = [f.small !== null && f.big !== null ? f.big <= 1.5 * f.small : null];
  const present = BASELINES.filter((b) => results[b]);
  for (const b of present) {
    const e = edge(results[b]);
    numbers[`${b}.p99At64B`] = e.small;
    numbers[`${b}.p99At1MiB`] = e.big;
    checks.push(e.small !== null && e.big !== null ? e.big > e.small : null);
  }
  const notes: string[] = [];
  if (f.big === null) notes.push('no 1 MiB point (the sweep chain cannot take 1 MiB, or the sweep did not run)');
  if (present.length < BASELINES.length) notes.push(`baselines not in this run: ${BASELINES.filter((b) => !results[b]).join(', ')}`);
  return {
    id: 'p99-flat-with-payload',
    target: "ferry's p99 at 1 MiB within 1.5x of its p99 at 64 B, while the baselines' grow",
    system: ferry,
    met: present.length < BASELINES.length && !checks.includes(false) ? null : verdict(checks),
    numbers,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

function idleTarget(results: Results, ferry: SystemName): TargetResult {
  const s = results[ferry];
  const pct = s?.idlePercentOfCore ?? null;
  return {
    id: 'idle-below-1pct',
    target: 'ferry with 10 chains deployed uses < 1% of one core over 60 s',
    system: ferry,
    met: pct === null ? null : pct < 1,
    numbers: { percentOfCore: pct, chains: s?.idleChains ?? null },
  };
}

function adminTarget(ferry: SystemName): TargetResult {
  return {
    id: 'admin-getchain-2000-per-s',
    target: 'the gRPC admin API sustains >= 2,000 GetChain calls per second with p99 < 10 ms',
    system: ferry,
    met: null,
    numbers: {},
    note: 'not part of --suite chains: npm run bench -- --suite admin measures it',
  };
}

export function evaluateTargets(results: Results): TargetResult[] {
  const out: TargetResult[] = [];
  for (const ferry of (Object.keys(results) as SystemName[]).filter(isFerry)) {
    out.push(
      perCpuTarget(results, ferry, 'http', 1, 5),
      perCpuTarget(results, ferry, 'http', 64, 1.5),
      perCpuTarget(results, ferry, 'knative', 1, 10),
      p99LowerTarget(results, ferry),
      knativeP99Target(results, ferry),
      flatP99Target(results, ferry),
      idleTarget(results, ferry),
      adminTarget(ferry),
    );
  }
  return out;
}
