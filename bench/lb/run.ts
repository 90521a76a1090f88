/**
 * bench:lb — the balance policies against one slow node, on real parts.
 *
 *   npm run bench:lb -- [--json] [--rate N] [--work-us N] [--warmup-s N] [--measure-s N]
 *                       [--rounds N] [--policies a,b,...] [--slow-cpus X] [--fast-cpus X]
 *                       [--tick-ms N] [--shares N] [--mode auto|ebpf|fallback] [--seed N] [--out FILE] [--trace]
 *
 * Four ferryd in four network namespaces on one bridge (test/multinode/
 * netns-star.sh), linked by their peer listeners (mutual TLS): g runs the
 * HTTP gateway and no instance of the stage; w1, w2 and w3 run one instance
 * each of the chain's one stage (the native runner with bench/lb's work
 * function: WORK_US of CPU per request). Each worker node is a "container"
 * with a CPU limit (a cgroup its ferryd and instances run in): w1 and w2 get
 * --fast-cpus (default 1), w3 a third of that (--slow-cpus), so every request
 * takes w3 three times as long. g's egress picks the node for each request,
 * by the weights g's balancer sets with the policy under test. Every node
 * and the client run with a CPU weight of --shares (default 4096, four
 * times the default), so that on a machine others use too the nodes get
 * the CPU they ask for and w3 stays three times slower (bench/lb/README.md).
 *
 * An open-loop client (bench/lib/paced-load.ts) sends --rate requests a
 * second, each at its due time, and measures latency from the due time. For
 * every round, every policy runs once (in a random order per round, so a
 * slow spell of the shared machine does not fall on one policy): g is
 * reprogrammed with the policy (it starts learning afresh), the load runs
 * warm-up + measure seconds, only the measured part counts, then the queues
 * drain. Results pool each policy's rounds: mean, p50, p99, p99.9 latency,
 * errors, each node's share of the requests; and p99 ratios against
 * round-robin and random. Target (issue #9): ucb1, linucb and least-load
 * each at least 1.5x better than both on p99.
 *
 * Needs root (namespaces, cgroups, eBPF). Prints one JSON object with
 * --json, and writes it to bench/results/lb-<date>.json (or --out).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkBalance, POLICY_NAMES } from '../../control/balance/registry.js';
import type { FerrydClient } from '../../control/ferryd/client.js';
import type { NodeStats, StageBalance } from '../../control/ferryd/proto.js';
import { parseMountinfo } from '../../control/node/sandbox/cgroups/tree.js';
import { repoRoot } from '../../control/paths.js';
import { paced, percentile } from '../lib/paced-load.js';
import { connectFerryd, waitFor } from '../../control/ferryd/testdata/harness.js';
import { testCredentialDir } from '../../test/helpers/pki.js';
import { claimSubnet, netnsUnavailable } from '../../test/multinode/netns-nodes.js';
import { NetnsStar, type StarNode } from '../../test/multinode/netns-star.js';
import { cpuCgroup, type CpuCgroup } from './cgroup.js';
import { seeded, shuffle } from '../lib/random.js';

const WORK = join(repoRoot, 'bench/lb/functions/work.so');
const CHAIN = 1;
const GATEWAY = 1;
const REPLY = 0xffff;
const WORKERS = ['w1', 'w2', 'w3'] as const;
const INSTANCE: Record<(typeof WORKERS)[number], number> = { w1: 11, w2: 12, w3: 13 };
/** Consistent hashing needs request keys and does not adapt: not compared here. */
const COMPARED = POLICY_NAMES.filter((p) => p !== 'consistent-hash');
/** The target's policies and baselines. */
const TARGET = { policies: ['ucb1', 'linucb', 'least-load'], baselines: ['round-robin', 'random'], ratio: 1.5 };

const USAGE = `usage: npm run bench:lb -- [--json] [--rate N] [--work-us N] [--warmup-s N] [--measure-s N] [--rounds N]
  [--policies ${COMPARED.join(',')}] [--slow-cpus X] [--fast-cpus X] [--tick-ms N] [--shares N] [--mode auto|ebpf|fallback] [--seed N] [--out FILE] [--trace]`;

