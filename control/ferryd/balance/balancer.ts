/**
 * ferryd's balancer: every tick, for every stage of every chain here, it
 * measures the stage's targets, asks the stage's balance policy
 * (control/balance/) for their shares, and has the weights rewritten:
 *   - local instances: the route in the router (ChainRoutes, through the
 *     shape() hook it calls for every route it writes);
 *   - other nodes serving the stage: the egress's weights among them
 *     (RemoteHops, through shapeNodes()).
 * The control plane's weights are the base; the policy's factors multiply
 * them. A ProgramChain (a reconcile) replaces the base and keeps the
 * factors and everything the policy learnt, unless it changes the stage's
 * policy. A target that leaves is forgotten; one that joins starts fresh.
 *
 * It also tells its peers, every tick, this node's load and the stages it
 * serves (a Load frame), and keeps theirs: a node balancing across nodes
 * weighs them by it.
 *
 * Decisions are observable: a debug log line whenever a stage's weights
 * change, and per stage a decision counter with the weights now (stats(),
 * which StreamStats carries as NodeStats.balance).
 */
import type { BalancePolicy, TargetSample } from '../../balance/policy.js';
import { createPolicy, defaultBalance, sameBalance, type BalanceSpec, type RequestKeySource } from '../../balance/registry.js';
import type { RouteTarget, RouterCounters } from '../../dataplane/native.js';
import type { Logger } from '../../log.js';
import type { InstanceSpec } from '../../node/dataplane.js';
import type { NodeWeight, RemoteHops, ShapedNodes } from '../../node/peer/hops.js';
import type { PeerLink } from '../../node/peer/link.js';
import { loadFrame, type LoadReport, type StageLoad } from '../../node/peer/load-report.js';
import type { Ring } from '../../node/router/pick.js';
import { buildRing } from '../../node/router/ring.js';
import type { ChainRoutes, ShapedRoute } from '../chain-routes.js';
import type { InstanceStatus, StageBalance, TargetWeight } from '../proto.js';
import { InstanceMeter, littleLatency, type InstanceSample, type WarmUp } from './instance-meter.js';
import { NodeLoadMeter } from './node-load.js';
import { effectiveWeights, factorsOf } from './weights.js';

export const DEFAULT_TICK_MS = 250;
export const DEFAULT_SAMPLE_MS = 10;
/** How often it ticks while nothing arrives, nothing is weighed and no
 * peer listens: a tick then finds what the last one did, and an idle node
 * is not woken 4 times a second for it. The first tick that sees traffic
 * returns to tickMs, so balancing starts at most this late. */
export const REST_TICK_MS = 1000;
export const DEFAULT_WARM_UP: WarmUp = { ms: 1000, requests: 10 };
/** A peer's report older than this is not believed. */
const REPORT_TTL_MS = 5000;

export interface BalancerInstances {
  has(instanceId: number): boolean;
  status(instanceId: number): InstanceStatus | undefined;
  spec(instanceId: number): InstanceSpec | undefined;
}

export interface BalancerOptions {
  log: Logger;
  counters: (instanceId: number) => RouterCounters;
  instances: BalancerInstances;
  routes: () => Pick<ChainRoutes, 'stages' | 'route' | 'live' | 'refresh' | 'written'>;
  peers?: { link: PeerLink; hops: RemoteHops };
  /** The policy of stages ProgramChain gives none (default: random). */
  defaultSpec?: BalanceSpec;
  tickMs?: number;
  sampleMs?: number;
  warmUp?: WarmUp;
  /** Service times the runners reported (the signals track), when known. */
  serviceTimes?: (instanceId: number) => InstanceSample['serviceMs'];
}

/** One level of a stage: its local instances, or the nodes it goes to. */
interface Level {
  policy: BalancePolicy;
  /** Factor per target id ("i12", "nb"). */
  factors: Map<string, number>;
  samples: Map<string, TargetSample>;
  reason: string;
  /** The ring handed out, and what it was built from. */
  ring?: { of: string; ring: Ring<number> | Ring<string> };
}

