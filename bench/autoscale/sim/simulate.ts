/**
 * The discrete-event simulation of one chain under one policy through one
 * trace, on a virtual clock. What is real: the policy code and
 * ChainAutoscaler (control/controlplane/autoscale), the chain (compiled by
 * the real compiler), and the measured service times and cold starts (the
 * profile). What is simulated: the instances (instance.ts), the router's
 * random pick among ready instances, the gateway holding requests for a
 * stage with no ready instance, and the stats stream (a sample a second).
 *
 * A request crosses its sample request's path stage by stage; at each, it
 * queues at the instance the router picked and takes a time drawn from
 * that stage's measurements for that request. Of it, the stage's measured
 * CPU time per request runs on the instance (against its quota), then the
 * instance waits for a CPU as long as its measured run-queue wait per
 * request (exponential around that mean), and the rest is the request on
 * its way (hops, the gateway), which holds no instance: the round trip
 * through an echo that does nothing (profile.echoMs) has a tail as long as
 * the stages' own, so their tails are mostly not the instance's. A new instance serves
 * only after a cold start drawn from the stage's measurements. A removed
 * instance takes no new request and stops when its queue is empty.
 */
import type { ChainIR } from '../../../control/chain/ir.js';
import { ChainAutoscaler, type ScaleDecision } from '../../../control/controlplane/autoscale/autoscaler.js';
import type { AutoscalePolicy, ChainObservation, StageObservation } from '../../../control/controlplane/autoscale/policy.js';
import type { InstanceSignals } from '../../../control/controlplane/signals/signals.js';
import { CPU_PERIOD_US } from '../../../control/node/sandbox/cgroups.js';
import { quantile, type ChainProfile } from '../profile.js';
import type { Trace } from '../traces.js';
import { EventHeap } from './heap.js';
import { SimInstance, type Cost, type SimRequest } from './instance.js';
import { Rng, uniformAt } from './rng.js';

const SAMPLE_MS = 1000;
/** Rates over a shorter window (a poke's) count it as this long. */
const MIN_RATE_WINDOW_MS = 250;
const PERIOD_MS = CPU_PERIOD_US / 1000;

export interface SimResult {
  trace: string;
  policy: string;
  /** Seconds (by arrival) whose requests' p99 exceeds the chain's slo.p99Ms. */
  sloViolationSeconds: number;
  /** Of those, seconds whose requests would exceed it even on idle
   * instances without quotas (their bare service times): no count of
   * instances helps there. */
  serviceBoundSeconds: number;
  p99Ms: number;
  instanceSeconds: number;
  /** Instances started after the chain was deployed. */
  coldStarts: number;
  requests: number;
  p50Ms: number;
  /** Requests slower than the chain's timeoutMs (the gateway would answer 504). */
  timeouts: number;
  /** Requests that waited for a CPU period somewhere: a quota ran out. */
  throttledRequests: number;
  /** Requests that waited at the gateway for a stage with no ready instance. */
  heldRequests: number;
  maxInstances: number;
  decisions: number;
  /** Requests still unanswered when the run was cut off (trace end + 2 timeouts + 60 s); 0 normally. */
  unfinished: number;
}

type SimEvent =
  | { at: number; kind: 'done'; inst: SimInstance }
  | { at: number; kind: 'move'; r: SimRequest }
  | { at: number; kind: 'ready'; inst: SimInstance }
  | { at: number; kind: 'sample' }
  | { at: number; kind: 'poke' }
  | { at: number; kind: 'decide' };

/** The profile's sample requests as stage ids and service-time arrays. */
interface RequestType {
  stages: number[];
  service: number[][];
}

function requestTypes(ir: ChainIR, profile: ChainProfile): RequestType[] {
  const id = (name: string) => {
    const s = ir.stages.find((x) => x.name === name);
    if (!s) throw new Error(`the profile of ${profile.chain} names stage "${name}", which ${ir.name} does not have: measure it again (--measure)`);
    return s.id;
  };
  return profile.requests.map((r) => ({ stages: r.stages.map(id), service: r.stages.map((s) => r.serviceMs[s] ?? []) }));
}

