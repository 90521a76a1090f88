/**
 * `bench:autoscale -- --live`: kpa and slo, one after the other in one
 * run, on a real control plane and ferryd (cluster.ts), each on the same
 * two chains (chains.ts) under the same load (phases.ts). Every run starts
 * from a freshly applied chain (deleted after), so no policy inherits the
 * instances or the learning of another.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../../../control/paths.js';
import { sharedTempDir } from '../../../test/helpers/dataplane.js';
import type { LiveOptions } from '../options.js';
import { chainName, RUNTIMES, writeChain, workBody } from './chains.js';
import { withCluster } from './cluster.js';
import { coldStarts, driveLoad, loadPhases } from './phases.js';
import { oneLine, ratios, summarize, targets, type RunResult, type Target } from './report.js';

export interface LiveResult {
  mode: 'live';
  runs: RunResult[];
  targets: Target[];
  [more: string]: unknown;
}

const la = () => loadavg().map((x) => Math.round(x * 100) / 100);

export async function runLive(o: LiveOptions, policies: readonly string[], out: string | undefined, log: (m: string) => void): Promise<LiveResult> {
  const started = new Date();
  const loadavgStart = la();
  const dir = sharedTempDir('ferry-bench-autoscale-live-');
  const runs: RunResult[] = [];
  let dataplaneMode = '';
  let sandbox = '';
  try {
    await withCluster(o.mode, log, async (t) => {
      const node = (await t.admin.call('ListNodes', {})).nodes[0];
      dataplaneMode = node?.dataplaneMode ?? '';
      sandbox = node?.sandbox ?? '';
      log(`cluster up: node ${node?.name} (${dataplaneMode}, sandbox ${sandbox}), gateway ${t.cp.gatewayAddress}; load average ${loadavgStart.join(' ')}`);
      for (const policy of policies) {
        for (const runtime of RUNTIMES) {
          const chain = chainName(runtime);
          const url = `http://${t.cp.gatewayAddress}/chains/${chain}`;
          const from = Date.now();
          await t.admin.call('ApplyChain', writeChain(dir, runtime, policy, o));
          log(`${policy}/${runtime}: applied; ${o.coldStarts} cold starts from zero`);
          const cold = await coldStarts(t, chain, url, o.coldStarts);
          log(`${policy}/${runtime}: cold starts ${cold.map((c) => `${Math.round(c.clientMs)}${c.status === 200 ? '' : ` (${c.status})`}`).join(', ')} ms; load: ${loadPhases(o).map((p) => `${p.name} ${p.rate}/s ${p.durationMs / 1000} s`).join(', ')}`);
          const load = await driveLoad(t, chain, url, o);
          const r = summarize(policy, runtime, chain, o.sloMs, cold, load, t.events, from);
          runs.push(r);
          log(oneLine(r));
          await t.admin.call('DeleteChain', { name: chain });
        }
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const result: LiveResult = {
    mode: 'live',
    startedAt: started.toISOString(),
    wallMs: Date.now() - started.getTime(),
    host: { cpus: cpus().length, loadavgStart, loadavgEnd: la(), dataplaneMode, sandbox },
    config: { ...o, policies, phases: loadPhases(o), body: workBody(o), clientTimeoutMs: 15_000 },
    method:
      'Control plane and its ferryd in this process, chains applied over Admin gRPC. Cold start: ScaleStage to 0, then one request ({"cpuUs":0,"waitUs":0}) timed at the client from send to full reply; ' +
      'gatewayP50: the gateway\'s own arrival-to-reply p50 (ChainStatus.coldStartP50Ms, over its last 10 s) read after each, their median. Load: open-loop (paced-load), latency from each request\'s due time. ' +
      'Reaction: phase start to the first autoscale-decision asking for more instances, and to the first scaled event adding some (emitted once they are ready and routed). ' +
      'Violation second: a second (by due time) whose requests\' p99 exceeds the SLO, a failed request counting as infinitely late. Instance-seconds: GetChain polled every second, instances placed (asked), over the load phases.',
    runs,
    targets: targets(runs),
    ratios: ratios(runs),
  };
  const file = out ?? join(repoRoot, 'bench/results', `autoscale-live-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${relative(process.cwd(), file)}`);
  return result;
}
