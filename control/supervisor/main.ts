/**
 * The process `ferry up` leaves running: it runs the ferry daemon
 * (dist/control/controlplane/main.js: control plane, store, local ferryd,
 * gateway) under a ProcessSupervisor and keeps $FERRY_HOME/state.json
 * saying where ferry listens and how its daemon is doing. SIGTERM or
 * SIGINT stops the daemon, waits for it, removes state.json and exits.
 *
 *   node dist/control/supervisor/main.js [--initial-backoff-ms N]
 *     [--max-backoff-ms N] [--reset-after-ms N] [--stop-grace-ms N] -- DAEMON-ARGS...
 *
 * Logs are JSON lines on stderr (ferry.log when `ferry up` started it).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clearState, ferryHome, writeState } from '../cli/state.js';
import { createLogger } from '../log.js';
import { repoRoot } from '../paths.js';
import { pinListenFlags } from './daemon-link.js';
import { ProcessSupervisor, type SupervisorView } from './process-supervisor.js';

export const DAEMON = join(repoRoot, 'dist/control/controlplane/main.js');

/** V8 flags for the daemon. Every request through the gateway leaves
 * short-lived garbage (request and reply objects, closures, read buffers);
 * a larger young generation is scavenged less often. Under closed-loop
 * load at 1 KiB (perf, on-CPU samples of the daemon) GC took 17.3% of its
 * samples with Node's default (16 MiB semi-spaces), 15.7% at 32, 12.9% at
 * 64. V8 grows the semi-spaces only while allocation is fast, so an idle
 * daemon stays small; under load it may hold ~100 MiB more. */
const DAEMON_NODE_FLAGS = ['--max-semi-space-size=64'];

/** Long enough for the daemon's own graceful stop (gRPC grace, instances'
 * SIGTERM grace) in the common case. */
const DEFAULT_STOP_GRACE_MS = 20_000;

function main(): void {
  const sep = process.argv.indexOf('--', 2);
  const own = sep < 0 ? process.argv.slice(2) : process.argv.slice(2, sep);
  const daemonArgs = sep < 0 ? [] : process.argv.slice(sep + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      'initial-backoff-ms': { type: 'string', default: '250' },
      'max-backoff-ms': { type: 'string', default: '30000' },
      'reset-after-ms': { type: 'string', default: '60000' },
      'stop-grace-ms': { type: 'string', default: String(DEFAULT_STOP_GRACE_MS) },
    },
    strict: true,
  });
  const ms = (flag: keyof typeof values): number => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag}: "${values[flag]}" is not a whole number of milliseconds`);
    return n;
  };
  const log = createLogger({ service: 'ferry-supervisor' });
  const home = ferryHome();
  const startedAtMs = Date.now();
  let args = daemonArgs;
  const sup = new ProcessSupervisor({
    command: process.execPath,
    args: () => [...DAEMON_NODE_FLAGS, DAEMON, ...args],
    output: 'inherit',
    backoff: { initialMs: ms('initial-backoff-ms'), maxMs: ms('max-backoff-ms'), resetAfterMs: ms('reset-after-ms') },
    stopGraceMs: ms('stop-grace-ms'),
    log,
    onChange: (v) => {
      // A restart comes back where the last run listened (ports asked as 0 included).
      if (v.ready) args = pinListenFlags(daemonArgs, v.ready);
      if (v.ready && v.state !== 'stopped') writeState(stateOf(v, home, startedAtMs));
    },
  });
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log.info('stopping', { signal });
    void sup.stop();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  sup.start();
  void sup.done.then((code) => {
    clearState();
    log.info('supervisor stopped', { code, restarts: sup.status.restarts });
    process.exit(code);
  });
}

function stateOf(v: SupervisorView, home: string, startedAtMs: number) {
  const r = v.ready!;
  return {
    pid: process.pid,
    admin: r.admin,
    gateway: r.gateway,
    ferryd: r.ferryd,
    metrics: r.metrics,
    ferrydMetrics: r.ferrydMetrics,
    mode: r.mode,
    startedAtMs,
    dataDir: join(home, 'data'),
    log: join(home, 'ferry.log'),
    daemon: {
      pid: v.daemonPid,
      state: v.state,
      restarts: v.restarts,
      lastExit: v.lastExit,
      nextStartAtMs: v.nextStartAtMs,
    },
  };
}

try {
  main();
} catch (err) {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'ferry supervisor failed to start', error: (err as Error).message }) + '\n');
  process.exit(2);
}
