/**
 * bench:admin — how many reads the gRPC admin API serves.
 *
 *   npm run bench:admin -- [--json] [--callers N] [--seconds S] [--chains N] [--out FILE] [--profile DIR]
 *
 * A control plane with its local ferryd and N chains (bench/admin/server.ts)
 * runs in a child process; this one calls it over mutual TLS with the
 * operator's credential from --callers concurrent callers (each waits for
 * its answer, then calls again: a closed loop) for --seconds per RPC,
 * GetChain then ListChains, after a 2 s warm-up each. Reported per RPC:
 * calls per second, p50/p99/max latency, and the control plane process's
 * CPU per call (from /proc/PID/stat), and the cores the control plane and
 * the callers (this process) used. --profile DIR writes the control
 * plane's V8 CPU profile (node --cpu-prof) there, to see where that CPU goes. Target (issue #10): >= 2,000 GetChain
 * calls per second with p99 < 10 ms.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readCredential } from '../../control/auth/credential.js';
import { AdminClient } from '../../control/controlplane/admin/client.js';
import { processUsage } from '../../control/ferryd/procfs.js';
import { repoRoot } from '../../control/paths.js';
import { percentile } from '../lib/paced-load.js';

/** CPU seconds (user + system) a process has used so far (/proc ticks are 10 ms). */
const cpuSeconds = (pid: number) => processUsage(pid).cpuTicks / 100;

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function drive(call: () => Promise<unknown>, callers: number, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return latencies;
}

export interface AdminSuiteOptions {
  callers: number;
  seconds: number;
  chains: number;
  /** The JSON file to write (default bench/results/admin-<date>.json). */
  out?: string;
  /** A directory for the control plane's V8 CPU profile (node --cpu-prof). */
  profile?: string;
  log: (m: string) => void;
}

/** Runs the admin bench; writes its JSON file and returns what it wrote. */
export async function runAdminSuite(o: AdminSuiteOptions) {
  const { callers, seconds, chains, log } = o;
  const profile = o.profile ? ['--cpu-prof', '--cpu-prof-dir', o.profile] : [];
  const child = spawn(process.execPath, [...profile, join(repoRoot, 'dist/bench/admin/server.js'), String(chains)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const ready = await new Promise<{ admin: string; credentials: string }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l) as { admin: string; credentials: string }));
      child.once('exit', (code) => reject(new Error(`the control plane exited (${code}) before it was ready`)));
    });
    log(`control plane (pid ${child.pid}) at ${ready.admin} with ${chains} chains; ${callers} callers, ${seconds} s per RPC`);
    const admin = new AdminClient(ready.admin, readCredential(ready.credentials));
    const rpcs: Record<string, () => Promise<unknown>> = {
      GetChain: () => admin.call('GetChain', { name: 'greet-0' }),
      ListChains: () => admin.call('ListChains', {}),
    };
    const results = [];
    for (const [rpc, call] of Object.entries(rpcs)) {
      await drive(call, callers, 2000);
      const cpu0 = cpuSeconds(child.pid!);
      const own0 = cpuSeconds(process.pid);
      const t0 = performance.now();
      const lat = await drive(call, callers, seconds * 1000);
      const wall = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(child.pid!) - cpu0;
      const own = cpuSeconds(process.pid) - own0;
      const r = {
        rpc,
        calls: lat.length,
        callsPerSec: round(lat.length / wall, 0),
        p50Ms: round(percentile(lat, 0.5)),
        p99Ms: round(percentile(lat, 0.99)),
        maxMs: round(Math.max(...lat)),
        controlPlaneCpuUsPerCall: round((cpu / lat.length) * 1e6, 0),
        controlPlaneCores: round(cpu / wall),
        // The callers share the machine: what they take is not the server's.
        callerCores: round(own / wall),
      };
      log(`${rpc}: ${r.callsPerSec} calls/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.controlPlaneCpuUsPerCall} us CPU per call; cores: control plane ${r.controlPlaneCores}, callers ${r.callerCores}`);
      results.push(r);
    }
    admin.close();
    const get = results.find((r) => r.rpc === 'GetChain')!;
    const out = {
      bench: 'admin',
      date: new Date().toISOString(),
      loadavg: loadavg().map((x) => round(x)),
      config: { callers, seconds, chains },
      results,
      target: { getChainPerSec: 2000, p99Ms: 10, met: get.callsPerSec >= 2000 && get.p99Ms < 10 },
    };
    const file = o.out ?? join(repoRoot, 'bench/results', `admin-${out.date.replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${file}`);
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      callers: { type: 'string', default: '8' },
      seconds: { type: 'string', default: '10' },
      chains: { type: 'string', default: '10' },
      out: { type: 'string' },
      profile: { type: 'string' },
    },
    strict: true,
  });
  const callers = Number(values.callers);
  const seconds = Number(values.seconds);
  const chains = Number(values.chains);
  for (const [k, v] of [['--callers', callers], ['--seconds', seconds], ['--chains', chains]] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} takes a whole number >= 1`);
  const log = (m: string) => process.stderr.write(`[bench:admin] ${m}\n`);
  const out = await runAdminSuite({ callers, seconds, chains, log, ...(values.out ? { out: values.out } : {}), ...(values.profile ? { profile: values.profile } : {}) });
  if (values.json) process.stdout.write(JSON.stringify(out) + '\n');
}

// Run as a script (npm run bench:admin), not when `npm run bench -- --suite admin` imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
