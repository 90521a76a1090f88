/** Command-line flags of the hop benchmark and the per-case plan they imply. */
import type { ModeRequest } from '../../control/node/router/select.js';
import type { SandboxRequest } from '../../control/node/sandbox/sandbox.js';

export const TRANSPORTS = ['ferry', 'tcp-loopback', 'http'] as const;
export const RUNTIMES = ['native', 'node'] as const;
export type Transport = (typeof TRANSPORTS)[number];
export type Runtime = (typeof RUNTIMES)[number];

/**
 * Where the two processes of a pair run:
 *  - same:  both on one CPU. A ping-pong has one runnable side at a time,
 *           and waking a task on its own CPU needs no inter-processor
 *           interrupt (see README: on this VM a cross-vCPU wake-up costs
 *           tens of microseconds);
 *  - split: pinger on CPU 0, echo on CPU 1;
 *  - none:  let the scheduler choose.
 */
export type Pinning = 'same' | 'split' | 'none';

export const DEFAULT_PAYLOADS = [64, 4096, 65536, 1 << 20];

export interface Options {
  json: boolean;
  quick: boolean;
  mode: ModeRequest;
  /** How the data plane confines the echo and pinger instances. */
  sandbox: SandboxRequest;
  pin: Pinning;
  payloads: number[];
  transports: Transport[];
  runtimes: Runtime[];
  /** Caps every case's recorded iterations (smoke tests). */
  iterations?: number;
  /** Measured time per case; the warm-up may take a quarter more. */
  budgetMs: number;
  idleSeconds: number;
  /** Result file; default bench/results/hop-<date>.json. */
  out?: string;
  /** Keep the raw samples (u64 ns round trips per case) and say where. */
  keep: boolean;
  verbose: boolean;
  /** BPF pin directory of the benchmark's own router. */
  pinDir: string;
  /** Each replaces the stamp echo of its runtime (.so: native, else node). */
  echoHandlers: string[];
  /** Measure the machine's IPC floor (native AF_UNIX ping-pong). */
  floor: boolean;
}

/** One payload size as the drivers run it. */
export interface HopCase {
  size: number;
  iterations: number;
  warmup: number;
}

export const USAGE = `usage: npm run bench:hop -- [flags]
  --json                 print only the JSON result on stdout (progress on stderr)
  --quick                short cases (CI smoke): 250 ms per case instead of 2 s
  --mode auto|ebpf|fallback   data-plane routing (default auto)
  --sandbox auto|on|off  confine the ferry instances as ferryd does (default auto)
  --pin same|split|none  CPU placement of each pinger/echo pair (default same)
  --payloads 64,4k,64k,1m     payload sizes (default all four)
  --transports ferry,tcp-loopback,http
  --runtimes native,node
  --iterations N         at most N recorded round trips per case
  --budget-ms N          measured time per case (default 2000, quick 250)
  --idle-seconds N       each of the two idle-CPU windows (default 10; 0 skips idle)
  --out FILE             where to write the result (default bench/results/hop-<date>.json)
  --keep                 keep the raw samples (<dir>/<case>/<size>.bin, u64 ns round trips)
  --pin-dir DIR          BPF pin directory (default /sys/fs/bpf/ferry-bench-<pid>; removed after)
  --no-floor             skip the native AF_UNIX floor reference
  --echo-handler FILE    use FILE as the ferry echo of its runtime (.so native, else node;
                         repeatable): an echo that does not stamp must fail the ferry cases
  --verbose              data-plane logs on stderr`;

export function parseSize(s: string): number {
  const m = /^(\d+)([kKmM]?)[bB]?$/.exec(s.trim());
  if (!m) throw new Error(`bad payload size "${s}" (e.g. 64, 4k, 1m)`);
  const unit = m[2]?.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1 << 20 : 1);
}

function listOf<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((s) => s.trim());
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`${flag}: "${i}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function positiveInt(value: string, flag: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new Error(`${flag} wants a ${allowZero ? 'non-negative' : 'positive'} integer`);
  return n;
}

export function parseOptions(argv: string[]): Options {
  const o: Options = {
    json: false,
    quick: false,
    mode: 'auto',
    sandbox: 'auto',
    pin: 'same',
    payloads: DEFAULT_PAYLOADS,
    transports: [...TRANSPORTS],
    runtimes: [...RUNTIMES],
    budgetMs: 0,
    idleSeconds: 10,
    keep: false,
    verbose: false,
    // Never /sys/fs/bpf/ferry: the benchmark must not touch a running ferry.
    pinDir: `/sys/fs/bpf/ferry-bench-${process.pid}`,
    floor: true,
    echoHandlers: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--json': o.json = true; break;
      case '--quick': o.quick = true; break;
      case '--verbose': o.verbose = true; break;
      case '--keep': o.keep = true; break;
      case '--mode': o.mode = listOf(value(), ['auto', 'ebpf', 'fallback'] as const, flag)[0]!; break;
      case '--sandbox': o.sandbox = listOf(value(), ['auto', 'on', 'off'] as const, flag)[0]!; break;
      case '--pin': o.pin = listOf(value(), ['same', 'split', 'none'] as const, flag)[0]!; break;
      case '--payloads': o.payloads = value().split(',').map(parseSize); break;
      case '--transports': o.transports = listOf(value(), TRANSPORTS, flag); break;
      case '--runtimes': o.runtimes = listOf(value(), RUNTIMES, flag); break;
      case '--iterations': o.iterations = positiveInt(value(), flag); break;
      case '--budget-ms': o.budgetMs = positiveInt(value(), flag); break;
      case '--idle-seconds': o.idleSeconds = positiveInt(value(), flag, true); break;
      case '--out': o.out = value(); break;
      case '--pin-dir': o.pinDir = value(); break;
      case '--no-floor': o.floor = false; break;
      case '--echo-handler': o.echoHandlers.push(value()); break;
      case '-h':
      case '--help': throw new Error(USAGE);
      default: throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  if (!o.budgetMs) o.budgetMs = o.quick ? 250 : 2000;
  if (!o.payloads.length || o.payloads.some((s) => s < 8))
    throw new Error('--payloads: every size must be at least 8 bytes (the ferry echo stamps head and tail)');
  if (o.pinDir.replace(/\/+$/, '') === '/sys/fs/bpf/ferry') throw new Error('--pin-dir: /sys/fs/bpf/ferry belongs to the running ferry');
  return o;
}

/**
 * Iterations and warm-up of a case. The time budget is what ends a case;
 * the cap only bounds the samples' memory (8 bytes each). The same for
 * every size, so every case is measured over the same stretch of time and
 * sizes compare fairly (a short case can fall into a quiet moment of the
 * machine that a long one does not). The warm-up also stops at a quarter
 * of the budget (hop.c, driver.ts).
 */
export function planCase(size: number, o: Pick<Options, 'quick' | 'iterations'>): HopCase {
  let iterations = o.quick ? 20_000 : 400_000;
  let warmup = o.quick ? 200 : 2000;
  if (o.iterations !== undefined) {
    iterations = Math.min(iterations, o.iterations);
    warmup = Math.min(warmup, Math.ceil(o.iterations / 10));
  }
  return { size, iterations, warmup };
}

/** The plan as the drivers take it: SIZE:ITERATIONS:WARMUP[,...]. */
export function planArg(cases: HopCase[]): string {
  return cases.map((c) => `${c.size}:${c.iterations}:${c.warmup}`).join(',');
}
