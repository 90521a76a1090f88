/**
 * What the Node pinger shares with the native one (bench/hop/native/hop.c):
 * the same command line, the same measurement loop and the same output
 * (samples to OUT_DIR/<size>.bin, one JSON line per case on stdout), so the
 * two runtimes are timed and summarised identically.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DriverCase {
  size: number;
  iterations: number;
  warmup: number;
}

export interface DriverPlan {
  cases: DriverCase[];
  budgetNs: bigint;
  outDir: string;
  port: number;
  stage: number;
}

export function parsePlan(argv: string[]): DriverPlan {
  const plan: DriverPlan = { cases: [], budgetNs: 2_000_000_000n, outDir: '', port: 0, stage: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--plan') {
      plan.cases = value.split(',').map((item) => {
        const [size, iterations, warmup] = item.split(':').map(Number);
        if (!size || !iterations || warmup === undefined || Number.isNaN(warmup))
          throw new Error(`--plan wants SIZE:ITERATIONS:WARMUP, got "${item}"`);
        return { size, iterations, warmup };
      });
    } else if (flag === '--budget-ms') plan.budgetNs = BigInt(value) * 1_000_000n;
    else if (flag === '--out') plan.outDir = value;
    else if (flag === '--port') plan.port = Number(value);
    else if (flag === '--stage') plan.stage = Number(value);
    else throw new Error(`unknown option ${flag}`);
  }
  if (!plan.cases.length || !plan.outDir) throw new Error('--plan and --out are required');
  return plan;
}

/** Start one round trip; call done(false) to abort the case. */
export type RoundTrip = (done: (ok: boolean) => void) => void;

export interface Measured {
  samples: BigUint64Array;
  warmup: number;
  failed: boolean;
}

/**
 * Warm up (at most a quarter of the budget), then time round trips back to
 * back: each starts at the instant the previous one ended, so the samples
 * sum to the wall time. Callback style rather than promises, so a round
 * trip costs no extra microtask turn.
 */
export function measure(plan: DriverPlan, c: DriverCase, rt: RoundTrip): Promise<Measured> {
  return new Promise((resolve) => {
    const samples = new BigUint64Array(c.iterations);
    const warmDeadline = process.hrtime.bigint() + plan.budgetNs / 4n;
    let warm = 0;
    let n = 0;
    let measuring = false;
    let t0 = 0n;
    let deadline = 0n;

    const finish = (failed: boolean) => resolve({ samples: samples.subarray(0, n), warmup: warm, failed });
    const startMeasuring = () => {
      measuring = true;
      t0 = process.hrtime.bigint();
      deadline = t0 + plan.budgetNs;
      rt(onDone);
    };
    function onDone(ok: boolean): void {
      if (!ok) return finish(true);
      const t1 = process.hrtime.bigint();
      if (!measuring) {
        warm++;
        if (warm < c.warmup && t1 < warmDeadline) return rt(onDone);
        return startMeasuring();
      }
      samples[n++] = t1 - t0;
      t0 = t1;
      if (n >= c.iterations || t1 >= deadline) return finish(false);
      rt(onDone);
    }

    if (c.warmup > 0) rt(onDone);
    else startMeasuring();
  });
}

export function report(plan: DriverPlan, c: DriverCase, m: Measured, verified: boolean, note: string): void {
  writeFileSync(join(plan.outDir, `${c.size}.bin`), new Uint8Array(m.samples.buffer, m.samples.byteOffset, m.samples.byteLength));
  process.stdout.write(
    JSON.stringify({ size: c.size, iterations: m.samples.length, warmup: m.warmup, failed: m.failed, verified, note }) + '\n',
  );
}

/** The same bytes as hop_fill() in hop.c. */
export function fill(p: Uint8Array): void {
  for (let i = 0; i < p.length; i++) p[i] = (i * 131 + 7) & 0xff;
}

/** Bytes [from, to) of a fill()ed payload are intact (hop_check_span). */
export function checkSpan(p: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (p[i] !== ((i * 131 + 7) & 0xff)) return false;
  return true;
}

export const check = (p: Uint8Array): boolean => checkSpan(p, 0, p.length);
