/** Ratios, target checks and the human-readable table. */
import type { FloorResult } from './floor.js';
import type { IdleResult } from './idle.js';
import type { MachineInfo } from './machine.js';
import type { Runtime, Transport } from './options.js';
import type { HopResult } from './stats.js';

export interface Ratios {
  /** p50 at the largest payload / p50 at the smallest, per transport/runtime:
   * ~1 when only a descriptor moves, growing when the bytes are copied. */
  sizeScaling: { fromBytes: number; toBytes: number; byPair: Record<string, number | null> };
  /** Baseline p50 / ferry p50 at each payload size, same runtime. */
  baselineOverFerry: Record<string, Record<string, number | null>>;
}

export interface Target {
  name: string;
  target: string;
  measured: number | null;
  met: boolean | null;
}

/** What every latency in the report means. */
export const HOP_DEFINITION =
  'one-way latency: the pinger times each round trip (pinger -> echo -> pinger, back to back, ' +
  'CLOCK_MONOTONIC / process.hrtime) and halves it; p50us and p99us are percentiles of those halves; ' +
  'msgsPerSec counts hops, i.e. 2 x round trips per second';

export interface HopReport {
  /** Data-plane routing of the ferry cases; none when no ferry case ran. */
  mode: 'ebpf' | 'fallback' | 'none';
  /** How the ferry instances were confined (NodeInfo.sandbox's words). */
  sandbox: string;
  hop: string;
  machine: MachineInfo;
  startedAt: string;
  durationSec: number;
  quick: boolean;
  results: HopResult[];
  idle: IdleResult | null;
  /** The cheapest process-to-process ping-pong on this machine. */
  floor: FloorResult | null;
  ratios: Ratios;
  targets: Target[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function p50(results: HopResult[], t: Transport, r: Runtime, size: number): number | null {
  const row = results.find((x) => x.transport === t && x.runtime === r && x.payloadBytes === size);
  return row && !row.error && Number.isFinite(row.p50us) ? row.p50us : null;
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? round2(a / b) : null);

export function ratios(results: HopResult[]): Ratios {
  const sizes = [...new Set(results.map((r) => r.payloadBytes))].sort((a, b) => a - b);
  const from = sizes[0] ?? 0;
  const to = sizes[sizes.length - 1] ?? 0;
  const pairs = [...new Set(results.map((r) => `${r.transport}/${r.runtime}`))];
  const byPair: Record<string, number | null> = {};
  const baselineOverFerry: Record<string, Record<string, number | null>> = {};
  for (const pair of pairs) {
    const [t, r] = pair.split('/') as [Transport, Runtime];
    // One size alone says nothing about scaling.
    byPair[pair] = from === to ? null : ratio(p50(results, t, r, to), p50(results, t, r, from));
    if (t === 'ferry') continue;
    baselineOverFerry[pair] = Object.fromEntries(sizes.map((s) => [String(s), ratio(p50(results, t, r, s), p50(results, 'ferry', r, s))]));
  }
  return { sizeScaling: { fromBytes: from, toBytes: to, byPair }, baselineOverFerry };
}

/** The goals the benchmark exists to check; met is null when not measured. */
export function targets(results: HopResult[], r: Ratios, idle: IdleResult | null): Target[] {
  const smallest = r.sizeScaling.fromBytes;
  const out: Target[] = [];
  const hop = (runtime: Runtime, limit: number) => {
    const v = p50(results, 'ferry', runtime, smallest);
    out.push({ name: `${runtime} ferry hop p50 (${smallest} B)`, target: `<= ${limit} us`, measured: v, met: v === null ? null : v <= limit });
  };
  hop('native', 3);
  hop('node', 12);
  const span = `${r.sizeScaling.toBytes} B vs ${smallest} B p50`;
  for (const runtime of ['native', 'node'] as const) {
    const v = r.sizeScaling.byPair[`ferry/${runtime}`] ?? null;
    out.push({ name: `ferry/${runtime} ${span}`, target: '<= 1.3x', measured: v, met: v === null ? null : v <= 1.3 });
  }
  for (const pair of Object.keys(r.sizeScaling.byPair).filter((p) => !p.startsWith('ferry/'))) {
    const v = r.sizeScaling.byPair[pair] ?? null;
    out.push({ name: `${pair} grows with size (${span})`, target: '> 1.3x', measured: v, met: v === null ? null : v > 1.3 });
  }
  if (idle) {
    for (const i of idle.byRuntime) {
      const idleTarget = (name: string, ticks: number) =>
        out.push({ name: `idle ${i.runtime} instance CPU, ${name}`, target: '~0 ticks (<= 1)', measured: ticks, met: ticks <= 1 });
      idleTarget(`${idle.seconds} s right after its last request`, i.afterLastRequestTicks);
      idleTarget(`the ${idle.seconds} s after that`, i.cpuTicks);
    }
  }
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

const size = (b: number) => (b >= 1 << 20 ? `${b / (1 << 20)} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`);

export function formatReport(rep: HopReport): string {
  const m = rep.machine;
  const lines = [
    `ferry hop benchmark — data plane mode: ${rep.mode.toUpperCase()}, sandbox: ${rep.sandbox}${rep.quick ? ' (quick)' : ''}`,
    `hop = ${rep.hop}`,
    `${m.cpus} x ${m.cpuModel}, kernel ${m.kernel}, node ${m.node}; pinning: ${m.pinning.mode}` +
      (m.pinning.mode === 'none' ? '' : ` (pinger cpu ${m.pinning.pingerCpu}, echo cpu ${m.pinning.echoCpu})`) +
      `; load average at the end ${m.loadAverage.join(' / ')}`,
    '',
    table([
      ['transport', 'runtime', 'payload', 'p50 us', 'p99 us', 'hops/s', 'iterations', 'ok'],
      ...rep.results.map((r) => [
        r.transport,
        r.runtime,
        size(r.payloadBytes),
        r.p50us.toFixed(2),
        r.p99us.toFixed(2),
        String(r.msgsPerSec),
        String(r.iterations),
        r.error ? `FAILED: ${r.error}` : r.verified ? 'yes' : 'unverified',
      ]),
    ]),
    '',
    `p50 ${size(rep.ratios.sizeScaling.toBytes)} / p50 ${size(rep.ratios.sizeScaling.fromBytes)}:`,
    ...Object.entries(rep.ratios.sizeScaling.byPair).map(([k, v]) => `  ${k.padEnd(20)} ${v ?? '-'}x`),
    'baseline p50 / ferry p50 (same runtime):',
    ...Object.entries(rep.ratios.baselineOverFerry).map(
      ([k, v]) => `  ${k.padEnd(20)} ${Object.entries(v).map(([s, x]) => `${size(Number(s))}: ${x ?? '-'}x`).join(', ')}`,
    ),
  ];
  if (rep.floor)
    lines.push(
      `floor (${rep.floor.what}):`,
      ...rep.floor.byPinning.map((f) => `  ${f.pin.padEnd(6)} p50 ${f.p50us.toFixed(2)} us  p99 ${f.p99us.toFixed(2)} us${f.error ? `  FAILED: ${f.error}` : ''}`),
    );
  if (rep.idle)
    lines.push(
      `idle CPU, ${rep.idle.seconds} s right after the last request / the ${rep.idle.seconds} s after that: ` +
        rep.idle.byRuntime.map((i) => `${i.runtime} ${i.afterLastRequestTicks} / ${i.cpuTicks} ticks`).join(', ') +
        ` (${rep.idle.clockTicksPerSec} ticks/s)`,
    );
  lines.push('', 'targets:');
  for (const t of rep.targets)
    lines.push(`  [${t.met === null ? ' -- ' : t.met ? ' ok ' : 'MISS'}] ${t.name}: ${t.measured ?? 'not measured'} (target ${t.target})`);
  lines.push(`\n${rep.durationSec} s`);
  return lines.join('\n');
}
