/**
 * ferry as bench:fl's system under test: one `ferry up` (bench/chains's
 * ferrySystem, eBPF mode, its own FERRY_HOME, ports and pin dir) for the
 * whole run, and per configuration an AggregationJob applied with
 * `ferry apply -f` and deleted after (control/fl/DESIGN.md). The clients
 * talk to its gateway; the numbers come from GET /jobs/J.
 *
 * Memory counted as the aggregators': each aggregator instance's private
 * pages (RssAnon + RssFile of the native runners the job started) plus the
 * job's pool pages once (shared memory: ferryd's RssShmem growth since the
 * job started, or an aggregator's RssShmem if larger): the accumulators,
 * updates in flight or being folded, and the sealed models all live there.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processArgv } from '../../../control/ferryd/procfs.js';
import { cli, ferryEbpfSystem, ferryGatewayOf, ferryHomeOf } from '../../chains/systems/ferry.js';
import { procMemory } from '../memory.js';
import { FlRefused, type FlSystem, type JobSpec, type MemoryReading, type RunningFlSystem, type RunningJob } from '../system.js';
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

export function jobYaml(job: JobSpec): string {
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
    '',
  ].join('\n');
}

const isRunner = (pid: number) => processArgv(pid).some((a) => /ferry-(runner|sandbox)$/.test(a));

export const ferrySystem: FlSystem = {
  name: 'ferry',
  async up(opts): Promise<RunningFlSystem> {
    const running = await ferryEbpfSystem.up([], opts);
    const home = ferryHomeOf(opts);
    const gateway = ferryGatewayOf(opts);
    return {
      async start(job: JobSpec): Promise<RunningJob> {
        const before = new Set(running.pids());
        const daemons = [...before].filter((p) => !isRunner(p));
        const shmemBase = daemons.reduce((s, p) => s + procMemory(p).shmemBytes, 0);
        const file = join(opts.workDir, `${job.name}.yaml`);
        writeFileSync(file, jobYaml(job));
        await cli(home, ['apply', '-f', file]);
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
          if (Date.now() > deadline) throw new Error(`ferry job ${job.name} was not open within ${OPEN_TIMEOUT_MS / 1000} s (last: ${last}); see ${home}`);
        }
        const aggregators = () => running.pids().filter((p) => !before.has(p) && isRunner(p));
        opts.log(`ferry: ${job.name} open, aggregators ${aggregators().join(', ') || '(none found)'}`);
        const memory = (): MemoryReading => {
          const aggs = aggregators().map(procMemory);
          const privateBytes = aggs.reduce((s, m) => s + m.anonBytes + m.fileBytes, 0);
          const daemonPool = daemons.reduce((s, p) => s + procMemory(p).shmemBytes, 0) - shmemBase;
          const pool = Math.max(daemonPool, ...aggs.map((m) => m.shmemBytes), 0);
          return { aggregatorBytes: privateBytes + pool, parts: { aggregatorsPrivate: privateBytes, poolResident: pool } };
        };
        return {
          system: 'ferry',
          connect: () => ferryConnection(gateway, path),
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
          // The pool is shared memory: per-process VmHWM would count it
          // once per process, so the sampled peak of memory() is the figure.
          peakMemory: memory,
          async stop() {
            await cli(home, ['delete', 'job', job.name]).catch((err: Error) => opts.log(`ferry: delete job ${job.name}: ${err.message}`));
          },
        };
      },
      down: () => running.down(),
    };
  },
};