interface StageState {
  spec: BalanceSpec;
  local: Level;
  remote: Level;
  decisions: number;
  written: string;
}

interface RemoteNodeState {
  firstSeen: number;
  done: number;
}

const instanceTarget = (id: number) => `i${id}`;
const nodeTarget = (node: string) => `n${node}`;

export class Balancer {
  readonly tickMs: number;
  private readonly log: Logger;
  private readonly o: BalancerOptions;
  private readonly defaultSpec: BalanceSpec;
  private readonly meter: InstanceMeter;
  private readonly nodeLoad = new NodeLoadMeter();
  private readonly warmUp: WarmUp;
  private readonly chains = new Map<number, Map<number, StageState>>();
  private readonly reports = new Map<string, { report: LoadReport; at: number }>();
  private readonly remoteNodes = new Map<string, RemoteNodeState>();
  private timer: NodeJS.Timeout | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private busy: number[] = [];
  private lastTick = Date.now();
  /** The last tick saw no traffic, changed no weight and had no peer to tell. */
  private quiet = false;
  private readonly onLoad = (peer: string, report: LoadReport) => this.reports.set(peer, { report, at: Date.now() });

  constructor(o: BalancerOptions) {
    this.o = o;
    this.log = o.log.child({ part: 'balance' });
    this.tickMs = o.tickMs ?? DEFAULT_TICK_MS;
    this.warmUp = o.warmUp ?? DEFAULT_WARM_UP;
    this.defaultSpec = o.defaultSpec ?? defaultBalance();
    this.meter = new InstanceMeter(o.counters, this.warmUp);
    o.peers?.link.on('load', this.onLoad);
    o.peers?.hops.setShaper((chainId, stage, nodes) => this.shapeNodes(chainId, stage, nodes));
  }

  /** The chain's stages' policies, as ProgramChain gives them (a stage
   * without one runs the default). Call before the routes are programmed:
   * they are written with these policies' weights. */
  configure(chainId: number, specs: ReadonlyMap<number, BalanceSpec | undefined>): void {
    const have = this.chains.get(chainId) ?? new Map<number, StageState>();
    const next = new Map<number, StageState>();
    for (const [stage, given] of specs) {
      const spec = given ?? this.defaultSpec;
      const old = have.get(stage);
      if (old && sameBalance(old.spec, spec)) next.set(stage, old);
      else {
        next.set(stage, { spec, local: this.level(spec), remote: this.level(spec), decisions: 0, written: '' });
        if (old) this.log.info('stage balance policy changed', { chain: chainId, stage, from: old.spec.policy, to: spec.policy });
      }
    }
    this.chains.set(chainId, next);
    this.schedule();
  }

  forget(chainId: number): void {
    this.chains.delete(chainId);
    for (const key of [...this.remoteNodes.keys()]) if (key.startsWith(`${chainId}/`)) this.remoteNodes.delete(key);
    this.meter.prune((id) => this.o.instances.has(id));
    if (this.chains.size === 0) this.stop();
  }

  /** Where the chain's gateway reads the request key, if a stage hashes on one. */
  requestKey(chainId: number): RequestKeySource | undefined {
    for (const st of this.chains.get(chainId)?.values() ?? []) if (st.spec.key) return st.spec.key;
    return undefined;
  }

  /** ChainRoutes' shaper: the live targets of a stage with base x factor. */
  shape(chainId: number, stage: number, live: RouteTarget[]): ShapedRoute {
    const st = this.chains.get(chainId)?.get(stage);
    if (!st) return { targets: live };
    const ids = live.map((t) => (this.o.instances.has(t.instance) ? instanceTarget(t.instance) : undefined));
    const weights = effectiveWeights(
      live.map((t) => t.weight),
      ids.map((id) => (id === undefined ? 1 : (st.local.factors.get(id) ?? 1))),
    );
    const targets = live.map((t, i) => ({ ...t, weight: weights[i]! }));
    if (!st.local.policy.ring) return { targets };
    const members = live.filter((t, i) => ids[i] !== undefined && t.weight > 0).map((t) => ({ owner: t.instance, name: String(t.instance), weight: t.weight }));
    return { targets, ring: this.ringOf(st.local, members, st.local.policy.ring.vnodes) as Ring<number> };
  }

