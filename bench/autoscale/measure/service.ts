/**
 * Service time of every stage on every path a sample request takes,
 * measured on the real instances. The request's input to a stage is
 * injected at that stage; the stage's output goes on to the next stage's
 * capture echo, which hands it back to the gateway. So a sample is
 *
 *   hop(gateway -> stage) + stage + hop(stage -> echo) + echo + hop(echo -> gateway)
 *
 * and the echo round trip E = hop(gateway -> echo) + echo + hop(echo ->
 * gateway) is timed too, in the same rounds. A stage's service time is its
 * sample less the median E: the stage's work plus the hop into it, so the
 * stages of a path add up to the request's whole unloaded latency (the last
 * stage, timed without an echo, keeps its hop back to the gateway). The
 * whole request from the entry is timed as well, to check that sum.
 *
 * Requests go one at a time and paced (gapMs), so no queue forms and a CPU
 * quota never runs out: queueing is the simulator's to add. Points are
 * interleaved in small batches so machine noise spreads over all of them.
 *
 * A service time is wall-clock time, gateway and hops included, and on a
 * busy machine its tail is mostly waiting for a CPU. What a request costs
 * the instance itself is measured apart, from the scheduler's own
 * nanosecond accounts of all the instance's threads
 * (/proc/PID/task/TID/schedstat) over the whole run, divided by the
 * requests it received (its router counter): the CPU time it ran (what its
 * quota is spent on) and the time it waited on a run queue, ready to run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ChainIR } from '../../../control/chain/ir.js';
import { chainPaths } from '../../../control/chain/paths.js';
import type { MeasuredNode } from './node.js';

export interface RequestProfile {
  /** The sample request (requests/NAME.json). */
  name: string;
  /** Stage names in the order the request crosses them. */
  stages: string[];
  /** Per stage: service times in ms (its work and the hop into it), sorted. */
  serviceMs: Record<string, number[]>;
  /** The whole request from the entry stage, unloaded, sorted. */
  endToEndMs: number[];
}

export interface ServiceMeasurement {
  requests: RequestProfile[];
  /** What reaches each stage on each request, by "request/stage". */
  inputs: Map<string, Uint8Array>;
  /** The capture echo's round trip, sorted. */
  echoMs: number[];
  /** CPU time per request received, by stage name, ms. */
  cpuMs: Record<string, number>;
  /** Run-queue wait per request received (ready, no CPU free), by stage name, ms. */
  cpuWaitMs: Record<string, number>;
}

/** Nanoseconds all of a process's threads ran on a CPU and waited on a
 * run queue (schedstat's first two fields; zeros once it is gone). */
function schedNs(pid: number): { run: number; wait: number } {
  const out = { run: 0, wait: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      out.run += Number(run) || 0;
      out.wait += Number(wait) || 0;
    }
  } catch {
    // gone: what was read so far
  }
  return out;
}

/** Scheduler time and requests received of every instance of the chain. */
async function usage(node: MeasuredNode): Promise<{ run: number; wait: number; rx: number }[]> {
  const { instances } = await node.client.listInstances({ chainId: node.chainId });
  return node.instances.map((id) => {
    const pid = instances.find((i) => i.instanceId === id)?.pid ?? 0;
    return { ...schedNs(pid), rx: node.ferryd.dataPlane.counters(id).rxMsgs };
  });
}

const TIMEOUT_MS = 10_000;
const BATCH = 25;
/** No stage is quicker than this, whatever the noise of a subtraction. */
const FLOOR_MS = 0.001;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stages a request crosses: those whose instances' received-message
 * counters moved while it ran, in the order of the chain path they form. */
async function pathOf(node: MeasuredNode, ir: ChainIR, body: Uint8Array): Promise<number[]> {
  const dp = node.ferryd.dataPlane;
  const before = node.instances.map((id) => dp.counters(id).rxMsgs);
  await send(node, ir.entry, body);
  const crossed = new Set(node.instances.flatMap((id, stage) => (dp.counters(id).rxMsgs > (before[stage] ?? 0) ? [stage] : [])));
  const path = chainPaths(ir).find((p) => p.length === crossed.size && p.every((s) => crossed.has(s)));
  if (!path) throw new Error(`a sample request crossed stages ${[...crossed].join(', ')}, which is no path of ${ir.name}`);
  return path;
}

