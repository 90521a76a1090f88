/**
 * ferry over two nodes for `bench:fl --nodes 2`: the test cluster of
 * test/multinode (two real ferryd in network namespaces a and b, `ferry up
 * --no-local-node`, `ferry node add` each), and each job applied with
 * `ferry apply -f` with `placement: { nodes: [a, b], top: a }`: leaves on
 * both nodes, home on a; the clients alternate between a's and b's
 * gateways, so half the updates arrive at the follower and only leaf
 * partials and models cross between the nodes (control/fl/DESIGN.md
 * "Multi-node"). Root only (namespaces); the netns names start with
 * $FL_BENCH_NETNS_PREFIX (default ferry).
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { processTree } from '../../lib/proc-tree.js';
import { ferryCli } from '../../../test/helpers/ferry-cli.js';
import { clusterDown, clusterUp } from '../../../test/multinode/cluster.js';
import { claimSubnet, NetnsPair, netnsUnavailable } from '../../../test/multinode/netns-nodes.js';
import type { JobSpec, RunningFlSystem, SystemOptions } from '../system.js';
import { jobYaml, watchJob, type Route } from './ferry.js';

/** Third octets 10.21[345].X this bench may claim (the tests take 20..255 below them). */
const SUBNETS: [number, number] = [200, 220];

export async function upTwoNodes(opts: SystemOptions): Promise<RunningFlSystem> {
  if (netnsUnavailable) throw new Error(`two nodes need network namespaces: ${netnsUnavailable}`);
  const home = join(opts.workDir, 'home-2');
  const pair = new NetnsPair(`f${process.pid % 100000}`, claimSubnet(...SUBNETS), process.env.FL_BENCH_NETNS_PREFIX ?? 'ferry');
  const ferry = ferryCli(home);
  const must = async (...args: string[]) => {
    const r = await ferry(...args);
    if (r.code !== 0) throw new Error(`ferry ${args.join(' ')}: ${r.stderr.trim()}`);
  };
  opts.log('ferry (2 nodes): bringing up namespaces a and b and joining them');
  try {
    await clusterUp(pair, ferry, home);
  } catch (err) {
    await clusterDown(pair, ferry, home).catch(() => undefined);
    throw err;
  }
  const doors = [pair.a, pair.b].map((n) => `${n.hostIp}:8080`);
  const route: Route = {
    name: 'two-nodes',
    gateway: doors[0]!,
    gateways: doors,
    pids: () => processTree([pair.a.child?.pid, pair.b.child?.pid].filter((p): p is number => p !== undefined)),
    async deploy(job: JobSpec) {
      const file = join(opts.workDir, `${job.name}.yaml`);
      writeFileSync(file, jobYaml(job, ['a', 'b']));
      await must('apply', '-f', file);
    },
    remove: (job: JobSpec) => must('delete', 'job', job.name),
    down: () => clusterDown(pair, ferry, home),
  };
  return {
    start: (job) => watchJob(route, job, opts.log),
    describe: () => 'two ferryd in network namespaces a and b under one control plane (ferry node add), each job applied with ferry apply -f, placement.nodes [a, b], top on a; clients alternate between the two gateways',
    down: () => route.down(),
  };
}
