/**
 * bench:idle — what a ferry with chains deployed and no requests costs.
 *
 *   npm run bench:idle -- [--json] [--chains 10] [--seconds 60] [--settle 20] [--port-base 45100] [--out FILE] [--profile DIR]
 *
 * Brings ferry up as a user does (`node bin/ferry.js up`, under its
 * supervisor, with its own FERRY_HOME, ports from --port-base and BPF pin
 * dir), applies the example chains (motion, parking, online-boutique in
 * turn) under --chains distinct names, waits until every one is RUNNING
 * and then until ferry's processes have stayed the same for --settle
 * seconds (the bundling burst of the applies and online-boutique's stages
 * scaling to zero once idle are not idle; at most SETTLE_CAP_S), and measures the CPU (utime + stime,
 * /proc) of every process of ferry over --seconds: the supervisor, the
 * daemon and everything below it (function instances, the esbuild
 * service), as % of one core per kind of process. Issue #10's target: the
 * whole ferry < 1% of one core over 60 s with 10 chains.
 *
 * --profile DIR writes a V8 CPU profile of the daemon over the measured
 * window to DIR/PID.cpuprofile (profile-preload.ts, started and stopped by
 * SIGUSR2), to see what the idle time goes to. V8's sampler wakes every
 * millisecond: a profiled run's CPU figures are not the idle cost.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { processArgv, processTree, processUsage } from '../../control/ferryd/procfs.js';
import { repoRoot } from '../../control/paths.js';
import type { LocalState } from '../../control/cli/state.js';

const TEMPLATES = ['motion', 'parking', 'online-boutique'] as const;
const TICKS_PER_SEC = 100;
/** Longest wait for ferry's processes to stop changing. */
const SETTLE_CAP_S = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const log = (m: string) => process.stderr.write(`[bench:idle] ${m}\n`);

/** The kind of a ferry process, from its command line. */
function kindOf(pid: number, state: LocalState): string {
  if (pid === state.pid) return 'supervisor';
  if (pid === state.daemon?.pid) return 'daemon';
  const argv = processArgv(pid).join(' ');
  if (argv.includes('esbuild')) return 'esbuild service';
  if (argv.includes('ferry-runner')) return 'native instance';
  if (argv.includes('node-runner')) return 'node instance';
  return argv ? `other (${argv.slice(0, 60)})` : 'exited';
}

/** A chain file as the example's, renamed, handlers made absolute (so the
 * copy can live outside the repo) and its stages' CPU requests made small
 * (so ten chains fit on a 2-core node: idle cost does not depend on them). */