/** Sends body into stage; the reply's body and how long it took. */
async function send(node: MeasuredNode, stage: number, body: Uint8Array): Promise<{ ms: number; out: Uint8Array }> {
  const t0 = performance.now();
  const r = await node.inj.request(stage, body, { timeoutMs: TIMEOUT_MS });
  const ms = performance.now() - t0;
  if (r.status !== 'ok' || r.error) throw new Error(`stage ${stage} failed the request: ${r.status} ${new TextDecoder().decode(r.body).slice(0, 200)}`);
  return { ms, out: r.body };
}

/** One thing timed over and over: a stage of a request, the echo, or a whole request. */
interface Point {
  kind: 'stage' | 'echo' | 'whole';
  request: string;
  stage: number;
  /** Routed to its capture echo while this point is timed. */
  capture: number | undefined;
  input: Uint8Array;
  samples: number[];
}

async function timePoint(node: MeasuredNode, p: Point, n: number, gapMs: number): Promise<void> {
  if (p.capture !== undefined) node.route(p.capture, 'capture');
  try {
    for (let i = 0; i < n; i++) {
      p.samples.push((await send(node, p.stage, p.input)).ms);
      await sleep(gapMs);
    }
  } finally {
    if (p.capture !== undefined) node.route(p.capture, node.instances[p.capture]!);
  }
}

export async function measureService(node: MeasuredNode, ir: ChainIR, samples: Record<string, string>, perPoint: number, gapMs: number, log: (m: string) => void): Promise<ServiceMeasurement> {
  const points: Point[] = [];
  const requests: { name: string; path: number[] }[] = [];
  for (const [name, text] of Object.entries(samples)) {
    const body = new TextEncoder().encode(text);
    const path = await pathOf(node, ir, body);
    requests.push({ name, path });
    points.push({ kind: 'whole', request: name, stage: ir.entry, capture: undefined, input: body, samples: [] });
    // Each stage's input: the request, then what the stage before it made.
    let input: Uint8Array = body;
    for (let k = 0; k < path.length; k++) {
      const p: Point = { kind: 'stage', request: name, stage: path[k]!, capture: path[k + 1], input, samples: [] };
      points.push(p);
      if (p.capture !== undefined) {
        node.route(p.capture, 'capture');
        input = (await send(node, p.stage, input)).out;
        node.route(p.capture, node.instances[p.capture]!);
      }
    }
  }
  // The echo alone: the entry stage routed to its own echo.
  const echo: Point = { kind: 'echo', request: '', stage: ir.entry, capture: ir.entry, input: points[0]!.input, samples: [] };
  points.push(echo);
  log(`timing ${points.length} points x ${perPoint}, ${gapMs} ms apart`);
  const before = await usage(node);
  for (let done = 0; done < perPoint; done += BATCH) {
    for (const p of points) await timePoint(node, p, Math.min(BATCH, perPoint - done), gapMs);
    log(`  ${Math.min(done + BATCH, perPoint)}/${perPoint}`);
  }
  const after = await usage(node);
  const perRequest = (field: 'run' | 'wait') =>
    Object.fromEntries(
      ir.stages.map((s) => {
        const a = after[s.id]!;
        const b = before[s.id]!;
        return [s.name, Math.round((a[field] - b[field]) / 1000 / Math.max(1, a.rx - b.rx)) / 1000];
      }),
    );
  const cpuMs = perRequest('run');
  const cpuWaitMs = perRequest('wait');
  const echoMs = sorted(echo.samples);
  const e = echoMs[Math.floor(echoMs.length / 2)] ?? 0;
  return {
    requests: requests.map(({ name, path }) => {
      const mine = points.filter((p) => p.request === name);
      return {
        name,
        stages: path.map((s) => ir.stages[s]!.name),
        serviceMs: Object.fromEntries(
          mine.filter((p) => p.kind === 'stage').map((p) => [ir.stages[p.stage]!.name, sorted(p.samples.map((x) => (p.capture === undefined ? x : Math.max(FLOOR_MS, x - e))))]),
        ),
        endToEndMs: sorted(mine.find((p) => p.kind === 'whole')!.samples),
      };
    }),
    inputs: new Map(points.filter((p) => p.kind === 'stage').map((p) => [`${p.request}/${ir.stages[p.stage]!.name}`, p.input])),
    echoMs,
    cpuMs,
    cpuWaitMs,
  };
}

const sorted = (xs: number[]) => xs.map((x) => Math.round(x * 1000) / 1000).sort((a, b) => a - b);