  /** RemoteHops' shaper: the nodes of a remote stage with base x factor. */
  shapeNodes(chainId: number, stage: number, nodes: NodeWeight[]): ShapedNodes {
    const st = this.chains.get(chainId)?.get(stage);
    if (!st) return { nodes };
    const weights = effectiveWeights(
      nodes.map((n) => n.weight),
      nodes.map((n) => st.remote.factors.get(nodeTarget(n.node)) ?? 1),
    );
    const shaped = nodes.map((n, i) => ({ node: n.node, weight: weights[i]! }));
    if (!st.remote.policy.ring) return { nodes: shaped };
    const members = nodes.filter((n) => n.weight > 0).map((n) => ({ owner: n.node, name: n.node, weight: n.weight }));
    return { nodes: shaped, ring: this.ringOf(st.remote, members, st.remote.policy.ring.vnodes) as Ring<string> };
  }

  /** What a peer last reported of itself (undefined: nothing recent). */
  peerReport(node: string): LoadReport | undefined {
    const rec = this.reports.get(node);
    return rec && Date.now() - rec.at < REPORT_TTL_MS ? rec.report : undefined;
  }

  /** Every stage's policy, decisions so far and weights now. */
  stats(): StageBalance[] {
    const out: StageBalance[] = [];
    for (const [chainId, stages] of this.chains)
      for (const [stage, st] of stages) {
        const routes = this.o.routes();
        const local = (routes.route(chainId, stage) ?? []).filter((t) => this.o.instances.has(t.instance));
        const written = routes.written(chainId, stage);
        const weightOf = (id: number) => written.find((t) => t.instance === id)?.weight ?? 0;
        const targets: TargetWeight[] = local.map((t) => {
          const s = st.local.samples.get(instanceTarget(t.instance));
          return { instance: t.instance, node: '', base: t.weight, weight: weightOf(t.instance), inFlight: s?.inFlight ?? 0, latencyMs: s?.latencyMs ?? 0 };
        });
        const remote = this.o.peers?.hops.remoteStages(chainId).get(stage) ?? [];
        const shapedNodes = this.o.peers?.hops.shapedStage(chainId, stage)?.nodes ?? [];
        for (const n of remote) {
          const s = st.remote.samples.get(nodeTarget(n.node));
          const weight = shapedNodes.find((x) => x.node === n.node)?.weight ?? 0;
          targets.push({ instance: 0, node: n.node, base: n.weight, weight, inFlight: s?.inFlight ?? 0, latencyMs: s?.latencyMs ?? 0 });
        }
        out.push({ chainId, stage, policy: st.spec.policy, decisions: st.decisions, targets, reason: [st.local.reason, st.remote.reason].filter(Boolean).join('; ') });
      }
    return out;
  }

  close(): void {
    this.stop();
    this.o.peers?.link.off('load', this.onLoad);
  }

  /** Run one tick now (tests; the timer runs it every tickMs). */
  tick(now = Date.now()): void {
    const tickMs = Math.max(1, now - this.lastTick);
    this.lastTick = now;
    const busy: number[] = [];
    const loads: StageLoad[] = [];
    const routes = this.o.routes();
    let quiet = !this.o.peers?.link.connected().length;
    for (const [chainId, stages] of this.chains) {
      let changed = false;
      for (const [stage, st] of stages) {
        const local = this.localSamples(chainId, stage, now, loads);
        if (local.some((s) => s.arrivals > 0) && local.length > 1) busy.push(...local.map((s) => Number(s.id.slice(1))));
        if (local.some((s) => s.arrivals > 0 || s.inFlight > 0)) quiet = false;
        if (this.decide(st, st.local, local, now, tickMs)) changed = true;
      }
      if (changed) quiet = false;
      if (changed && routes.refresh(chainId).length > 0) this.logWeights(chainId);
      this.tickRemote(chainId, stages, now, tickMs);
    }
    this.busy = busy;
    this.quiet = quiet;
    this.sampling(busy.length > 0);
    this.report(loads);
  }

