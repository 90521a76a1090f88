/**
 * ferry up: start a local ferry (control plane, embedded store, this
 * machine's ferryd and gateway) under ferry's supervisor, which restarts
 * the daemon when it dies (control/supervisor), in the background, and
 * wait until it serves; --foreground keeps the supervisor attached to the
 * terminal. ferry down stops the supervisor, which stops the daemon. The
 * daemon makes the cluster's CA and credentials in $FERRY_HOME on its first
 * start. `ferry up --admin H:P` is where the new ferry's Admin API listens.
 */
import { policies } from '../../controlplane/autoscale/registry.js';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildScheduler, parseWeights, withWeights } from '../../controlplane/placement/config.js';
import { repoRoot } from '../../paths.js';
import { localFerry, type Command } from '../context.js';
import { CliError, print } from '../output.js';
import { clearState, ferryHome, isAlive, readState, type LocalState } from '../state.js';

const SUPERVISOR = join(repoRoot, 'dist/control/supervisor/main.js');
const START_TIMEOUT_MS = 30_000;
/** Beyond the supervisor's own grace for the daemon (20 s). */
const STOP_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summary(s: LocalState): string {
  return [
    `ferry is up (pid ${s.pid}${s.daemon ? `, daemon pid ${s.daemon.pid}, supervised` : ''}, data plane: ${s.mode})`,
    `  admin API  ${s.admin} (mutual TLS; the CLI uses ${join(ferryHome(), 'credentials', 'operator')})`,
    ...(s.metrics ? [`  metrics    http://${s.metrics}/metrics (control plane), http://${s.ferrydMetrics}/metrics (this node)`] : []),
    s.gateway ? `  gateway    http://${s.gateway}/chains/<name>` : '  gateway    none here (no local node); use a node\'s gateway',
    `  logs       ${s.log}`,
    `next: npx ferry apply -f chains/motion/chain.yaml && npx ferry invoke motion --data @chains/motion/requests/walk.json`,
  ].join('\n');
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const up: Command = async (ctx) => {
  const { values } = parseArgs({
    args: ctx.args,
    options: {
      foreground: { type: 'boolean', default: false },
      admin: { type: 'string' },
      ferryd: { type: 'string' },
      gateway: { type: 'string' },
      metrics: { type: 'string' },
      'ferryd-metrics': { type: 'string' },
      'fl-grpc': { type: 'string' },
      peer: { type: 'string' },
      'pin-dir': { type: 'string' },
      mode: { type: 'string' },
      sandbox: { type: 'string' },
      'tenant-pool-bytes': { type: 'string' },
      'placement-weights': { type: 'string' },
      balance: { type: 'string' },
      autoscale: { type: 'string' },
      'node-name': { type: 'string' },
      node: { type: 'string', multiple: true },
      'no-local-node': { type: 'boolean' },
    },
    strict: true,
  });
  // Checked here too, so a typo is a usage error, not a daemon that fails to start.
  if (values['placement-weights'] !== undefined) checkWeights(values['placement-weights']);
  if (values.autoscale !== undefined && !policies.get(values.autoscale))
    throw new CliError(`--autoscale: unknown autoscaling policy "${values.autoscale}" (one of: ${policies.names().join(', ')})`, 2);
  // --admin is a global flag; for up it says where to listen.
  if (ctx.adminOverride) values.admin = ctx.adminOverride;
  const running = localFerry();
  if (running) {
    print(ctx.format, running, () => `already running\n${summary(running)}`);
    return;
  }
  const args: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (k === 'foreground' || v === undefined || v === false) continue;
    if (v === true) {
      args.push(`--${k}`);
      continue;
    }
    for (const one of Array.isArray(v) ? v : [v]) args.push(`--${k}`, String(one));
  }
  const home = ferryHome();
  mkdirSync(home, { recursive: true });
  const command = [SUPERVISOR, '--', ...args];
  if (values.foreground) {
    const child = spawn(process.execPath, command, { stdio: 'inherit' });
    // Ctrl-C reaches the supervisor too (same process group); it stops the
    // daemon and exits, and so do we after it.
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    process.on('SIGINT', () => undefined);
    process.on('SIGTERM', forward('SIGTERM'));
    return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  }
  clearState();
  const log = join(home, 'ferry.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, command, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  process.stderr.write(`starting ferry (logs: ${log})...\n`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const s = readState();
    if (s && s.pid === child.pid) {
      print(ctx.format, s, () => summary(s));
      return;
    }
    if (child.exitCode !== null || !isAlive(child.pid!)) break;
    await sleep(100);
  }
  // The supervisor takes its daemon with it.
  if (child.pid && isAlive(child.pid)) await stopProcess(child.pid);
  throw new CliError(`ferry did not start; the end of ${log}:\n${tail(log)}`);
};

export const down: Command = async (ctx) => {
  const s = readState();
  if (!s || !isAlive(s.pid)) {
    clearState();
    print(ctx.format, { stopped: false }, () => 'ferry is not running');
    return;
  }
  if (!(await stopProcess(s.pid))) {
    // Its daemon leads a process group of its own; take that down too.
    if (s.daemon?.pid) killQuietly(-s.daemon.pid);
    process.stderr.write(`ferry (pid ${s.pid}) did not stop in ${STOP_TIMEOUT_MS / 1000}s; killed it\n`);
  }
  clearState();
  print(ctx.format, { stopped: true, pid: s.pid }, () => `ferry stopped (pid ${s.pid})`);
};

function checkWeights(text: string): void {
  try {
    buildScheduler(withWeights(parseWeights(text)));
  } catch (err) {
    throw new CliError(`--placement-weights: ${(err as Error).message}`, 2);
  }
}

/** SIGTERM, wait, SIGKILL: true when it stopped by itself in time. */
async function stopProcess(pid: number): Promise<boolean> {
  killQuietly(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!isAlive(pid)) return true;
  killQuietly(pid);
  return false;
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}
