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
  --cold-starts N    with --measure: cold starts per stage (default 6)
  --out FILE         with --measure: where to write the profile`;

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
      case '--cold-starts': o.coldStarts = count(a, 1); break;
      case '--out': o.out = resolve(value(a)); break;
      case '-h':
      case '--help': throw new Error(USAGE);
      default: throw new Error(`unknown flag ${a}\n${USAGE}`);
    }
  }
  return o;
}