  // ---- measuring ----

  private localSamples(chainId: number, stage: number, now: number, loads: StageLoad[]): TargetSample[] {
    const live = this.o.routes().live(chainId, stage).filter((t) => this.o.instances.has(t.instance));
    // A lone instance has nothing to be weighed against; it is measured
    // only when peers want to hear about it.
    if (live.length < 2 && !this.o.peers?.link.connected().length) return [];
    const samples: TargetSample[] = [];
    let inFlight = 0;
    let cpu = 0;
    for (const t of live) {
      const status = this.o.instances.status(t.instance);
      if (!status) continue;
      const s = this.meter.take(status, this.o.instances.spec(t.instance), now, this.o.serviceTimes?.(t.instance));
      inFlight += this.meter.inFlightNow(t.instance);
      cpu += s.cpu / live.length;
      if (t.weight <= 0) continue;
      samples.push({
        id: instanceTarget(t.instance),
        base: t.weight,
        arrivals: s.arrivals,
        completions: s.completions,
        inFlight: s.inFlight,
        ...(s.latencyMs !== undefined ? { latencyMs: s.latencyMs } : {}),
        warm: s.warm,
        load: { cpu: s.cpu, mem: s.mem },
        instances: 1,
      });
    }
    if (live.length > 0)
      loads.push({ chainId, stage, ready: live.length, warm: live.every((t) => this.meter.isWarm(t.instance, now)), inFlight, cpu: Math.min(1, cpu) });
    return samples;
  }

  private remoteSamples(chainId: number, stage: number, nodes: NodeWeight[], now: number, tickMs: number): TargetSample[] {
    const hops = this.o.peers!.hops;
    const link = this.o.peers!.link;
    const tallies = hops.meter.take(chainId, stage, (node) => link.inFlightOf(node, chainId, stage));
    return nodes
      .filter((n) => n.weight > 0 && link.connection(n.node))
      .map((n) => {
        const t = tallies.get(n.node) ?? { sent: 0, done: 0, latencySumMs: 0, inFlight: 0 };
        const report = this.peerReport(n.node);
        const there = report?.stages.find((s) => s.chainId === chainId && s.stage === stage);
        const key = `${chainId}/${stage}/${n.node}`;
        let known = this.remoteNodes.get(key);
        if (!known) this.remoteNodes.set(key, (known = { firstSeen: now, done: 0 }));
        known.done += t.done;
        const warm = (there?.warm ?? true) && known.done >= this.warmUp.requests && now - known.firstSeen >= this.warmUp.ms;
        // The round trips that ended, or what the queue out there says
        // when it grew faster than they ended (Little's law): the queue
        // shows as soon as it builds.
        const little = littleLatency(t.inFlight, t.done, tickMs);
        const roundTrip = t.done > 0 ? t.latencySumMs / t.done : undefined;
        const latencyMs = roundTrip === undefined ? little : Math.max(roundTrip, little ?? 0);
        return {
          id: nodeTarget(n.node),
          base: n.weight,
          arrivals: t.sent,
          completions: t.done,
          inFlight: t.inFlight,
          ...(latencyMs !== undefined ? { latencyMs } : {}),
          warm,
          // The node's load, or its instances' of the stage where they are the busier.
          load: report ? { cpu: Math.max(report.cpu, there?.cpu ?? 0), mem: report.mem, load1: report.load1 } : { cpu: 0, mem: 0 },
          instances: Math.max(1, there?.ready ?? 1),
        };
      });
  }

