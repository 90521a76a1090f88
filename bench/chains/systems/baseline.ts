/**
 * Bringing a baseline up and down: its processes (ingress, proxies,
 * function instances) spawned on ports from opts.portBase, each ready when
 * it says so over IPC, then one sample request per chain answered 200;
 * down() stops them all and waits until every one is gone (its ports with
 * it). Which processes a baseline has is its own module's business
 * (http.ts, knative.ts, grpc.ts: a Layout).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { paths } from '../../../control/paths.js';
import { sampleRequests } from '../../../chains/samples.js';
import { CONFIG_ENV, type ReadyMessage } from '../host/child.js';
import { bundleHandlerTo } from '../host/stage-fn.js';
import type { ChainUnderTest, RunningSystem, SystemName, SystemOptions, SystemUnderTest } from '../system.js';
import { planChain, type ChainPlan } from './plan.js';
import { freePorts, Ports } from './ports.js';

const READY_TIMEOUT_MS = 60_000;
/** Processes starting at once: a start is mostly CPU (loading modules),
 * and twenty at once on a small machine would each
 * take as long as all of them. */
const STARTING_AT_ONCE = 4;
const STOP_GRACE_MS = 3000;

export type Role = 'ingress' | 'function' | 'queue-proxy';

/** A baseline's process as it runs. */
export interface BaselineProcess {
  role: Role;
  label: string;
  pid: number;
  port: number;
}

/** What a baseline's up() resolves to: a RunningSystem that also names
 * its processes (for tests that kill or stop one). */
export interface RunningBaseline extends RunningSystem {
  processes(): BaselineProcess[];
}

export interface BaselineSystem extends SystemUnderTest {
  up(chains: readonly ChainUnderTest[], opts: SystemOptions): Promise<RunningBaseline>;
}

/** One process of a baseline. */
export interface ProcessSpec {
  role: Role;
  /** For logs and errors: e.g. "pipeline-stage3#0". */
  label: string;
  /** The port it serves on (config.port). */
  config: { port: number };
}

/** Attempts at bringing a system up when a port was taken between the
 * check and a process's listen (another connection's local port). */
const UP_ATTEMPTS = 3;
class PortTakenError extends Error {}

/** A baseline's processes for the chains; the ingress must be among them
 * and its port is returned. */
export type Layout = (plans: ChainPlan[], ports: Ports) => { processes: ProcessSpec[]; ingressPort: number };

/** Running from sources (vitest, tsx) or from dist/: children follow. */
const fromSource = import.meta.url.endsWith('.ts');
const script = (role: Role) => fileURLToPath(new URL(`../host/${role}-main${fromSource ? '.ts' : '.js'}`, import.meta.url));

interface Child {
  spec: ProcessSpec;
  proc: ChildProcess;
  log: string;
}

const alive = (c: Child) => c.proc.exitCode === null && c.proc.signalCode === null;

function start(spec: ProcessSpec, workDir: string): Child {
  const log = join(workDir, `${spec.label.replace(/[^A-Za-z0-9_.#-]/g, '_')}.log`);
  const out = createWriteStream(log);
  const proc = fork(script(spec.role), [], {
    execArgv: fromSource ? ['--import', pathToFileURL(paths.tsxLoader).href] : [],
    env: { ...process.env, [CONFIG_ENV]: JSON.stringify(spec.config) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  return { spec, proc, log };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

function ready(c: Child): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${c.spec.label} not ready after ${READY_TIMEOUT_MS} ms; its log: ${c.log}`)), READY_TIMEOUT_MS);
    c.proc.once('message', (m: ReadyMessage) => {
      clearTimeout(timer);
      if (m?.ready) resolve();
    });
    c.proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const why = tail(c.log);
      const E = why.includes('EADDRINUSE') ? PortTakenError : Error;
      reject(new E(`${c.spec.label} exited (${signal ?? code}) before it served: ${why || `see ${c.log}`}`));
    });
  });
}

function stop(c: Child): Promise<void> {
  if (!alive(c)) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.proc.kill('SIGKILL'), STOP_GRACE_MS);
    c.proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    c.proc.kill('SIGTERM');
  });
}

async function firstSample(url: string, chain: ChainPlan): Promise<void> {
  const [name, body] = Object.entries(sampleRequests(chain.file)).sort(([a], [b]) => a.localeCompare(b))[0] ?? [];
  if (body === undefined) throw new Error(`${chain.file}: no sample requests (requests/*.json) to check it with`);
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  if (res.status !== 200) throw new Error(`chain ${chain.name} answered sample ${name} with ${res.status}: ${await res.text()}`);
}

/** Bundles each node handler once, here, as ferryd does before it spawns
 * an instance; the function processes load the bundle. */
function bundleAhead(plans: ChainPlan[], workDir: string): void {
  const dir = join(workDir, 'bundles');
  mkdirSync(dir, { recursive: true });
  const done = new Map<string, string | undefined>();
  for (const s of plans.flatMap((p) => p.stages)) {
    if (s.runtime !== 'node') continue;
    if (!done.has(s.handler)) {
      const file = join(dir, `handler-${done.size}.mjs`);
      done.set(s.handler, bundleHandlerTo(s.handler, file) ? file : undefined);
    }
    s.bundle = done.get(s.handler);
  }
}

async function upOnce(name: SystemName, layout: Layout, plans: ChainPlan[], opts: SystemOptions): Promise<RunningBaseline> {
  const { processes, ingressPort } = layout(plans, new Ports(opts.portBase, await freePorts(opts.portBase)));
  opts.log(`${name}: starting ${processes.length} processes (ports from ${opts.portBase})`);
  const children: Child[] = [];
  const url = (chain: string) => `http://127.0.0.1:${ingressPort}/chains/${encodeURIComponent(chain)}`;
  const down = async () => {
    await Promise.all(children.map(stop));
  };
  try {
    const queue = [...processes];
    let failure: unknown;
    const starter = async () => {
      // After a failure nothing more starts: everything started is stopped below.
      for (let p = queue.shift(); p && failure === undefined; p = queue.shift()) {
        const c = start(p, opts.workDir);
        children.push(c);
        await ready(c).catch((err: unknown) => {
          failure ??= err;
        });
      }
    };
    await Promise.all(Array.from({ length: STARTING_AT_ONCE }, starter));
    if (failure !== undefined) throw failure;
    for (const plan of plans) await firstSample(url(plan.name), plan);
  } catch (err) {
    await down();
    throw err;
  }
  opts.log(`${name}: serving ${plans.map((p) => p.name).join(', ')} at http://127.0.0.1:${ingressPort}/chains/`);
  return {
    name,
    url,
    pids: () => children.filter(alive).map((c) => c.proc.pid!),
    processes: () => children.filter(alive).map((c) => ({ role: c.spec.role, label: c.spec.label, pid: c.proc.pid!, port: c.spec.config.port })),
    down,
  };
}

export function baselineSystem(name: SystemName, layout: Layout): BaselineSystem {
  return {
    name,
    async up(chains: readonly ChainUnderTest[], opts: SystemOptions): Promise<RunningBaseline> {
      mkdirSync(opts.workDir, { recursive: true });
      const plans = chains.map((c) => planChain(c.file));
      bundleAhead(plans, opts.workDir);
      for (let attempt = 1; ; attempt++) {
        try {
          return await upOnce(name, layout, plans, opts);
        } catch (err) {
          if (!(err instanceof PortTakenError) || attempt >= UP_ATTEMPTS) throw err;
          opts.log(`${name}: ${err.message.split('\n')[0]}; starting again on other ports`);
        }
      }
    },
  };
}