interface Options {
  json: boolean;
  rate: number;
  workUs: number;
  warmupS: number;
  measureS: number;
  rounds: number;
  policies: string[];
  fastCpus: number;
  slowCpus: number;
  tickMs: number;
  shares: number;
  mode: string;
  seed: number;
  out: string;
  /** Keep every run's weights over time (g's, every tick) in the JSON. */
  trace: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      rate: { type: 'string', default: '200' },
      'work-us': { type: 'string', default: '3000' },
      'warmup-s': { type: 'string', default: '5' },
      'measure-s': { type: 'string', default: '15' },
      rounds: { type: 'string', default: '3' },
      policies: { type: 'string', default: COMPARED.join(',') },
      'fast-cpus': { type: 'string', default: '1' },
      'slow-cpus': { type: 'string' },
      'tick-ms': { type: 'string', default: '250' },
      shares: { type: 'string', default: '4096' },
      mode: { type: 'string', default: 'auto' },
      seed: { type: 'string', default: '9' },
      out: { type: 'string' },
      trace: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (flag: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${flag}: expected a number from ${min} to ${max}, got "${v}"\n${USAGE}`);
    return n;
  };
  const policies = values.policies.split(',').filter(Boolean);
  for (const p of policies) if (!checkBalance({ policy: p }).spec) throw new Error(`--policies: "${p}" is not one of ${COMPARED.join(', ')}\n${USAGE}`);
  if (!['auto', 'ebpf', 'fallback'].includes(values.mode)) throw new Error(`--mode: expected auto, ebpf or fallback, got "${values.mode}"`);
  const fastCpus = num('fast-cpus', values['fast-cpus'], 0.34, 64);
  return {
    json: values.json,
    rate: num('rate', values.rate, 1, 100_000),
    workUs: num('work-us', values['work-us'], 0, 1_000_000),
    warmupS: num('warmup-s', values['warmup-s'], 0, 3600),
    measureS: num('measure-s', values['measure-s'], 1, 3600),
    rounds: num('rounds', values.rounds, 1, 100),
    policies,
    fastCpus,
    slowCpus: values['slow-cpus'] === undefined ? fastCpus / 3 : num('slow-cpus', values['slow-cpus'], 0.34, 64),
    tickMs: num('tick-ms', values['tick-ms'], 20, 10_000),
    shares: num('shares', values.shares, 2, 262_144),
    mode: values.mode,
    seed: num('seed', values.seed, 0, 2 ** 31),
    out: values.out ?? join(repoRoot, 'bench/results', `lb-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    trace: values.trace,
  };
}

/** Back to the root cgroups, so the client's can be removed. */
function leaveCgroups(): void {
  for (const m of parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')))
    if ((m.fstype === 'cgroup' && (m.superOptions.includes('cpu') || m.superOptions.includes('cpuacct'))) || m.fstype === 'cgroup2')
      try {
        writeFileSync(join(m.mountpoint, 'cgroup.procs'), String(process.pid));
      } catch {
        // not ours to leave
      }
}

const say = (o: Options, line: string) => (o.json ? process.stderr : process.stdout).write(`${line}\n`);

/** The policies in a seeded order (each round its own). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  return shuffle([...items], seeded(seed));
}

async function oneStats(c: FerrydClient): Promise<NodeStats> {
  const stream = c.streamStats({ intervalMs: 50 });
  try {
    for await (const s of stream) return s as NodeStats;
  } finally {
    stream.cancel();
  }
  throw new Error('no stats');
}

interface Cluster {
  star: StarNode[];
  clients: Map<string, FerrydClient>;
  url: string;
  program(policy: string): Promise<void>;
  /** Requests each worker's instance has received so far. */
  served(): Promise<number[]>;
  drained(): Promise<boolean>;
  balance(): Promise<StageBalance | undefined>;
}