  // ---- deciding ----

  private level(spec: BalanceSpec): Level {
    return { policy: createPolicy(spec), factors: new Map(), samples: new Map(), reason: '' };
  }

  /** Ask the policy when the stage has a choice to make; true when the
   * factors changed. */
  private decide(st: StageState, level: Level, samples: TargetSample[], now: number, tickMs: number): boolean {
    level.samples = new Map(samples.map((s) => [s.id, s]));
    if (samples.length < 2) return false;
    const d = level.policy.decide({ nowMs: now, tickMs, targets: samples });
    const factors = factorsOf(d.shares);
    const before = samples.map((s) => level.factors.get(s.id) ?? 1);
    level.factors = new Map(samples.map((s, i) => [s.id, factors[i]!]));
    level.reason = d.reason;
    st.decisions++;
    return factors.some((f, i) => Math.abs(f - before[i]!) > 1e-9);
  }

  private tickRemote(chainId: number, stages: Map<number, StageState>, now: number, tickMs: number): void {
    const hops = this.o.peers?.hops;
    if (!hops) return;
    let changed = false;
    for (const [stage, nodes] of hops.remoteStages(chainId)) {
      const st = stages.get(stage);
      const samples = this.remoteSamples(chainId, stage, nodes, now, tickMs);
      if (st && this.decide(st, st.remote, samples, now, tickMs)) changed = true;
    }
    if (changed) {
      hops.reshape(chainId);
      this.logWeights(chainId);
    }
  }

  private ringOf<T>(level: Level, members: { owner: T; name: string; weight: number }[], vnodes: number): Ring<T> {
    const of = members.map((m) => `${m.name}:${m.weight}`).sort().join(',');
    if (level.ring?.of !== of) level.ring = { of, ring: buildRing(members, vnodes) as Ring<number> | Ring<string> };
    return level.ring.ring as Ring<T>;
  }

  private logWeights(chainId: number): void {
    for (const s of this.stats().filter((x) => x.chainId === chainId)) {
      const weights = s.targets.map((t) => `${t.node || t.instance}=${t.weight}`).join(' ');
      const st = this.chains.get(chainId)?.get(s.stage);
      if (!st || st.written === weights) continue;
      st.written = weights;
      this.log.debug('balance decision', { chain: chainId, stage: s.stage, policy: s.policy, decisions: s.decisions, weights, reason: s.reason });
    }
  }

  // ---- telling the peers ----

  private report(stages: StageLoad[]): void {
    const link = this.o.peers?.link;
    if (!link || link.connected().length === 0) return;
    link.sendLoad(loadFrame({ ...this.nodeLoad.sample(), stages }));
  }

  // ---- timers ----

  /** Every tickMs, or REST_TICK_MS while the last tick was quiet. */
  private schedule(): void {
    if (this.timer || this.chains.size === 0) return;
    this.lastTick = Date.now();
    const next = (ms: number) => {
      const timer = setTimeout(() => {
        try {
          this.tick();
        } catch (err) {
          this.quiet = false;
          this.log.warn('balance tick failed', { error: (err as Error).message });
        }
        // Stopped meanwhile (no chain left, closed): no next tick.
        if (this.timer === timer) next(this.quiet ? Math.max(this.tickMs, REST_TICK_MS) : this.tickMs);
      }, ms);
      this.timer = timer;
      timer.unref();
    };
    next(this.tickMs);
  }

  /** In-flight readings between ticks, only while some stage has traffic:
   * an idle node is not woken for them. */
  private sampling(on: boolean): void {
    if (on && !this.sampler) {
      this.sampler = setInterval(() => this.meter.sampleInFlight(this.busy), this.o.sampleMs ?? DEFAULT_SAMPLE_MS);
      this.sampler.unref();
    } else if (!on && this.sampler) {
      clearInterval(this.sampler);
      this.sampler = undefined;
    }
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.sampling(false);
  }
}