function chainCopy(template: string, name: string): string {
  const dir = join(repoRoot, 'chains', template);
  return readFileSync(join(dir, 'chain.yaml'), 'utf8')
    .replace(/metadata: \{ name: [\w-]+/, `metadata: { name: ${name}`)
    .replaceAll(/handler: \.\//g, `handler: ${dir}/`)
    .replaceAll(/cpu: \d+m/g, 'cpu: 10m');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      chains: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '60' },
      settle: { type: 'string', default: '20' },
      'port-base': { type: 'string', default: '45100' },
      out: { type: 'string' },
      profile: { type: 'string' },
    },
    strict: true,
  });
  const chains = Number(values.chains);
  const seconds = Number(values.seconds);
  const settle = Number(values.settle);
  const portBase = Number(values['port-base']);
  for (const [k, v] of [['--chains', chains], ['--seconds', seconds], ['--settle', settle + 1], ['--port-base', portBase]] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} takes a whole number >= ${k === '--settle' ? 0 : 1}`);

  const home = mkdtempSync(join(tmpdir(), 'ferry-bench-idle-'));
  const pinDir = `/sys/fs/bpf/ferry-bench-idle-${process.pid}`;
  const ferry = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const { FERRY_ADMIN: _a, FERRY_GATEWAY: _g, ...env } = process.env;
      if (values.profile) {
        env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${join(repoRoot, 'dist/bench/idle/profile-preload.js')}`;
        env.FERRY_BENCH_PROFILE_DIR = values.profile;
      }
      execFile(process.execPath, [join(repoRoot, 'bin/ferry.js'), ...args], { env: { ...env, FERRY_HOME: home }, timeout: 120_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`ferry ${args.join(' ')} failed: ${stderr.trim() || err.message}`)) : resolve(stdout),
      );
    });
  try {
    const addr = (i: number) => `127.0.0.1:${portBase + i}`;
    log(`ferry up (FERRY_HOME ${home}, ports ${portBase}-${portBase + 4}, pins ${pinDir})`);
    await ferry('up', '--admin', addr(0), '--ferryd', addr(1), '--gateway', addr(2), '--metrics', addr(3), '--ferryd-metrics', addr(4), '--pin-dir', pinDir, '--node-name', 'idle');
    const names: string[] = [];
    for (let i = 0; i < chains; i++) {
      const template = TEMPLATES[i % TEMPLATES.length]!;
      const name = `${template}-${i}`;
      const file = join(home, `${name}.yaml`);
      writeFileSync(file, chainCopy(template, name));
      log(`apply ${name} (${i + 1}/${chains})`);
      await ferry('apply', '-f', file);
      names.push(name);
    }
    for (const name of names) {
      for (let tries = 0; ; tries++) {
        const status = JSON.parse(await ferry('get', 'chain', name, '-o', 'json')) as { state: string; reason: string };
        if (status.state === 'RUNNING') break;
        if (tries >= 60) throw new Error(`chain ${name} is ${status.state} after 60 s (${status.reason}); see ${join(home, 'ferry.log')}`);
        await sleep(1000);
      }
    }
    const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as LocalState;
    log(`all ${chains} chains RUNNING; waiting for ferry's processes to stay the same for ${settle} s`);
    const settleStart = Date.now();
    for (let seen = '', since = Date.now(); Date.now() - since < settle * 1000; await sleep(1000)) {
      const now = processTree(state.pid).join(',');
      if (now !== seen) [seen, since] = [now, Date.now()];
      if (Date.now() - settleStart > SETTLE_CAP_S * 1000) throw new Error(`ferry's processes still change after ${SETTLE_CAP_S} s; see ${join(home, 'ferry.log')}`);
    }
    log(`settled after ${round((Date.now() - settleStart) / 1000, 0)} s`);
    const before = new Map(processTree(state.pid).map((pid) => [pid, processUsage(pid).cpuTicks]));
    log(`measuring ${before.size} processes for ${seconds} s`);
    const t0 = performance.now();
    const profiled = values.profile && state.daemon?.pid;
    if (profiled) process.kill(profiled, 'SIGUSR2');
    for (let s = 10; s < seconds; s += 10) {
      await sleep(10_000);
      log(`${s} s of ${seconds}`);
    }
    await sleep(seconds * 1000 - (performance.now() - t0));
    const wall = (performance.now() - t0) / 1000;
    if (profiled) process.kill(profiled, 'SIGUSR2');
    const kinds = new Map<string, { processes: number; ticks: number }>();
    const after = processTree(state.pid);
    for (const pid of after) {
      // A process started in the window counts from 0: all its CPU is in it.
      const ticks = processUsage(pid).cpuTicks - (before.get(pid) ?? 0);
      const k = kindOf(pid, state);
      const e = kinds.get(k) ?? { processes: 0, ticks: 0 };
      kinds.set(k, { processes: e.processes + 1, ticks: e.ticks + ticks });
    }
    const gone = [...before.keys()].filter((pid) => !after.includes(pid)).length;
    const pct = (ticks: number) => round((ticks / TICKS_PER_SEC / wall) * 100, 3);
    const perKind = [...kinds].map(([kind, e]) => ({ kind, processes: e.processes, cpuPctOfCore: pct(e.ticks) })).sort((a, b) => b.cpuPctOfCore - a.cpuPctOfCore);
    const total = pct([...kinds.values()].reduce((a, e) => a + e.ticks, 0));
    for (const k of perKind) log(`${k.kind.padEnd(18)} ${String(k.processes).padStart(3)} processes  ${k.cpuPctOfCore.toFixed(3)}% of a core`);
    log(`total              ${total.toFixed(3)}% of a core over ${round(wall, 1)} s${gone ? ` (${gone} processes exited in the window, their last CPU uncounted)` : ''}`);
    const out = {
      bench: 'idle',
      date: new Date().toISOString(),
      loadavg: loadavg().map((x) => round(x)),
      config: { chains, seconds, settle, chainNames: names },
      perKind,
      totalCpuPctOfCore: total,
      exitedInWindow: gone,
      target: { cpuPctOfCore: 1, met: total < 1 },
    };
    const file = values.out ?? join(repoRoot, 'bench/results', `idle-${out.date.replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    if (values.json) process.stdout.write(JSON.stringify(out) + '\n');
    log(`wrote ${file}${profiled ? ` and the daemon's profile ${join(values.profile!, `${profiled}.cpuprofile`)}` : ''}`);
  } finally {
    log('ferry down');
    await ferry('down').catch((err: Error) => log(err.message));
    rmSync(home, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