async function setUp(o: Options, star: NetnsStar, cgroups: Map<string, CpuCgroup>): Promise<Cluster> {
  star.up();
  for (const n of star.nodes) {
    const cg = cgroups.get(n.name);
    star.start(n, {
      tlsDir: await testCredentialDir({ kind: 'node', name: n.name }),
      gateway: n.name === 'g',
      args: ['--mode', o.mode, '--balance-tick-ms', String(o.tickMs)],
      cgroupProcs: cg?.procs ?? [],
    });
  }
  const clients = new Map(star.nodes.map((n) => [n.name, connectFerryd(`${n.ip}:7070`, n.name)]));
  const peerOf = new Map<string, string>();
  for (const n of star.nodes) {
    const info = await waitFor(`ferryd ${n.name}`, () => clients.get(n.name)!.getNodeInfo({ timeoutMs: 1000 }), 60_000);
    peerOf.set(n.name, info.peerAddress);
    say(o, `  ${n.name}: ${info.dataplaneMode}, sandbox ${info.sandbox}`);
  }
  const g = clients.get('g')!;
  const gPeers = { peers: WORKERS.map((w) => ({ name: w, address: peerOf.get(w)! })), infraIdBase: 1000, infraIdCount: 50 };
  await g.setPeers(gPeers);
  for (const [i, w] of WORKERS.entries()) {
    const c = clients.get(w)!;
    await c.setPeers({ peers: [{ name: 'g', address: peerOf.get('g')! }], infraIdBase: 1100 + 100 * i, infraIdCount: 50 });
    await c.createPool({ chainId: CHAIN, chainName: 'lb' });
    await c.startInstance({
      chainId: CHAIN,
      instanceId: INSTANCE[w],
      stage: 0,
      stageName: 'work',
      runtime: 'native',
      handler: WORK,
      next: [],
      env: { WORK_US: String(o.workUs) },
    });
    await c.programChain({
      chainId: CHAIN,
      routes: [{ stage: 0, targets: [{ instance: INSTANCE[w], weight: 1 }] }],
      allow: [
        { fromStage: REPLY, toStage: 0 },
        { fromStage: 0, toStage: REPLY },
      ],
      remoteGateways: [{ instance: GATEWAY, node: 'g' }],
    });
    await waitFor(`${w}'s instance to be ready`, async () => ((await c.listInstances({ chainId: CHAIN })).instances.every((x) => x.ready) ? true : undefined));
  }
  await g.createPool({ chainId: CHAIN, chainName: 'lb' });
  const program = async (policy: string) => {
    await g.programChain({
      chainId: CHAIN,
      routes: [{ stage: 0, targets: WORKERS.map((w) => ({ instance: INSTANCE[w], weight: 1, node: w })), balance: { name: policy } }],
      allow: [
        { fromStage: REPLY, toStage: 0 },
        { fromStage: 0, toStage: REPLY },
      ],
      gateway: { chainName: 'lb', entryStage: 0, timeoutMs: 30_000, gatewayInstanceId: GATEWAY },
    });
  };
  await program('random');
  await waitFor('g to link to every worker', async () => ((await g.setPeers(gPeers)).connected.length === WORKERS.length ? true : undefined));
  const gNode = star.nodes.find((n) => n.name === 'g')!;
  return {
    star: star.nodes,
    clients,
    url: `http://${gNode.ip}:8080/chains/lb`,
    program,
    served: async () =>
      Promise.all(WORKERS.map(async (w) => (await oneStats(clients.get(w)!)).instances.find((i) => i.instanceId === INSTANCE[w])?.rxMsgs ?? 0)),
    drained: async () => {
      for (const w of WORKERS) {
        const i = (await oneStats(clients.get(w)!)).instances.find((x) => x.instanceId === INSTANCE[w]);
        if (!i || i.rxMsgs !== i.txMsgs) return false;
      }
      return true;
    },
    balance: async () => (await oneStats(g)).balance.find((b) => b.chainId === CHAIN && b.stage === 0),
  };
}

