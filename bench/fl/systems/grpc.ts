/**
 * The gRPC baseline as a system under test: one aggregator process per
 * job (bench/fl/baseline/main.ts), so its VmHWM is that job's peak alone.
 * Everything the server does counts as the aggregator: it receives, keeps,
 * averages and serves in one heap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { paths } from '../../../control/paths.js';
import { BaselineClient, BaselineError } from '../baseline/client.js';
import type { BaselineConfig } from '../baseline/main.js';
import { procMemory } from '../memory.js';
import { FlRefused, type FlConnection, type FlSystem, type JobSpec, type RunningFlSystem, type RunningJob, type SystemOptions } from '../system.js';

const READY_TIMEOUT_MS = 30_000;
/** Running from sources (vitest, tsx) or from dist/: the child follows. */
const fromSource = import.meta.url.endsWith('.ts');
const MAIN = fileURLToPath(new URL(`../baseline/main${fromSource ? '.ts' : '.js'}`, import.meta.url));

async function refusedAs<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw err instanceof BaselineError ? new FlRefused(err.code, err.message) : err;
  }
}

function connection(target: string): FlConnection {
  const c = new BaselineClient(target);
  return {
    upload: async (round, header, tensor) => void (await refusedAs(c.upload(round, header, tensor))),
    download: async (round, opts) => void (await refusedAs(c.download(round, opts))),
    close: () => c.close(),
  };
}

function spawnServer(cfg: BaselineConfig, opts: SystemOptions, job: string): Promise<{ child: ChildProcess; port: number; kernel: string }> {
  const child = spawn(process.execPath, [...(fromSource ? ['--import', pathToFileURL(paths.tsxLoader).href] : []), MAIN, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = join(opts.workDir, `grpc-${job}.log`);
  child.stderr!.pipe(createWriteStream(logFile));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gRPC baseline did not say ready within ${READY_TIMEOUT_MS / 1000} s; see ${logFile}`));
    }, READY_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the gRPC baseline exited (${code}) before it was ready; see ${logFile}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const ready = JSON.parse(line) as { port: number; kernel: string };
      resolve({ child, port: ready.port, kernel: ready.kernel });
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export const grpcSystem: FlSystem = {
  name: 'grpc',
  async up(opts): Promise<RunningFlSystem> {
    let jobs = 0;
    const live = new Set<ChildProcess>();
    return {
      async start(job: JobSpec): Promise<RunningJob> {
        // A port of its own per job: the last job's connections may linger.
        const port = opts.portBase + (jobs++ % 100);
        const cfg: BaselineConfig = { ...job, host: '127.0.0.1', port };
        const { child, kernel } = await spawnServer(cfg, opts, job.name);
        live.add(child);
        const pid = child.pid!;
        opts.log(`grpc: ${job.name} served by pid ${pid} on :${port} (fold kernel: ${kernel})`);
        const target = `127.0.0.1:${port}`;
        const control = new BaselineClient(target);
        // What the process holds before any update: the runtime (Node, grpc-js), not the job.
        const idle = procMemory(pid).rssBytes;
        // The server is the one aggregator: its footprint is also the per-aggregator figure.
        const reading = (bytes: number) => ({ aggregatorBytes: bytes, parts: { server: bytes, serverAtStart: idle, perAggregatorMax: bytes } });
        return {
          system: 'grpc',
          connect: () => connection(target),
          async status() {
            const s = await refusedAs(control.status());
            return { round: s.round, accepted: s.accepted, bytesCopied: s.bytesCopied, rejected: s.rejected };
          },
          async roundStat(round) {
            const s = await refusedAs(control.status());
            const r = s.rounds.find((x) => x.round === round);
            if (!r) throw new Error(`the baseline has no stats for round ${round} (open round ${s.round})`);
            return { aggregationMs: r.aggregationMs, roundMs: r.roundMs };
          },
          memory: () => reading(procMemory(pid).rssBytes),
          peakMemory: () => reading(procMemory(pid).hwmBytes),
          async stop() {
            control.close();
            await stopChild(child);
            live.delete(child);
          },
        };
      },
      describe: () => 'one grpc-js server process per job (bench/fl/baseline)',
      async down() {
        await Promise.all([...live].map(stopChild));
      },
    };
  },
};
