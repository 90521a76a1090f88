/**
 * ferry as bench:fl's system under test: one `ferry up` (bench/chains's
 * ferrySystem, eBPF mode, its own FERRY_HOME, ports and pin dir) for the
 * whole run, and per configuration an AggregationJob applied with
 * `ferry apply -f` and deleted after (control/fl/DESIGN.md); while the CLI
 * does not take AggregationJobs yet, jobs go onto a lone ferryd directly
 * (ferryd-direct.ts) and the report says so. The clients
 * talk to its gateway; the numbers come from GET /jobs/J.
 *
 * Memory counted as the aggregators': each aggregator instance's private
 * pages (RssAnon + RssFile of the native runners the job started) plus the
 * job's pool pages once (shared memory: ferryd's RssShmem growth since the
 * job started, or an aggregator's RssShmem if larger): the accumulators,
 * updates in flight or being folded, and the sealed models all live there.
 * Also each aggregator's own peak (perAggregatorMax: the largest VmHWM of
 * the job's runners), what the issue's memory target is about.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processArgv } from '../../../control/ferryd/procfs.js';
import { cli, ferryEbpfSystem, ferryGatewayOf, ferryHomeOf } from '../../chains/systems/ferry.js';
import { processTree } from '../../lib/proc-tree.js';
import { procMemory } from '../memory.js';
import { FlRefused, type FlSystem, type JobSpec, type MemoryReading, type RunningFlSystem, type RunningJob, type SystemOptions } from '../system.js';
import { upDirect } from './ferryd-direct.js';
import { ferryConnection, getJson } from './ferry-http.js';

const OPEN_TIMEOUT_MS = 120_000;

/** GET /jobs/J (DESIGN.md); bytesCopied is this branch's addition to the contract. */
interface JobStatusJson {
  name: string;
  round: number;
  state: string;
  accepted: number;
  rejected: Record<string, number>;
  lastAggregationMs: number;
  lastRoundMs: number;
  bytesCopied?: number;
}

/** nodes: placement.nodes (leaves spread over them), the top on the first. */
export function jobYaml(job: JobSpec, nodes: string[] = []): string {
  const model = job.layers.length > 0 ? `    layers:\n${job.layers.map((l) => `      - { name: ${l.name}, shape: [${l.shape.join(', ')}] }`).join('\n')}` : `    parameters: ${job.paramCount}`;
  return [
    'apiVersion: ferry.dev/v1',
    'kind: AggregationJob',
    `metadata: { name: ${job.name} }`,
    'spec:',
    '  model:',
    '    dtype: float32',
    model,
    `    init: { seed: ${job.seed} }`,
    `  rounds: ${job.rounds}`,
    `  clients: ${job.clients}`,
    `  quorum: ${job.quorum}`,
    `  roundDeadlineMs: ${job.roundDeadlineMs}`,
    '  stragglers: drop',
    `  weighting: ${job.weighting}`,
    `  hierarchy: { fanIn: ${job.fanIn} }`,
    ...(nodes.length > 0 ? [`  placement: { nodes: [${nodes.join(', ')}], top: ${nodes[0]} }`] : []),
    '',
  ].join('\n');
}

const isRunner = (pid: number) => processArgv(pid).some((a) => /ferry-(runner|sandbox)$/.test(a));

/** How jobs get onto ferry: `ferry apply -f` (the real path) or ferryd directly (ferryd-direct.ts). */
export interface Route {
  name: 'apply' | 'direct' | 'two-nodes';
  gateway: string;
  /** Every node's gateway: clients are spread over them (else all at `gateway`, the home's). */
  gateways?: string[];
  /** Every process of the system now. */
  pids(): number[];
  deploy(job: JobSpec): Promise<void>;
  remove(job: JobSpec): Promise<void>;
  down(): Promise<void>;
}

/** `ferry up` and `ferry apply -f`; fails on the first job when the CLI does not take AggregationJobs. */
async function applyRoute(opts: SystemOptions): Promise<Route> {
  const running = await ferryEbpfSystem.up([], opts);
  const home = ferryHomeOf(opts);
  return {
    name: 'apply',
    gateway: ferryGatewayOf(opts),
    pids: () => running.pids(),
    async deploy(job) {
      const file = join(opts.workDir, `${job.name}.yaml`);
      writeFileSync(file, jobYaml(job));
      await cli(home, ['apply', '-f', file]);
    },
    remove: async (job) => void (await cli(home, ['delete', 'job', job.name])),
    down: () => running.down(),
  };
}

async function directRoute(opts: SystemOptions): Promise<Route> {
  const d = await upDirect(opts);
  return { name: 'direct', gateway: d.gateway, pids: () => processTree([d.pid]), deploy: d.deploy, remove: d.remove, down: d.down };
}