interface Run {
  policy: string;
  round: number;
  latencies: number[];
  errors: number;
  served: number[];
  weights: Record<string, number>;
  reason: string;
  /** With --trace: [ms since the run began, w1, w2, w3 weights]. */
  trace?: number[][];
}

async function runPolicy(o: Options, c: Cluster, policy: string, round: number): Promise<Run> {
  await c.program(policy);
  const warm = Math.round(o.rate * o.warmupS);
  const measureAt = o.warmupS * 1000;
  let before: Promise<number[]> = Promise.resolve([0, 0, 0]);
  const mark = setTimeout(() => (before = c.served()), measureAt);
  const trace: number[][] = [];
  const started = Date.now();
  const tracer = o.trace
    ? setInterval(() => {
        void c.balance().then((b) => trace.push([Date.now() - started, ...WORKERS.map((w) => b?.targets.find((t) => t.node === w)?.weight ?? 0)]));
      }, o.tickMs)
    : undefined;
  const r = await paced({ url: c.url, rate: o.rate, durationMs: (o.warmupS + o.measureS) * 1000, timeoutMs: 30_000 });
  clearTimeout(mark);
  clearInterval(tracer);
  const after = await c.served();
  const b = await before;
  const stage = await c.balance();
  const latencies = r.latenciesMs.slice(warm);
  const errors = r.sent - (r.statuses.get(200) ?? 0);
  await waitFor('the workers to drain', async () => ((await c.drained()) ? true : undefined), 120_000);
  return {
    policy,
    round,
    latencies,
    errors,
    served: after.map((n, i) => n - b[i]!),
    weights: Object.fromEntries((stage?.targets ?? []).map((t) => [t.node, t.weight])),
    reason: stage?.reason ?? '',
    ...(o.trace ? { trace } : {}),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function summarise(o: Options, runs: Run[]) {
  const results = o.policies.map((policy) => {
    const mine = runs.filter((r) => r.policy === policy);
    const lat = mine.flatMap((r) => r.latencies);
    const served = WORKERS.map((_, i) => mine.reduce((s, r) => s + r.served[i]!, 0));
    const total = served.reduce((a, b) => a + b, 0);
    return {
      policy,
      requests: lat.length,
      errors: mine.reduce((s, r) => s + r.errors, 0),
      meanMs: round2(lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length)),
      p50Ms: round2(percentile(lat, 0.5)),
      p99Ms: round2(percentile(lat, 0.99)),
      p999Ms: round2(percentile(lat, 0.999)),
      perRoundP99Ms: mine.map((r) => round2(percentile(r.latencies, 0.99))),
      share: Object.fromEntries(WORKERS.map((w, i) => [w, round2(served[i]! / Math.max(1, total))])),
      lastWeights: mine.at(-1)?.weights ?? {},
      lastReason: mine.at(-1)?.reason ?? '',
      ...(o.trace ? { trace: mine.map((r) => r.trace ?? []) } : {}),
    };
  });
  const p99 = (p: string) => results.find((r) => r.policy === p)?.p99Ms;
  const ratios = Object.fromEntries(
    results.map((r) => [
      r.policy,
      Object.fromEntries(TARGET.baselines.filter((b) => p99(b) !== undefined).map((b) => [`p99Vs${b === 'random' ? 'Random' : 'RoundRobin'}`, round2(p99(b)! / r.p99Ms)])),
    ]),
  );
  const checked = TARGET.policies.filter((p) => p99(p) !== undefined);
  const met =
    checked.length === TARGET.policies.length &&
    TARGET.baselines.every((b) => p99(b) !== undefined) &&
    checked.every((p) => TARGET.baselines.every((b) => p99(b)! / p99(p)! >= TARGET.ratio));
  return { results, ratios, target: { policies: TARGET.policies, over: TARGET.baselines, p99Ratio: TARGET.ratio, met } };
}

async function main(): Promise<void> {
  const o = options();
  if (netnsUnavailable) throw new Error(`bench:lb needs network namespaces and root: ${netnsUnavailable}`);
  const x = claimSubnet(20, 220);
  const star = new NetnsStar(`lb${process.pid % 100000}`, x, ['g', ...WORKERS]);
  const cgroups = new Map<string, CpuCgroup>();
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await star.down().catch((err: Error) => say(o, `cleanup: ${err.message}`));
    leaveCgroups();
    for (const cg of cgroups.values()) await cg.remove().catch(() => undefined);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  const load = { start: loadavg().map(round2), end: [] as number[] };
  const runs: Run[] = [];
  try {
    for (const w of WORKERS) cgroups.set(w, cpuCgroup(`ferry-bench-lb-${process.pid}-${w}`, { cpus: w === 'w3' ? o.slowCpus : o.fastCpus, shares: o.shares }));
    cgroups.set('g', cpuCgroup(`ferry-bench-lb-${process.pid}-g`, { shares: o.shares }));
    // The client too: its latencies are everyone's.
    const client = cpuCgroup(`ferry-bench-lb-${process.pid}-client`, { shares: o.shares });
    cgroups.set('client', client);
    for (const f of client.procs) writeFileSync(f, String(process.pid));
    say(o, `bench:lb: ${o.policies.length} policies x ${o.rounds} rounds at ${o.rate} req/s, ${o.workUs} us of CPU per request; w1, w2 ${o.fastCpus} CPU, w3 ${o.slowCpus.toFixed(2)} CPU; load average ${load.start.join(' ')}`);
    const cluster = await setUp(o, star, cgroups);
    for (let round = 0; round < o.rounds; round++)
      for (const policy of shuffled(o.policies, o.seed + round)) {
        const r = await runPolicy(o, cluster, policy, round);
        runs.push(r);
        const s = r.served.reduce((a, b) => a + b, 0);
        say(o, `  round ${round + 1} ${policy.padEnd(18)} p50 ${percentile(r.latencies, 0.5).toFixed(1).padStart(7)} ms  p99 ${percentile(r.latencies, 0.99).toFixed(1).padStart(7)} ms  errors ${r.errors}  w3 share ${(r.served[2]! / Math.max(1, s)).toFixed(2)}  (load ${loadavg()[0]!.toFixed(2)})`);
      }
    for (const c of cluster.clients.values()) c.close();
  } finally {
    load.end = loadavg().map(round2);
    await cleanup();
  }
  const summary = summarise(o, runs);
  const out = {
    bench: 'lb',
    date: new Date().toISOString(),
    loadavg: load,
    config: {
      rate: o.rate,
      workUs: o.workUs,
      warmupS: o.warmupS,
      measureS: o.measureS,
      rounds: o.rounds,
      fastCpus: o.fastCpus,
      slowCpus: round2(o.slowCpus),
      shares: o.shares,
      tickMs: o.tickMs,
      mode: o.mode,
      seed: o.seed,
      nodes: 'g (gateway) + w1, w2, w3 (one instance each) in network namespaces',
    },
    ...summary,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(out, null, 2)}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    say(o, `\n${'policy'.padEnd(18)} ${'mean'.padStart(8)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}  vs rr  vs random  w3 share`);
    for (const r of summary.results) {
      const ratio = summary.ratios[r.policy] as Record<string, number>;
      say(o, `${r.policy.padEnd(18)} ${r.meanMs.toFixed(1).padStart(8)} ${r.p50Ms.toFixed(1).padStart(8)} ${r.p99Ms.toFixed(1).padStart(8)}  ${String(ratio.p99VsRoundRobin ?? '-').padStart(5)}  ${String(ratio.p99VsRandom ?? '-').padStart(8)}  ${r.share.w3}`);
    }
    say(o, `target (${TARGET.policies.join(', ')} >= ${TARGET.ratio}x better p99 than ${TARGET.baselines.join(' and ')}): ${summary.target.met ? 'met' : 'NOT met'}; load average ${load.start.join(' ')} -> ${load.end.join(' ')}; written to ${o.out}`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:lb: ${err.message}\n`);
  process.exit(1);
});
