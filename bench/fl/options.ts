/** bench:fl's command line. */
import { parseModel, type BenchModel } from './models.js';
import type { FlSystemName } from './system.js';

export interface FlBenchOptions {
  json: boolean;
  quick: boolean;
  systems: FlSystemName[];
  clients: number[];
  models: BenchModel[];
  nodes: number[];
  rounds: number;
  /** Rounds of the time-to-accuracy run (0: skip it). */
  accuracyRounds: number;
  portBase: number;
  /** hierarchy.fanIn of ferry's jobs (the baseline has one level). */
  fanIn: number;
  out: string | undefined;
}

export const USAGE = `usage: npm run bench:fl -- [--json] [--quick] [--systems ferry,grpc] [--clients 10,50,100]
         [--models 1MB,47MB,digits] [--nodes 1,2] [--rounds N] [--accuracy-rounds N] [--fan-in F] [--port-base P] [--out DIR]`;

const SYSTEMS: readonly FlSystemName[] = ['ferry', 'grpc'];

function list(flag: string, v: string | undefined): string[] {
  if (!v) throw new Error(`${flag} needs a value\n${USAGE}`);
  return v.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${v}" is not a positive integer`);
  return n;
}

export function parseOptions(argv: string[]): FlBenchOptions {
  const quick = argv.includes('--quick');
  const o: FlBenchOptions = {
    json: false,
    quick,
    systems: [...SYSTEMS],
    clients: quick ? [5] : [10, 50, 100],
    models: (quick ? ['1MB'] : ['1MB', '47MB', 'digits']).map(parseModel),
    nodes: [1],
    rounds: quick ? 2 : 5,
    accuracyRounds: quick ? 0 : 30,
    // 22500-22999 are bench:fl's.
    portBase: 22500,
    fanIn: 8,
    out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i];
    switch (a) {
      case '--json':
        o.json = true;
        break;
      case '--quick':
        break;
      case '--systems':
        o.systems = list(a, next()).map((s) => {
          if (!SYSTEMS.includes(s as FlSystemName)) throw new Error(`--systems: unknown system "${s}" (one of: ${SYSTEMS.join(', ')})`);
          return s as FlSystemName;
        });
        break;
      case '--clients':
        o.clients = list(a, next()).map((c) => positive(a, c));
        break;
      case '--models':
        o.models = list(a, next()).map(parseModel);
        break;
      case '--nodes':
        o.nodes = list(a, next()).map((n) => {
          if (n !== '1' && n !== '2') throw new Error(`--nodes: "${n}": 1 or 2`);
          return Number(n);
        });
        break;
      case '--rounds':
        o.rounds = positive(a, next() ?? '');
        break;
      case '--accuracy-rounds':
        o.accuracyRounds = Number(next());
        if (!Number.isInteger(o.accuracyRounds) || o.accuracyRounds < 0) throw new Error('--accuracy-rounds: a whole number (0 skips the accuracy run)');
        break;
      case '--fan-in':
        o.fanIn = positive(a, next() ?? '');
        if (o.fanIn < 2) throw new Error('--fan-in: at least 2');
        break;
      case '--port-base':
        o.portBase = positive(a, next() ?? '');
        break;
      case '--out':
        o.out = next();
        if (!o.out) throw new Error(`--out needs a directory\n${USAGE}`);
        break;
      default:
        throw new Error(`unknown argument "${a}"\n${USAGE}`);
    }
  }
  return o;
}
