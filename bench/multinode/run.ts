/**
 * bench:multinode — what an inter-node hop costs, against the wire it rides.
 *
 * Two real ferryd in two network namespaces joined by veth (the two-node
 * tests' NetnsPair, namespaces fpl-a-* / fpl-b-*), linked by their peer
 * listeners. Two chains of the same two pass-through native stages
 * (bench/hop/functions/echo.so, zero copy) are served by a's gateway:
 *  - `same`:  both stages on node a;
 *  - `split`: the first on a, the second on b, so the request crosses
 *    a -> b with its payload and the reply b -> a with it: one round trip.
 * One request in flight; for every sample the bench sends, in turn, one
 * request to each chain and one raw TCP round trip of the same payload
 * over the same a <-> b veth (tcp-echo.ts: an echo server in b, a pinger in
 * a), so all three see the same machine at the same moment. It reports per
 * payload size p50/p99 of each and (cross - same) / raw TCP RTT at p50,
 * with the target (<= 2x at 4 KiB..1 MiB) met or not.
 *
 * Each data plane mode runs with each peer transport: tls (the default,
 * which encrypts in user space) and tcp (plain, payloads read and written
 * in place in the pools).
 *
 *   npm run bench:multinode -- [--json] [--quick] [--modes ebpf,fallback] [--transports tls,tcp] [--samples N] [--out FILE]
 *
 * Results go to bench/results/multinode-<UTC timestamp>.json. Progress on
 * stderr. Needs root (namespaces, BPF).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { RouterClass } from '../../control/dataplane/native.js';
import type { FerrydClient } from '../../control/ferryd/client.js';
import { mainThreadCpuMs } from '../../control/ferryd/procfs.js';
import { connectFerryd, waitFor } from '../../control/ferryd/testdata/harness.js';
import { paths, repoRoot } from '../../control/paths.js';
import { percentile } from '../lib/paced-load.js';
import { testCredentialDir } from '../../test/helpers/pki.js';
import { PEER_TRANSPORTS, type PeerTransport } from '../../control/node/peer/link.js';
import { claimSubnet, NetnsPair, netnsUnavailable, stopFerrydIn, type NetnsNode } from '../../test/multinode/netns-nodes.js';

const ECHO = join(repoRoot, 'bench/hop/functions/echo.so');
const TCP_ECHO = join(repoRoot, 'bench/multinode/tcp-echo.ts');
/** Inside b's namespace: nobody else's port space. */
const TCP_ECHO_PORT = 46001;
const METRICS_PORT = 46002;
const REPLY = 0xffff;
const SIZES = [64, 4 << 10, 64 << 10, 1 << 20];
/** The target: (cross - same) <= 2x a raw TCP round trip at these sizes. */
const TARGET = { ratio: 2, sizes: [4 << 10, 64 << 10, 1 << 20] };
const MODES = ['ebpf', 'fallback'] as const;
type Mode = (typeof MODES)[number];

/** The two chains: same-node and split, each with its gateway on a. */
const CHAINS = {
  same: { chainId: 1, gateway: 1, s0: { instance: 10, node: 'a' }, s1: { instance: 11, node: 'a' } },
  split: { chainId: 2, gateway: 2, s0: { instance: 20, node: 'a' }, s1: { instance: 21, node: 'b' } },
} as const;

export interface MultinodeOptions {
  quick: boolean;
  json: boolean;
  out?: string;
  log: (m: string) => void;
  /** Default: ebpf and fallback (quick: ebpf only). */
  modes?: Mode[];
  /** Default: tls and tcp. */
  transports?: PeerTransport[];
  /** Measured samples per size (default 300, quick 20). */
  samples?: number;
}

export interface Percentiles {
  p50Us: number;
  p99Us: number;
}

export interface SizeResult {
  bytes: number;
  samples: number;
  errors: number;
  same: Percentiles;
  cross: Percentiles;
  rawTcpRtt: Percentiles;
  /** cross p50 - same p50. */
  extraP50Us: number;
  /** (cross - same) / raw TCP RTT, at p50. */
  ratioP50: number;
  /** CPU time of node b's ferryd main thread (its JavaScript event loop,
   * with the kernel time of its syscalls) per split request, less what it
   * spends idle (timers, stats) over the same time: b's ferryd serves
   * nothing else here, so this is what one crossing costs the link's loop
   * on one side (land, route, proxy the reply, write it back). */
  peerLoopCpuUs: number;
}

