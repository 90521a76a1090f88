/** Command-line flags of bench:autoscale. */
import { join, resolve } from 'node:path';
import { repoRoot } from '../../control/paths.js';

export const USAGE = `usage: npm run bench:autoscale -- [flags]
  --json             print only the JSON result on stdout (progress on stderr)
  --chain FILE       the chain (default chains/online-boutique/chain.yaml)
  --trace FILE       replay a CSV of "second,requests" instead of the synthetic traces (repeatable)
  --policies A,B     policies to compare (default: every registered one)
  --seed N           seed of the synthetic traces and the simulation (default 1)
  --duration S       seconds of each synthetic trace (default 1800)
  --rate-scale X     multiply the synthetic traces' rates by X (default 1)
  --profile FILE     the measured profile (default bench/autoscale/profiles/<chain>.json)
  --measure          measure the chain's profile on a real ferryd instead of simulating
  --samples N        with --measure: timed requests per stage and sample request (default 600)
  --gap-ms N         with --measure: pause between timed requests (default 10)
  --cold-starts N    with --measure: cold starts per stage (default 6); with --live: per chain and policy (default 5)
  --out FILE         with --measure: where to write the profile; with --live: the result
                     (default bench/results/autoscale-live-<ISO date>.json)

live mode (a real control plane and ferryd in this process, bench/autoscale/README.md):
  --live             kpa vs slo on two chains at scale.min 0 (a Node and a native stage):
                     cold starts from zero, then a step and a burst of open-loop load
  --quick            a short smoke run (2 cold starts, 14 s of load per run)
  --low-rate N       req/s before and between the step and the burst (default 20)
  --step-rate N      req/s of the step (default 150)
  --burst-rate N     req/s of the burst (default 300)
  --step-s S         seconds the step holds (default 30; --quick 6)
  --burst-s S        seconds the burst holds (default 5; --quick 2)
  --cpu-us N         CPU each request costs at the stage, microseconds (default 1000)
  --wait-us N        then how long it holds its instance waiting, microseconds (default 9000)
  --slo-ms N         the chains' spec.slo.p99Ms (default 100)
  --max-instances N  the stages' scale.max (default 4)
  --mode M           data plane: auto (eBPF as root), ebpf or fallback (default auto)`;

export interface Options {
  json: boolean;
  chain: string;
  traces: string[];
  policies?: string[];
  seed: number;
  durationS: number;
  rateScale: number;
  profile?: string;
  measure: boolean;
  samples: number;
  gapMs: number;
  coldStarts: number;
  out?: string;
  live?: LiveOptions;
}

/** The live run's knobs (--live). */
export interface LiveOptions {
  quick: boolean;
  coldStarts: number;
  lowRate: number;
  stepRate: number;
  burstRate: number;
  /** Seconds of low rate before the step, between step and burst, and after. */
  lowS: number;
  stepS: number;
  burstS: number;
  cpuUs: number;
  waitUs: number;
  sloMs: number;
  maxInstances: number;
  mode: 'auto' | 'ebpf' | 'fallback';
}

export function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    json: false,
    chain: join(repoRoot, 'chains/online-boutique/chain.yaml'),
    traces: [],
    seed: 1,
    durationS: 1800,
    rateScale: 1,
    measure: false,
    samples: 600,
    gapMs: 10,
    coldStarts: 6,
  };
  const args = [...argv];
  // Live flags are read first and checked once every flag is in (--quick
  // changes the defaults of the others, wherever it stands).
  const live: Partial<LiveOptions> & { on: boolean } = { on: false };
  const value = (flag: string): string => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  const count = (flag: string, min: number): number => {
    const v = value(flag);
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} takes a whole number >= ${min}, not "${v}"`);
    return n;
  };
  while (args.length > 0) {
    const a = args.shift() as string;
    switch (a) {
      case '--json': o.json = true; break;
      case '--chain': o.chain = resolve(value(a)); break;
      case '--trace': o.traces.push(resolve(value(a))); break;
      case '--policies': o.policies = value(a).split(',').filter(Boolean); break;
      case '--seed': o.seed = count(a, 0); break;
      case '--duration': o.durationS = count(a, 10); break;
      case '--rate-scale': {
        const v = value(a);
        o.rateScale = Number(v);
        if (!(o.rateScale > 0) || !Number.isFinite(o.rateScale)) throw new Error(`--rate-scale takes a number > 0, not "${v}"`);
        break;
      }
      case '--profile': o.profile = resolve(value(a)); break;
      case '--measure': o.measure = true; break;
      case '--samples': o.samples = count(a, 10); break;
      case '--gap-ms': o.gapMs = count(a, 0); break;
      case '--cold-starts': o.coldStarts = count(a, 1); live.coldStarts = o.coldStarts; break;
      case '--live': live.on = true; break;
      case '--quick': live.quick = true; break;
      case '--low-rate': live.lowRate = count(a, 1); break;
      case '--step-rate': live.stepRate = count(a, 1); break;
      case '--burst-rate': live.burstRate = count(a, 1); break;
      case '--step-s': live.stepS = count(a, 1); break;
      case '--burst-s': live.burstS = count(a, 1); break;
      case '--cpu-us': live.cpuUs = count(a, 0); break;
      case '--wait-us': live.waitUs = count(a, 0); break;
      case '--slo-ms': live.sloMs = count(a, 1); break;
      case '--max-instances': live.maxInstances = count(a, 1); break;
      case '--mode': {
        const m = value(a);
        if (m !== 'auto' && m !== 'ebpf' && m !== 'fallback') throw new Error(`--mode takes auto, ebpf or fallback, not "${m}"`);
        live.mode = m;
        break;
      }
      case '--out': o.out = resolve(value(a)); break;
      case '-h':
      case '--help': throw new Error(USAGE);
      default: throw new Error(`unknown flag ${a}\n${USAGE}`);
    }
  }
  if (!live.on) {
    const stray = Object.keys(live).filter((k) => k !== 'on' && k !== 'coldStarts');
    if (stray.length > 0) throw new Error(`${stray.join(', ')}: only with --live\n${USAGE}`);
    return o;
  }
  if (o.measure) throw new Error(`--live and --measure are different runs: choose one\n${USAGE}`);
  const quick = live.quick ?? false;
  o.live = {
    quick,
    coldStarts: live.coldStarts ?? (quick ? 2 : 5),
    lowRate: live.lowRate ?? 20,
    stepRate: live.stepRate ?? 150,
    burstRate: live.burstRate ?? 300,
    lowS: quick ? 2 : 10,
    stepS: live.stepS ?? (quick ? 6 : 30),
    burstS: live.burstS ?? (quick ? 2 : 5),
    cpuUs: live.cpuUs ?? 1000,
    waitUs: live.waitUs ?? 9000,
    sloMs: live.sloMs ?? 100,
    maxInstances: live.maxInstances ?? 4,
    mode: live.mode ?? 'auto',
  };
  return o;
}