/** The job-kind check a CLI without AggregationJob support fails (fl-cp not merged yet). */
const noJobSupport = (err: Error) => /AggregationJob|kind/i.test(err.message);

export async function watchJob(route: Route, job: JobSpec, log: (m: string) => void): Promise<RunningJob> {
  const before = new Set(route.pids());
  const daemons = [...before].filter((p) => !isRunner(p));
  const shmemBase = daemons.reduce((s, p) => s + procMemory(p).shmemBytes, 0);
  await route.deploy(job);
  const gateway = route.gateway;
  const path = `/jobs/${job.name}`;
  const status = async (): Promise<JobStatusJson> => {
    const r = await getJson<JobStatusJson & { error?: { code: string; message: string } }>(gateway, path);
    if (r.status !== 200) throw new FlRefused(r.body.error?.code ?? `http-${r.status}`, r.body.error?.message ?? `GET ${path}: ${r.status}`);
    return r.body;
  };
  const deadline = Date.now() + OPEN_TIMEOUT_MS;
  for (let last = ''; ; await new Promise((r) => setTimeout(r, 250))) {
    try {
      const s = await status();
      if (s.state === 'open') break;
      last = `state ${s.state}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`ferry job ${job.name} was not open within ${OPEN_TIMEOUT_MS / 1000} s (last: ${last})`);
  }
  const aggregators = () => route.pids().filter((p) => !before.has(p) && isRunner(p));
  log(`ferry (${route.name}): ${job.name} open, aggregators ${aggregators().join(', ') || '(none found)'}`);
  const memory = (): MemoryReading => {
    const aggs = aggregators().map(procMemory);
    const privateBytes = aggs.reduce((s, m) => s + m.anonBytes + m.fileBytes, 0);
    const daemonPool = daemons.reduce((s, p) => s + procMemory(p).shmemBytes, 0) - shmemBase;
    const pool = Math.max(daemonPool, ...aggs.map((m) => m.shmemBytes), 0);
    // One aggregator's own footprint: its private pages and the pool pages it
    // maps (its accumulators, the update it folds): the issue's "O(1) models
    // per aggregator". VmHWM, the kernel's record of that process's peak, so
    // a peak inside one fold, between two samples, is not missed.
    const perAggregatorMax = Math.max(0, ...aggs.map((m) => m.hwmBytes));
    return { aggregatorBytes: privateBytes + pool, parts: { aggregatorsPrivate: privateBytes, poolResident: pool, perAggregatorMax } };
  };
  let turn = 0;
  const doors = route.gateways ?? [gateway];
  return {
    system: 'ferry',
    connect: () => ferryConnection(doors[turn++ % doors.length]!, path),
    async status() {
      const s = await status();
      return { round: s.round, accepted: s.accepted, bytesCopied: s.bytesCopied, rejected: s.rejected };
    },
    async roundStat() {
      // Read right after the round's model was fetched: the next round
      // cannot close before this bench's clients upload to it.
      const s = await status();
      return { aggregationMs: s.lastAggregationMs, roundMs: s.lastRoundMs };
    },
    memory,
    // The pool is shared memory: per-process VmHWM would count it once
    // per process, so the sampled peak of memory() is the figure.
    peakMemory: memory,
    async stop() {
      await route.remove(job).catch((err: Error) => log(`ferry: removing job ${job.name}: ${err.message}`));
    },
  };
}

export const ferrySystem: FlSystem = {
  name: 'ferry',
  upTwoNodes: async (opts) => (await import('./ferry-two-nodes.js')).upTwoNodes(opts),
  async up(opts): Promise<RunningFlSystem> {
    let route = await applyRoute(opts);
    let tried = false;
    return {
      async start(job: JobSpec): Promise<RunningJob> {
        if (!tried) {
          tried = true;
          try {
            return await watchJob(route, job, opts.log);
          } catch (err) {
            if (!noJobSupport(err as Error)) throw err;
            opts.log(`ferry: \`ferry apply\` does not take AggregationJobs here (${(err as Error).message.split('\n')[0]}); deploying onto ferryd directly`);
            await route.down();
            route = await directRoute(opts);
          }
        }
        return watchJob(route, job, opts.log);
      },
      down: () => route.down(),
      describe: () =>
        route.name === 'apply'
          ? 'ferry up (eBPF mode), each job applied with ferry apply -f'
          : 'a lone ferryd (eBPF mode), each job deployed over its gRPC as the control plane does (fl-coord job harness): ferry apply does not take AggregationJobs in this build',
    };
  },
};