export interface ModeResult {
  mode: Mode;
  transport: PeerTransport;
  /** The data plane mode ferryd reported. */
  dataplaneMode: string;
  sizes: SizeResult[];
  /** ferry_peer_copied_bytes_total of each node after the run: payload
   * bytes its peer link copied in user space. */
  copiedBytes: Record<'a' | 'b', number>;
  target: { ratio: number; sizes: number[]; met: boolean };
}

export interface MultinodeResult {
  bench: 'multinode';
  date: string;
  loadavg: { start: number[]; end: number[] };
  config: { quick: boolean; samples: number; warmup: number; sizes: number[]; chain: string };
  modes: ModeResult[];
  /** Where the JSON was written. */
  out: string;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;
const pct = (v: number[]): Percentiles => ({ p50Us: round1(percentile(v, 0.5)), p99Us: round1(percentile(v, 0.99)) });

/** A node process in a namespace speaking tcp-echo.ts's line protocol. */
function tcpEcho(ns: string, args: string[]): { child: ChildProcess; lines: Interface; next(): Promise<string> } {
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '--import', pathToFileURL(paths.tsxLoader).href, TCP_ECHO, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  lines.on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`tcp-echo ${args[0]} in ${ns} exited (${code})`))));
  exited.catch(() => undefined);
  return {
    child,
    lines,
    next: () => Promise.race([queue.length ? Promise.resolve(queue.shift()!) : new Promise<string>((r) => waiting.push(r)), exited]),
  };
}