export interface SimInput {
  ir: ChainIR;
  profile: ChainProfile;
  trace: Trace;
  policy: AutoscalePolicy;
  seed: number;
  /** Called with every decision (progress, debugging). */
  onDecision?: (d: ScaleDecision) => void;
}

export function simulate(input: SimInput): SimResult {
  const { ir, profile, trace } = input;
  if (!ir.slo) throw new Error(`chain ${ir.name} has no slo.p99Ms to count violations against`);
  const slo = ir.slo.p99Ms;
  const types = requestTypes(ir, profile);
  const coldStarts = ir.stages.map((s) => profile.coldStarts[s.name]?.coldStartMs ?? []);
  ir.stages.forEach((s, i) => {
    if ((coldStarts[i] ?? []).length === 0) throw new Error(`the profile of ${profile.chain} has no cold start of stage "${s.name}"`);
  });
  const rng = new Rng(input.seed);
  const arrivalsRng = new Rng(input.seed ^ 0x5eed);
  const endMs = trace.counts.length * 1000;
  const heap = new EventHeap<SimEvent>();
  const scaler = new ChainAutoscaler(ir, input.policy);

  // ---- the stages ----
  let nextId = 1;
  const instances: SimInstance[][] = ir.stages.map(() => []);
  const held: SimRequest[][] = ir.stages.map(() => []);
  const heldArrivals = ir.stages.map(() => 0);
  let instanceMs = 0;
  let started = 0;
  let heldRequests = 0;
  let maxInstances = 0;
  const live = () => instances.reduce((n, xs) => n + xs.length, 0);

  const newInstance = (stage: number, now: number): SimInstance => {
    const cpu = ir.stages[stage]!.resources.cpuMilli;
    const inst = new SimInstance(nextId++, stage, now, cpu >= 1000 ? Number.POSITIVE_INFINITY : (cpu / 1000) * PERIOD_MS, PERIOD_MS);
    instances[stage]!.push(inst);
    maxInstances = Math.max(maxInstances, live());
    return inst;
  };
  const stop = (inst: SimInstance, now: number) => {
    inst.state = 'stopped';
    inst.stoppedAt = now;
    instanceMs += Math.max(0, Math.min(now, endMs) - Math.min(inst.startedAt, endMs));
    const xs = instances[inst.stage]!;
    xs.splice(xs.indexOf(inst), 1);
  };
  const cpuMs = ir.stages.map((s) => profile.cpuMs[s.name] ?? 0);
  const cpuWaitMs = ir.stages.map((s) => profile.cpuWaitMs[s.name] ?? 0);
  // A request's measured time at a stage, split: its CPU, its instance's
  // wait for a CPU (exponential around the measured mean), and the rest on
  // its way. Draws are tied to the request, the same for every policy.
  const serve = (inst: SimInstance, now: number) => {
    const next = inst.serveNext(now, (r): Cost => {
      const cpu = cpuMs[inst.stage] ?? 0;
      const wait = -(cpuWaitMs[inst.stage] ?? 0) * Math.log(1 - uniformAt(input.seed, r.n * 32 + r.k * 2 + 1));
      const samples = types[r.type]!.service[r.k]!;
      const wall = samples[Math.floor(uniformAt(input.seed, r.n * 32 + r.k * 2) * samples.length)] ?? 0;
      return { cpuMs: cpu, waitMs: wait, transitMs: Math.max(0, wall - cpu - wait) };
    });
    if (next) heap.push({ at: next.at, kind: 'done', inst });
  };

  // ---- requests ----
  const latencies: number[][] = Array.from({ length: trace.counts.length }, () => []);
  const bare: number[][] = Array.from({ length: trace.counts.length }, () => []);
  const all: number[] = [];
  let outstanding = 0;
  let timeouts = 0;
  let stalled = 0;
  let pokePending = false;
  const dispatch = (r: SimRequest, now: number) => {
    const stage = types[r.type]!.stages[r.k]!;
    const ready = instances[stage]!.filter((i) => i.state === 'ready');
    if (ready.length === 0) {
      held[stage]!.push(r);
      heldArrivals[stage]!++;
      heldRequests++;
      // The gateway asks for an instance at once (Knative's activator pokes the autoscaler).
      if (!pokePending && !instances[stage]!.some((i) => i.state === 'starting')) {
        pokePending = true;
        heap.push({ at: now, kind: 'poke' });
      }
      return;
    }
    const inst = rng.pick(ready);
    if (inst.enqueue(r, now)) serve(inst, now);
  };
  const finish = (r: SimRequest, now: number) => {
    const ms = now - r.t0;
    latencies[Math.floor(r.t0 / 1000)]!.push(ms);
    bare[Math.floor(r.t0 / 1000)]!.push(r.bare);
    all.push(ms);
    if (ms > ir.timeoutMs) timeouts++;
    if (r.stalled) stalled++;
    outstanding--;
  };

  /** A request done with a stage: on to the next, or answered. */
  const move = (r: SimRequest, now: number) => {
    if (r.k + 1 < types[r.type]!.stages.length) dispatch({ ...r, k: r.k + 1, transit: 0 }, now);
    else finish(r, now);
  };

  // ---- scaling ----
  let decisions = 0;
  const apply = (ds: ScaleDecision[], now: number) => {
    for (const d of ds) {
      input.onDecision?.(d);
      if (!d.changed) continue;
      decisions++;
      const xs = instances[d.stage]!;
      const asked = xs.filter((i) => i.state === 'starting' || i.state === 'ready');
      for (let n = asked.length; n < d.desired; n++) {
        const inst = newInstance(d.stage, now);
        started++;
        heap.push({ at: now + rng.pick(coldStarts[d.stage]!), kind: 'ready', inst });
      }
      // Down: starting ones first (newest first), then the least busy ready ones.
      const victims = [...asked].sort((a, b) => (a.state === b.state ? (a.state === 'starting' ? b.startedAt - a.startedAt : a.inFlight - b.inFlight) : a.state === 'starting' ? -1 : 1));
      for (const inst of victims.slice(0, Math.max(0, asked.length - d.desired))) {
        if (inst.state === 'starting' || inst.idle) stop(inst, now);
        else inst.state = 'draining';
      }
    }
  };

  let lastObservation = 0;
  const observation = (now: number): ChainObservation => {
    const windowMs = Math.max(1, now - lastObservation);
    const rateMs = Math.max(windowMs, MIN_RATE_WINDOW_MS);
    lastObservation = now;
    return {
    nowMs: now,
    stages: ir.stages.map((s, stage): StageObservation => {
      const xs = instances[stage]!;
      const signals: InstanceSignals[] = xs.map((inst) => {
        const w = inst.sample(now, windowMs);
        const sorted = w.service.sort((a, b) => a - b);
        const mean = sorted.length > 0 ? sorted.reduce((t, x) => t + x, 0) / sorted.length : 0;
        return {
          id: inst.id,
          node: 'sim',
          ready: inst.state === 'ready',
          inFlight: w.inFlight,
          arrivalsPerSec: (w.arrivals * 1000) / rateMs,
          completionsPerSec: (w.completions * 1000) / rateMs,
          serviceMs: { mean, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
          cpuMsPerSec: (w.cpuMs * 1000) / rateMs,
        };
      });
      const o: StageObservation = {
        current: xs.filter((i) => i.state === 'starting' || i.state === 'ready').length,
        signals: { chainId: 1, stage, nowMs: now, instances: signals },
        held: { requests: held[stage]!.length, arrivalsPerSec: (heldArrivals[stage]! * 1000) / rateMs },
      };
      heldArrivals[stage] = 0;
      return o;
    }),
    };
  };

  // ---- the deployed chain: max(1, scale.min) ready instances a stage ----
  ir.stages.forEach((s) => {
    for (let i = 0; i < Math.max(1, s.scale.min); i++) {
      const inst = newInstance(s.id, 0);
      inst.state = 'ready';
      inst.readyAt = 0;
    }
  });
  heap.push({ at: 0, kind: 'sample' });
  heap.push({ at: 0, kind: 'decide' });

  // ---- the run ----
  const arrivals = arrivalTimes(trace, arrivalsRng, types.length);
  let a = 0;
  let now = 0;
  const hardStopMs = endMs + 2 * ir.timeoutMs + 60_000;
  for (;;) {
    const ta = a < arrivals.t.length ? (arrivals.t[a] as number) : Number.POSITIVE_INFINITY;
    const ev = heap.peek();
    const te = ev ? ev.at : Number.POSITIVE_INFINITY;
    if (ta === Number.POSITIVE_INFINITY && (te === Number.POSITIVE_INFINITY || (now >= endMs && outstanding === 0))) break;
    if (Math.min(ta, te) > hardStopMs) break;
    if (ta <= te) {
      now = ta;
      outstanding++;
      dispatch({ t0: ta, type: arrivals.type[a] as number, k: 0, bare: 0, n: a, stalled: false, transit: 0 }, now);
      a++;
      continue;
    }
    heap.pop();
    now = te;
    if (!ev) break;
    switch (ev.kind) {
      case 'done': {
        const inst = ev.inst;
        const r = inst.complete(now);
        if (r.transit > 0) heap.push({ at: now + r.transit, kind: 'move', r });
        else move(r, now);
        if (inst.state === 'draining' && inst.idle) stop(inst, now);
        else serve(inst, now);
        break;
      }
      case 'move':
        move(ev.r, now);
        break;
      case 'ready': {
        const inst = ev.inst;
        if (inst.state !== 'starting') break; // removed while it started
        inst.state = 'ready';
        inst.readyAt = now;
        const waiting = held[inst.stage]!;
        held[inst.stage] = [];
        for (const r of waiting) dispatch(r, now);
        break;
      }
      case 'poke':
        pokePending = false;
        apply(scaler.observe(observation(now)), now);
        break;
      case 'sample':
        apply(scaler.observe(observation(now)), now);
        if (now < endMs || outstanding > 0) heap.push({ at: now + SAMPLE_MS, kind: 'sample' });
        break;
      case 'decide':
        apply(scaler.decide(now), now);
        if (now < endMs || outstanding > 0) heap.push({ at: scaler.dueMs, kind: 'decide' });
        break;
    }
  }
  for (const xs of instances) for (const inst of [...xs]) stop(inst, now);

  let violations = 0;
  let serviceBound = 0;
  latencies.forEach((xs, second) => {
    if (xs.length === 0) return;
    xs.sort((x, y) => x - y);
    if (quantile(xs, 0.99) <= slo) return;
    violations++;
    const b = (bare[second] ?? []).sort((x, y) => x - y);
    if (quantile(b, 0.99) > slo) serviceBound++;
  });
  all.sort((x, y) => x - y);
  return {
    trace: trace.name,
    policy: input.policy.name,
    sloViolationSeconds: violations,
    serviceBoundSeconds: serviceBound,
    p99Ms: round(quantile(all, 0.99)),
    instanceSeconds: round(instanceMs / 1000),
    coldStarts: started,
    requests: all.length,
    p50Ms: round(quantile(all, 0.5)),
    timeouts,
    throttledRequests: stalled,
    heldRequests,
    maxInstances,
    decisions,
    unfinished: outstanding,
  };
}

/** Every arrival of the trace: its time (uniform within its second) and
 * its sample request (uniform over the profile's). */
function arrivalTimes(trace: Trace, rng: Rng, kinds: number): { t: Float64Array; type: Uint8Array } {
  const n = trace.counts.reduce((s, c) => s + c, 0);
  const t = new Float64Array(n);
  const type = new Uint8Array(n);
  let i = 0;
  trace.counts.forEach((c, s) => {
    const within = Array.from({ length: c }, () => rng.next() * 1000).sort((x, y) => x - y);
    for (const w of within) {
      t[i] = s * 1000 + w;
      type[i] = rng.int(kinds);
      i++;
    }
  });
  return { t, type };
}

const round = (x: number) => Math.round(x * 100) / 100;
