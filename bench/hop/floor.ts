/**
 * The machine's floor: what the cheapest ping-pong between two processes
 * costs here (native AF_UNIX socketpair, 48-byte messages, no routing, no
 * payload; `hop-pinger unix`). No transport can beat it, so it is the
 * yardstick for the absolute hop targets: under a hypervisor a wake-up and a
 * context switch alone can cost several microseconds.
 */
import type { CaseSetup } from './case.js';
import type { Pinning } from './options.js';
import { awaitPinger } from './pair.js';
import { nativeBin, pinned, placement, run, stderrTail } from './procs.js';
import { readSamples, summarise } from './stats.js';

/** The descriptor's size: what ferry moves per hop. */
const FLOOR_BYTES = 48;

export interface FloorRow {
  pin: Pinning;
  p50us: number;
  p99us: number;
  minUs: number;
  iterations: number;
  error?: string;
}

export interface FloorResult {
  what: string;
  byPinning: FloorRow[];
}

async function floorAt(pin: Pinning, setup: CaseSetup): Promise<FloorRow> {
  const cpu = placement(pin);
  const dir = setup.caseDir(`floor-${pin}`);
  const budgetMs = Math.max(100, Math.round(setup.budgetMs / 2));
  const cases = [{ size: FLOOR_BYTES, iterations: 200_000, warmup: 2000 }];
  const argv = [nativeBin('hop-pinger'), 'unix', '--plan', `${FLOOR_BYTES}:200000:2000`, '--budget-ms', String(budgetMs), '--out', dir];
  if (cpu.echo !== undefined) argv.push('--echo-cpu', String(cpu.echo));
  const child = run(pinned(cpu.pinger, argv));
  const { lines, failure } = await awaitPinger(child, stderrTail(child), { cases, budgetMs });
  const line = lines.get(FLOOR_BYTES);
  const s = summarise(line && !line.failed ? readSamples(dir, FLOOR_BYTES) : new BigUint64Array(0));
  const error = failure ?? (!line || line.failed || s.iterations === 0 ? 'no samples' : undefined);
  return { pin, p50us: s.p50us, p99us: s.p99us, minUs: s.minUs, iterations: s.iterations, ...(error ? { error } : {}) };
}

/** The floor with both processes on one CPU and on two. */
export async function measureFloor(setup: CaseSetup): Promise<FloorResult> {
  const byPinning: FloorRow[] = [];
  for (const pin of ['same', 'split'] as const) byPinning.push(await floorAt(pin, setup));
  return {
    what: `native AF_UNIX socketpair ping-pong of ${FLOOR_BYTES}-byte messages between two processes (no routing, no payload); hop = round trip / 2`,
    byPinning,
  };
}