/** One POST of body to a's gateway; microseconds, or NaN on a wrong answer. */
function post(agent: Agent, host: string, chain: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      { agent, host, port: 8080, method: 'POST', path: `/chains/${chain}`, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } },
      (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => (got += c.length));
        res.on('end', () => {
          const us = Number(process.hrtime.bigint() - started) / 1000;
          resolve(res.statusCode === 200 && got === body.length ? us : NaN);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function deploy(clients: Record<'a' | 'b', FerrydClient>, peers: Record<'a' | 'b', string>): Promise<void> {
  const allow = [
    { fromStage: REPLY, toStage: 0 },
    { fromStage: 0, toStage: 1 },
    { fromStage: 1, toStage: REPLY },
  ];
  for (const [n, other, base] of [['a', 'b', 1000], ['b', 'a', 1100]] as const)
    await clients[n].setPeers({ peers: [{ name: other, address: peers[other] }], infraIdBase: base, infraIdCount: 100 });
  for (const [name, c] of Object.entries(CHAINS)) {
    for (const n of ['a', 'b'] as const) {
      const here = [c.s0, c.s1].map((s, stage) => ({ ...s, stage })).filter((s) => s.node === n);
      if (here.length === 0) continue;
      const client = clients[n];
      await client.createPool({ chainId: c.chainId, chainName: name });
      for (const s of here)
        await client.startInstance({ chainId: c.chainId, instanceId: s.instance, stage: s.stage, stageName: `s${s.stage}`, runtime: 'native', handler: ECHO, next: s.stage === 0 ? [{ name: 's1', id: 1 }] : [] });
      const target = (s: { instance: number; node: string }) => ({ instance: s.instance, weight: 1, node: s.node === n ? '' : s.node });
      await client.programChain({
        chainId: c.chainId,
        routes: [
          { stage: 0, targets: [target(c.s0)] },
          { stage: 1, targets: [target(c.s1)] },
        ],
        allow,
        gateway: n === 'a' ? { chainName: name, entryStage: 0, timeoutMs: 30_000, gatewayInstanceId: c.gateway } : null,
        remoteGateways: n === 'a' ? [] : [{ instance: c.gateway, node: 'a' }],
      });
      await waitFor(`${name}'s instances on ${n} to be ready`, async () => ((await client.listInstances({ chainId: c.chainId })).instances.every((x) => x.ready) ? true : undefined));
    }
  }
  await waitFor('the peer link a <-> b', async () =>
    (await clients.a.setPeers({ peers: [{ name: 'b', address: peers.b }], infraIdBase: 1000, infraIdCount: 100 })).connected.includes('b') ? true : undefined,
  );
}

async function runMode(o: MultinodeOptions, pair: NetnsPair, mode: Mode, transport: PeerTransport, samples: number, warmup: number): Promise<ModeResult> {
  const nodes = { a: pair.a, b: pair.b };
  const clients = {} as Record<'a' | 'b', FerrydClient>;
  const peers = {} as Record<'a' | 'b', string>;
  let dataplaneMode = '';
  const echoServer = tcpEcho(pair.b.ns, ['serve', String(TCP_ECHO_PORT)]);
  let pinger: ReturnType<typeof tcpEcho> | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const n of ['a', 'b'] as const) {
      pair.start(nodes[n], { gateway: n === 'a', tlsDir: await testCredentialDir({ kind: 'node', name: n }), args: ['--mode', mode, '--peer-transport', transport, '--metrics', `0.0.0.0:${METRICS_PORT}`] });
      clients[n] = connectFerryd(`${nodes[n].hostIp}:7070`, n);
    }
    for (const n of ['a', 'b'] as const) {
      const info = await waitFor(`ferryd ${n} (${mode})`, () => clients[n].getNodeInfo({ timeoutMs: 1000 }), 60_000);
      peers[n] = info.peerAddress;
      dataplaneMode = info.dataplaneMode;
    }
    o.log(`  ${mode}, ${transport} links: both ferryd up (${dataplaneMode}); deploying`);
    await deploy(clients, peers);
    if ((await echoServer.next()) !== 'ready') throw new Error('tcp-echo server did not start');
    pinger = tcpEcho(pair.a.ns, ['ping', `${pair.b.linkIp}:${TCP_ECHO_PORT}`]);
    if ((await pinger.next()) !== 'ready') throw new Error('tcp-echo pinger did not connect');
    const rtt = async (size: number): Promise<number> => {
      pinger!.child.stdin!.write(`${size}\n`);
      return Number(await pinger!.next());
    };
    const bPid = pair.b.child?.pid ?? 0;
    const idle = await idleLoopCpu(bPid);
    o.log(`    b's ferryd loop idle: ${(idle * 1000).toFixed(0)} us of CPU per second`);
    const sizes: SizeResult[] = [];
    for (const bytes of SIZES) {
      const body = randomBytes(bytes);
      const same: number[] = [];
      const cross: number[] = [];
      const tcp: number[] = [];
      let errors = 0;
      const bCpuStart = mainThreadCpuMs(bPid);
      const startedAt = Date.now();
      for (let i = 0; i < warmup + samples; i++) {
        // Rotate which goes first so none always follows another.
        const order = [0, 1, 2].map((k) => (k + i) % 3);
        const got: number[] = [];
        for (const k of order) got[k] = k === 0 ? await post(agent, pair.a.hostIp, 'same', body) : k === 1 ? await post(agent, pair.a.hostIp, 'split', body) : await rtt(bytes);
        if (got.some((x) => !Number.isFinite(x))) errors++;
        if (i < warmup) continue;
        same.push(got[0]!);
        cross.push(got[1]!);
        tcp.push(got[2]!);
      }
      const busyMs = mainThreadCpuMs(bPid) - bCpuStart - idle * (Date.now() - startedAt);
      const peerLoopCpuUs = round1((busyMs * 1000) / (warmup + samples));
      const r: SizeResult = { bytes, samples, errors, same: pct(same), cross: pct(cross), rawTcpRtt: pct(tcp), extraP50Us: 0, ratioP50: 0, peerLoopCpuUs };
      r.extraP50Us = round1(r.cross.p50Us - r.same.p50Us);
      r.ratioP50 = round2(r.extraP50Us / r.rawTcpRtt.p50Us);
      sizes.push(r);
      o.log(
        `    ${String(bytes).padStart(8)} B  same p50 ${r.same.p50Us.toFixed(0).padStart(6)} us  cross p50 ${r.cross.p50Us.toFixed(0).padStart(6)} us  tcp rtt p50 ${r.rawTcpRtt.p50Us.toFixed(0).padStart(5)} us  (cross-same)/rtt ${r.ratioP50.toFixed(2).padStart(6)}  b loop ${r.peerLoopCpuUs.toFixed(0).padStart(5)} us/req  errors ${errors}  (load ${loadavg()[0]!.toFixed(2)})`,
      );
    }
    const copiedBytes = { a: await copiedOf(pair.a.hostIp), b: await copiedOf(pair.b.hostIp) };
    o.log(`    payload bytes copied in user space by the peer links: a ${copiedBytes.a}, b ${copiedBytes.b}`);
    const checked = sizes.filter((s) => TARGET.sizes.includes(s.bytes));
    return { mode, transport, dataplaneMode, sizes, copiedBytes, target: { ...TARGET, met: checked.length === TARGET.sizes.length && checked.every((s) => s.errors === 0 && s.ratioP50 <= TARGET.ratio) } };
  } finally {
    agent.destroy();
    pinger?.child.kill();
    echoServer.child.kill();
    for (const c of Object.values(clients)) c.close();
    for (const n of [pair.a, pair.b]) {
      await stopFerrydIn(n);
      unpin(n);
    }
  }
}

