/**
 * `bench:autoscale -- --measure`: the chain's service times and cold starts
 * on a real ferryd (node.ts), written as its profile for the simulator.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { relative } from 'node:path';
import type { ChainIR } from '../../../control/chain/ir.js';
import { repoRoot } from '../../../control/paths.js';
import { profilePath, type ChainProfile } from '../profile.js';
import { measureColdStarts } from './cold-start.js';
import { deployChain } from './node.js';
import { measureService } from './service.js';

export interface MeasureOptions {
  file: string;
  samples: Record<string, string>;
  perPoint: number;
  gapMs: number;
  coldStartRounds: number;
  out?: string;
  log: (m: string) => void;
}

export const METHOD =
  'Real ferryd in-process (eBPF as root, else relay; sandbox as ferryd defaults: per-tenant uid, cgroup CPU quota from resources), chain deployed over its gRPC API. ' +
  'Service: each stage of each sample request timed alone: its input injected at the stage from a gateway endpoint, its output sent to a native echo ' +
  'instance of the next stage that hands it back; the echo round trip (echoMs) is timed too and its median taken off, so a service time is the stage ' +
  'plus the hop into it (the last stage of a path also keeps its hop back). One request at a time, gapMs apart, points interleaved in batches of 25. ' +
  'endToEndMs: the whole request from the entry, unloaded. cpuMs, cpuWaitMs: CPU time and run-queue wait of each instance (schedstat, all threads) over the run per request it received. Cold start: StartInstance to the ready event, plus the first request on the new instance beyond a warm one.';

export async function measureChain(ir: ChainIR, opts: MeasureOptions): Promise<ChainProfile> {
  const loadavgBefore = loadavg();
  opts.log(`deploying ${ir.name} on a real ferryd`);
  const node = await deployChain(ir);
  try {
    const service = await measureService(node, ir, opts.samples, opts.perPoint, opts.gapMs, opts.log);
    opts.log('measuring cold starts');
    const echo = service.echoMs[Math.floor(service.echoMs.length / 2)] ?? 0;
    const coldStarts = await measureColdStarts(node, ir, service.requests, service.inputs, echo, opts.coldStartRounds, opts.log);
    const profile: ChainProfile = {
      chain: ir.name,
      file: relative(repoRoot, opts.file),
      measuredAt: new Date().toISOString(),
      host: {
        cpus: cpus().length,
        loadavgBefore: loadavgBefore.map((x) => Math.round(x * 100) / 100),
        loadavgAfter: loadavg().map((x) => Math.round(x * 100) / 100),
        mode: node.ferryd.info.dataplaneMode,
        sandbox: node.ferryd.info.sandbox,
      },
      method: `${METHOD} perPoint=${opts.perPoint} gapMs=${opts.gapMs} coldStartRounds=${opts.coldStartRounds}`,
      echoMs: service.echoMs,
      cpuMs: service.cpuMs,
      cpuWaitMs: service.cpuWaitMs,
      requests: service.requests,
      coldStarts,
    };
    const out = opts.out ?? profilePath(ir.name);
    writeFileSync(out, JSON.stringify(profile, null, 1) + '\n');
    opts.log(`wrote ${out}`);
    return profile;
  } finally {
    await node.close();
  }
}
