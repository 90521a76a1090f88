/**
 * The hop benchmark: ping-pong between two processes over the ferry data
 * plane, plain loopback TCP and HTTP/1.1, native and Node on both sides,
 * 64 B to 1 MiB; then what an idle instance costs. See README.md.
 *
 *   npm run bench:hop -- --json        one JSON object on stdout
 *   npm run bench:hop                  a table
 */
import { chmodSync, mkdtempSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RouterClass } from '../../control/dataplane/native.js';
import { createLogger } from '../../control/log.js';
import { NodeDataPlane } from '../../control/node/dataplane.js';
import { repoRoot } from '../../control/paths.js';
import { caseSetup } from './case.js';
import { FerryBench } from './ferry-case.js';
import { measureFloor, type FloorResult } from './floor.js';
import { measureIdle, type IdleResult } from './idle.js';
import { machineInfo } from './machine.js';
import { parseOptions, planCase, type Options, type Runtime, type Transport } from './options.js';
import { killAll, requireNativeDrivers } from './procs.js';
import { formatReport, HOP_DEFINITION, ratios, targets, type HopReport } from './report.js';
import { runSocketCase } from './socket-case.js';
import type { HopResult } from './stats.js';

const progress = (msg: string) => process.stderr.write(`[hop] ${msg}\n`);

function defaultOut(started: Date): string {
  const stamp = started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return join(repoRoot, 'bench/results', `hop-${stamp}.json`);
}

/** Written beside, then renamed: a reader never sees half a file. */
function save(file: string, rep: HopReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(rep, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

function errorRows(transport: Transport, runtime: Runtime, o: Options, err: unknown): HopResult[] {
  const error = err instanceof Error ? err.message : String(err);
  return o.payloads.map((payloadBytes) => ({
    transport, runtime, payloadBytes, p50us: NaN, p99us: NaN, minUs: NaN, msgsPerSec: 0, iterations: 0, warmup: 0, verified: false, error,
  }));
}

async function main(o: Options): Promise<void> {
  const started = new Date();
  if (o.runtimes.includes('native')) requireNativeDrivers();
  // Not under /tmp: sandboxed pingers see their tenant's own /tmp there.
  const work = mkdtempSync(join('/var/tmp', 'ferry-hop-'));
  chmodSync(work, 0o711);
  const setup = caseSetup(work, o.payloads.map((s) => planCase(s, o)), o.budgetMs, o.pin);
  const needDataPlane = o.transports.includes('ferry') || o.idleSeconds > 0;
  // A pin directory of our own (options.ts): the benchmark never touches a
  // running ferry's router at /sys/fs/bpf/ferry.
  const pinDir = o.pinDir;
  let dp: NodeDataPlane | undefined;
  let bench: FerryBench | undefined;

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    killAll();
    bench?.close();
    await dp?.close();
    if (dp?.mode === 'ebpf') {
      try {
        RouterClass.unpin(pinDir);
      } catch (err) {
        progress(`could not unpin ${pinDir}: ${(err as Error).message}`);
      }
    }
    if (o.keep) progress(`raw samples kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => void cleanup().finally(() => process.exit(130)));

  try {
    if (needDataPlane) {
      dp = new NodeDataPlane({ mode: o.mode, pinDir, sandbox: o.sandbox, node: 'hop-bench', log: createLogger({ component: 'hop-bench' }, o.verbose ? 'info' : 'warn') });
      progress(`data plane mode: ${dp.mode} (${dp.router.description}); sandbox: ${dp.sandbox.status}`);
      bench = new FerryBench(dp, o.echoHandlers);
    }
    const results: HopResult[] = [];
    for (const transport of o.transports) {
      for (const runtime of o.runtimes) {
        progress(`${transport} / ${runtime} ...`);
        let rows: HopResult[];
        try {
          rows = transport === 'ferry' ? await bench!.run(runtime, setup) : await runSocketCase(transport, runtime, setup);
        } catch (err) {
          rows = errorRows(transport, runtime, o, err);
        }
        for (const r of rows)
          progress(
            `  ${String(r.payloadBytes).padStart(8)} B  p50 ${r.p50us} us  p99 ${r.p99us} us  ${r.msgsPerSec} hops/s  n=${r.iterations}` +
              (r.error ? `  FAILED: ${r.error}` : ''),
          );
        results.push(...rows);
      }
    }
    let floor: FloorResult | null = null;
    if (o.floor && o.runtimes.includes('native')) {
      progress('floor: native AF_UNIX ping-pong ...');
      floor = await measureFloor(setup);
      for (const f of floor.byPinning) progress(`  ${f.pin.padEnd(6)} p50 ${f.p50us} us  p99 ${f.p99us} us${f.error ? `  FAILED: ${f.error}` : ''}`);
    }
    let idle: IdleResult | null = null;
    if (bench && o.idleSeconds > 0) {
      progress(`idle instances (${o.runtimes.join(', ')}): 1 s to settle, then two windows of ${o.idleSeconds} s ...`);
      idle = await measureIdle(bench, o.runtimes, o.idleSeconds);
    }
    const r = ratios(results);
    const rep: HopReport = {
      mode: dp?.mode ?? 'none',
      sandbox: dp?.sandbox.status ?? 'none',
      hop: HOP_DEFINITION,
      machine: machineInfo(o.pin),
      startedAt: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 100) / 10,
      quick: o.quick,
      results,
      idle,
      floor,
      ratios: r,
      targets: targets(results, r, idle),
    };
    const file = o.out ? resolve(o.out) : defaultOut(started);
    save(file, rep);
    progress(`results written to ${file}`);
    process.stdout.write(o.json ? JSON.stringify(rep) + '\n' : formatReport(rep) + '\n');
    if (results.some((x) => x.error || !x.verified)) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

let opts: Options;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
main(opts).catch(async (err: unknown) => {
  process.stderr.write(`hop benchmark failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