/** CPU ms a process's main thread spends per ms while nothing is sent. */
async function idleLoopCpu(pid: number, ms = 2000): Promise<number> {
  const start = mainThreadCpuMs(pid);
  await new Promise((r) => setTimeout(r, ms));
  return (mainThreadCpuMs(pid) - start) / ms;
}

/** A node's ferry_peer_copied_bytes_total, from its /metrics. */
async function copiedOf(host: string): Promise<number> {
  const text = await (await fetch(`http://${host}:${METRICS_PORT}/metrics`)).text();
  const m = /^ferry_peer_copied_bytes_total\{[^}]*\} (\d+)/m.exec(text);
  if (!m) throw new Error(`no ferry_peer_copied_bytes_total in ${host}'s metrics`);
  return Number(m[1]);
}

function unpin(n: NetnsNode): void {
  try {
    RouterClass.unpin(n.pinDir);
  } catch {
    // fallback mode pins nothing
  }
}

export async function runMultinodeSuite(opts: MultinodeOptions): Promise<MultinodeResult> {
  if (netnsUnavailable) throw new Error(`bench:multinode needs network namespaces and root: ${netnsUnavailable}`);
  const modes = opts.modes ?? (opts.quick ? ['ebpf'] : [...MODES]);
  const transports = opts.transports ?? [...PEER_TRANSPORTS];
  const samples = opts.samples ?? (opts.quick ? 20 : 300);
  const warmup = opts.quick ? 3 : 20;
  const x = claimSubnet(20, 220);
  const pair = new NetnsPair(`m${process.pid % 100000}`, x, 'fpl');
  const load = { start: loadavg().map(round2), end: [] as number[] };
  const results: ModeResult[] = [];
  opts.log(`bench:multinode: ${modes.join(', ')} x ${transports.join(', ')} links; ${samples} samples per size of ${SIZES.join(', ')} B; same-node vs split chain vs raw TCP, one in flight; load average ${load.start.join(' ')}`);
  try {
    pair.up();
    for (const mode of modes) for (const transport of transports) results.push(await runMode(opts, pair, mode, transport, samples, warmup));
  } finally {
    load.end = loadavg().map(round2);
    await pair.down().catch((err: Error) => opts.log(`cleanup: ${err.message}`));
  }
  const out = opts.out ?? join(repoRoot, 'bench/results', `multinode-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const result: MultinodeResult = {
    bench: 'multinode',
    date: new Date().toISOString(),
    loadavg: load,
    config: { quick: opts.quick, samples, warmup, sizes: SIZES, chain: 'two native pass-through stages (echo.so); split: stage 1 on node b' },
    modes: results,
    out,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  for (const m of results)
    opts.log(`  ${m.mode}, ${m.transport}: target (cross - same) <= ${TARGET.ratio}x raw TCP RTT at ${TARGET.sizes.join(', ')} B: ${m.target.met ? 'met' : 'NOT met'} (${m.sizes.map((s) => `${s.bytes} B ${s.ratioP50}x`).join(', ')})`);
  opts.log(`written to ${out}; load average ${load.start.join(' ')} -> ${load.end.join(' ')}`);
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      modes: { type: 'string' },
      transports: { type: 'string' },
      samples: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: npm run bench:multinode -- [--json] [--quick] [--modes ebpf,fallback] [--transports tls,tcp] [--samples N] [--out FILE]\n');
    return;
  }
  const modes = values.modes?.split(',').map((m) => {
    if (!(MODES as readonly string[]).includes(m)) throw new Error(`--modes: "${m}" is not one of ${MODES.join(', ')}`);
    return m as Mode;
  });
  const transports = values.transports?.split(',').map((t) => {
    if (!(PEER_TRANSPORTS as readonly string[]).includes(t)) throw new Error(`--transports: "${t}" is not one of ${PEER_TRANSPORTS.join(', ')}`);
    return t as PeerTransport;
  });
  const samples = values.samples === undefined ? undefined : Number(values.samples);
  if (samples !== undefined && !(Number.isInteger(samples) && samples > 0)) throw new Error(`--samples must be a positive whole number (got "${values.samples}")`);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const r = await runMultinodeSuite({ quick: values.quick, json: values.json, out: values.out, log, modes, transports, samples });
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main().catch((err: Error) => {
    process.stderr.write(`bench:multinode: ${err.message}\n`);
    process.exit(1);
  });
