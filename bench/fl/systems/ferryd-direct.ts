/**
 * ferry without its control plane, until `ferry apply -f` takes an
 * AggregationJob (branch fl-cp): ferryd (control/ferryd/main) as a process
 * of its own, eBPF mode, its own pin dir and ports, and each job deployed
 * onto it through ferryd's gRPC as the control plane would (fl-coord's job
 * harness, control/ferryd/jobs/testdata/harness.ts: CreatePool from the
 * model, one builtin:aggregator instance per leaf and the top,
 * ProgramChain with the JobConfig). The harness and the test PKI live with
 * the tests, so this route runs from sources (tsx) only; the report says
 * which route ran.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RouterClass } from '../../../control/dataplane/native.js';
import { paths, repoRoot } from '../../../control/paths.js';
import type { JobSpec, SystemOptions } from '../system.js';

const NODE = 'flb-node';
const READY_TIMEOUT_MS = 60_000;
const fromSource = import.meta.url.endsWith('.ts');

/** A job's pool may take ferryd's largest quota (the default tenant limit, 1 GiB, is less than a 47 MB x 50 clients job asks). */
const TENANT_POOL = '4Gi';
/** ferryd's largest pool (CreatePool quota_bytes). */
const MAX_POOL_BYTES = 2 ** 31;

/** Uploads the pool can hold at once beside the aggregators' buffers (the
 * harness reserves 3 per leaf and 4 more): every client when they fit in
 * ferryd's largest pool, else what fits; the others wait for a buffer. */
function inFlightFor(job: JobSpec): number {
  const buffer = Math.ceil((64 + 4 * job.paramCount) / 64) * 64 + 256 * 64;
  const leaves = Math.ceil(job.clients / job.fanIn);
  return Math.max(1, Math.min(job.clients, Math.floor(MAX_POOL_BYTES / buffer) - (3 * leaves + 4)));
}

export interface DirectFerry {
  gateway: string;
  pid: number;
  deploy(job: JobSpec): Promise<void>;
  remove(job: JobSpec): Promise<void>;
  down(): Promise<void>;
}

export async function upDirect(opts: SystemOptions): Promise<DirectFerry> {
  if (!fromSource) throw new Error('ferry has no `apply` for AggregationJobs in this build and the direct route needs the test harness: run bench:fl from sources (node --import tsx bench/fl/run.ts)');
  // Test-only modules (a throwaway PKI, the job harness): loaded only here.
  const { testCredentialDir } = await import('../../../test/helpers/pki.js');
  const { connectFerryd } = await import('../../../control/ferryd/testdata/harness.js');
  const { deployJob } = await import('../../../control/ferryd/jobs/testdata/harness.js');
  const pinDir = `/sys/fs/bpf/flb-${process.pid}-${opts.portBase}`;
  const grpc = `127.0.0.1:${opts.portBase + 1}`;
  const gateway = `127.0.0.1:${opts.portBase + 2}`;
  const tlsDir = await testCredentialDir({ kind: 'node', name: NODE });
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(paths.tsxLoader).href, join(repoRoot, 'control/ferryd/main.ts'), '--tls-dir', tlsDir, '--name', NODE, '--grpc', grpc, '--gateway', gateway, '--pin-dir', pinDir, '--mode', 'ebpf', '--sandbox', 'off', '--tenant-pool-bytes', TENANT_POOL],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logFile = join(opts.workDir, 'ferryd.log');
  child.stderr!.pipe(createWriteStream(logFile));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const client = connectFerryd(grpc, NODE);
  const down = async () => {
    client.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    try {
      RouterClass.unpin(pinDir);
    } catch {
      /* never pinned */
    }
    rmSync(pinDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await client.getNodeInfo();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await down();
        throw new Error(`ferryd did not answer on ${grpc} within ${READY_TIMEOUT_MS / 1000} s (${(err as Error).message}); see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  opts.log(`ferry (direct): ferryd pid ${child.pid} on ${grpc}, gateway ${gateway}, pins ${pinDir}`);
  const chains = new Map<string, number>();
  let next = 1;
  return {
    gateway,
    pid: child.pid!,
    async deploy(job) {
      const chainId = next++;
      chains.set(job.name, chainId);
      await deployJob(client, {
        chainId,
        base: chainId * 1000,
        name: job.name,
        paramCount: job.paramCount,
        layers: job.layers,
        leaves: Math.ceil(job.clients / job.fanIn),
        rounds: job.rounds,
        clients: job.clients,
        quorum: job.quorum,
        roundDeadlineMs: job.roundDeadlineMs,
        weighting: job.weighting,
        seed: job.seed,
        inFlight: inFlightFor(job),
        timeoutMs: 120_000,
        bodyTimeoutMs: 120_000,
      });
    },
    async remove(job) {
      const chainId = chains.get(job.name);
      if (chainId !== undefined) await client.deleteChain({ chainId });
      chains.delete(job.name);
    },
    down,
  };
}
