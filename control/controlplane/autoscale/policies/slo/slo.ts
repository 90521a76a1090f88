/**
 * `slo`: ferry's own policy. Each stage gets the fewest instances that keep
 * the chain's predicted p99 under spec.slo.p99Ms:
 *
 * 1. Budget: the SLO is split along every path of the chain in proportion
 *    to each stage's service p99 (budget.ts).
 * 2. Demand: the stage's arrival rate (its instances' plus what the gateway
 *    holds for it), smoothed and extrapolated with Holt's linear method
 *    (forecast.ts) over the time a new instance needs: its learnt cold
 *    start plus one tick; and the demand on its way, its share of what the
 *    stages before it plan for (flow.ts). Sizing takes the largest of the
 *    rate now, the smoothed rate, the forecast and the upstream demand, so
 *    a predicted rise is met ahead, a stage wakes with the entry, and a
 *    fall is not trusted before it happens.
 * 3. Model: c independent M/G/1 queues (the router's random pick), p99 from
 *    Pollaczek-Khinchine with an exponential wait tail, and the CPU quota's
 *    stall risk, spent on CPU time (queueing.ts, service.ts); plus enough
 *    instances to drain what is queued now within the budget.
 * 4. Down slowly, up at once: the count is the largest wanted over the last
 *    scaleDownDelayMs, and a smaller count must fit 80% of the budget.
 * 5. Idle: with no requests for 2 s and none on the way, the instances of
 *    the last busy moment are held through gaps (holdMs, or as long as the
 *    stage's recent short gaps: idle.ts) when a cold start would break the
 *    SLO, then released to scale.min (zero when the chain allows it); a
 *    stage whose cold start fits in the SLO is let go after idleToZeroMs.
 */
import type { ChainIR, StageIR } from '../../../../chain/ir.js';
import { chainPaths, type ChainPath } from '../../../../chain/paths.js';
import { CPU_PERIOD_US } from '../../../../node/sandbox/cgroups.js';
import { observeStages, type AutoscalePolicy, type ChainObservation, type PolicyPlugin, type StageObservation, type StageVerdict } from '../../policy.js';
import { stageBudgets } from './budget.js';
import { ColdStarts } from './cold-start.js';
import { FlowShares } from './flow.js';
import { HoltForecast } from './forecast.js';
import { IdleGaps } from './idle.js';
import { instancesFor, type ServiceModel, type Sizing } from './queueing.js';
import { ServiceEstimate } from './service.js';

export interface SloParams {
  [name: string]: number;
  /** Holt's level smoothing. */
  alpha: number;
  /** Holt's trend smoothing. */
  beta: number;
  maxThrottleRisk: number;
  scaleDownDelayMs: number;
  /** Shortest hold through an idle gap. */
  holdMs: number;
  /** Longest gap worth holding instances through. */
  maxHoldMs: number;
  /** Idle time before zero for a stage whose cold start fits in the SLO. */
  idleToZeroMs: number;
  tickMs: number;
}

export const SLO_DEFAULTS: SloParams = {
  alpha: 0.5,
  beta: 0.3,
  maxThrottleRisk: 0.001,
  scaleDownDelayMs: 10_000,
  holdMs: 30_000,
  maxHoldMs: 60_000,
  idleToZeroMs: 5000,
  tickMs: 1000,
};

/**
 * What a stage is assumed to cost before it has served anything, by
 * runtime: the online-boutique stages measured under a real ferryd
 * (bench/autoscale/profiles/online-boutique.json, bench/autoscale/README.md),
 * rounded up. Replaced by the stage's own signals from its first request.
 */
export const PRIORS = {
  node: { service: { meanMs: 0.6, p99Ms: 5, scv: 1, cpuMs: 0.6 }, coldStartMs: 400 },
  native: { service: { meanMs: 0.3, p99Ms: 5, scv: 1, cpuMs: 0.1 }, coldStartMs: 50 },
} satisfies Record<StageIR['runtime'], { service: ServiceModel; coldStartMs: number }>;

export const sloPlugin: PolicyPlugin<SloParams> = {
  name: 'slo',
  summary: "ferry's SLO policy: forecast arrivals and a queueing model per stage against the chain's slo.p99Ms",
  needsSlo: true,
  defaults: SLO_DEFAULTS,
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      alpha: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'a smoothing weight in (0, 1] (default 0.5)' },
      beta: { type: 'number', minimum: 0, maximum: 1, description: 'a smoothing weight in [0, 1] (default 0.3)' },
      maxThrottleRisk: { type: 'number', exclusiveMinimum: 0, maximum: 0.5, description: 'a probability in (0, 0.5] (default 0.001)' },
      scaleDownDelayMs: { type: 'integer', minimum: 0, maximum: 3_600_000, description: 'milliseconds, 0 to 3600000 (default 10000)' },
      holdMs: { type: 'integer', minimum: 0, maximum: 3_600_000, description: 'milliseconds, 0 to 3600000 (default 30000)' },
      maxHoldMs: { type: 'integer', minimum: 0, maximum: 3_600_000, description: 'milliseconds, 0 to 3600000 (default 60000)' },
      idleToZeroMs: { type: 'integer', minimum: 0, maximum: 3_600_000, description: 'milliseconds, 0 to 3600000 (default 5000)' },
      tickMs: { type: 'integer', minimum: 100, maximum: 60_000, description: 'milliseconds between decisions, 100 to 60000 (default 1000)' },
    },
  },
  check: (p) => (p.holdMs > p.maxHoldMs ? [{ param: 'holdMs', message: `holdMs (${p.holdMs}) must not exceed maxHoldMs (${p.maxHoldMs})` }] : []),
  create: (chain, params) => new SloPolicy(chain, params),
};

class SloPolicy implements AutoscalePolicy {
  readonly name = 'slo';
  readonly tickMs: number;
  private readonly stages: SloStage[];
  private readonly paths: ChainPath[];
  private readonly flow: FlowShares;
  private readonly sloMs: number;

  constructor(chain: ChainIR, params: SloParams) {
    if (!chain.slo) throw new Error(`policy slo needs the chain's slo.p99Ms (chain ${chain.name} has none)`);
    this.sloMs = chain.slo.p99Ms;
    this.tickMs = params.tickMs;
    this.paths = chainPaths(chain);
    this.flow = new FlowShares(chain);
    this.stages = chain.stages.map((s) => new SloStage(s, params));
  }

  observe(o: ChainObservation): void {
    observeStages(o, this.stages);
    this.flow.update(
      this.stages.map((s) => s.lambdaNow),
      this.stages.map((s) => s.completionsNow),
    );
  }

  decide(nowMs: number): StageVerdict[] {
    const budgets = stageBudgets(this.sloMs, this.paths, this.stages.length, (i) => this.stages[i]?.service.p99Ms ?? 1);
    // The SLO less the unloaded p99 of the slowest path: what a cold start may take.
    const slack = this.sloMs - Math.max(0, ...this.paths.map((p) => p.reduce((t, s) => t + (this.stages[s]?.service.p99Ms ?? 0), 0)));
    // Stages after their predecessors, so each sees the demand on its way.
    const planned: number[] = [];
    const verdicts: StageVerdict[] = [];
    for (const i of this.flow.order) {
      const stage = this.stages[i] as SloStage;
      const { verdict, plannedRate } = stage.decide(nowMs, budgets[i] ?? this.sloMs, slack, this.flow.upstream(i, planned));
      planned[i] = plannedRate;
      verdicts[i] = verdict;
    }
    return verdicts;
  }
}

/** A stage with no arrivals for this long, and none on the way, is idle. */
const IDLE_AFTER_MS = 2000;
/** A scale-down must fit this fraction of the budget (hysteresis). */
const DOWN_MARGIN = 0.8;

class SloStage {
  private readonly estimate: ServiceEstimate;
  private readonly forecast: HoltForecast;
  private readonly gaps: IdleGaps;
  private readonly starts: ColdStarts;
  private last: StageObservation | undefined;
  /** Wanted counts of the last scaleDownDelayMs, oldest first. */
  private wanted: { atMs: number; count: number }[] = [];
  /** The count of the last busy decision: what a gap holds. */
  private busyCount = 0;

  constructor(
    private readonly stage: StageIR,
    private readonly p: SloParams,
  ) {
    const prior = PRIORS[stage.runtime];
    this.estimate = new ServiceEstimate(prior.service);
    this.forecast = new HoltForecast(p.alpha, p.beta);
    this.gaps = new IdleGaps(p.holdMs, p.maxHoldMs);
    this.starts = new ColdStarts(prior.coldStartMs);
  }

  observe(nowMs: number, o: StageObservation): void {
    this.last = o;
    const { instances } = o.signals;
    this.forecast.update(nowMs, this.lambdaNow);
    this.gaps.update(nowMs, this.lambdaNow > 0 || backlogOf(o) > 0);
    this.starts.update(nowMs, o.current, instances.filter((i) => i.ready).length);
    this.estimate.update(instances);
  }

  get service(): ServiceModel {
    return this.estimate.model;
  }

  /** Arrivals at the last sample: its instances' and those the gateway holds for it. */
  get lambdaNow(): number {
    const o = this.last;
    return o ? o.signals.instances.reduce((n, i) => n + i.arrivalsPerSec, 0) + (o.held?.arrivalsPerSec ?? 0) : 0;
  }

  /** Completions at the last sample: what it passed on. */
  get completionsNow(): number {
    return this.last?.signals.instances.reduce((n, i) => n + i.completionsPerSec, 0) ?? 0;
  }

  /** This stage's count, and the rate it planned for (its successors' upstream). */
  decide(nowMs: number, budgetMs: number, coldStartSlackMs: number, upstream: number): { verdict: StageVerdict; plannedRate: number } {
    const o = this.last;
    const current = o?.current ?? 0;
    const coldStartMs = this.starts.estimateMs();
    const backlog = o ? backlogOf(o) : 0;
    const lambdaNow = this.lambdaNow;
    const service = this.service;
    const base = { current, coldStartMs: round(coldStartMs), budgetMs: round(budgetMs), serviceMeanMs: round(service.meanMs), serviceP99Ms: round(service.p99Ms), cpuMs: round(service.cpuMs), upstream: round(upstream) };
    const verdict = (desired: number, rule: string, message: string, inputs: StageVerdict['inputs'] = {}): StageVerdict => ({ stage: this.stage.id, desired, rule, message, inputs: { ...base, ...inputs } });

    const idleMs = this.gaps.idleForMs(nowMs);
    if (backlog <= 0 && upstream < 0.5 && (idleMs >= IDLE_AFTER_MS || (lambdaNow <= 0 && this.busyCount === 0))) {
      const coldStartFits = coldStartMs <= coldStartSlackMs;
      const holdMs = coldStartFits ? this.p.idleToZeroMs : this.gaps.holdForMs();
      const inputs = { idleMs, holdMs: round(holdMs), coldStartFits };
      if (idleMs >= holdMs) {
        this.wanted = [];
        return { plannedRate: 0, verdict: verdict(this.stage.scale.min, 'idle-release', `idle for ${sec(idleMs)} s, past the ${sec(holdMs)} s worth holding: down to scale.min ${this.stage.scale.min}`, inputs) };
      }
      // What the last busy moment needed; without one (idle from the start), what runs.
      const hold = this.busyCount > 0 ? this.busyCount : current;
      const why = coldStartFits
        ? `idle for ${sec(idleMs)} s; a cold start (${Math.round(coldStartMs)} ms) fits in the SLO, releasing after ${sec(holdMs)} s`
        : `idle for ${sec(idleMs)} s; a cold start (${Math.round(coldStartMs)} ms) would break the SLO: holding ${hold} through gaps up to ${sec(holdMs)} s`;
      return { plannedRate: 0, verdict: verdict(hold, 'hold-through-gap', why, inputs) };
    }

    const horizonMs = coldStartMs + this.p.tickMs;
    const lambdaForecast = this.forecast.forecast(horizonMs);
    const own = Math.max(lambdaNow, this.forecast.current, lambdaForecast);
    const lambdaPlan = Math.max(own, upstream);
    const sizeFor = (lambda: number, budgetScale = 1) =>
      instancesFor({
        lambda,
        service,
        budgetMs: budgetMs * budgetScale,
        quota: { cpu: Math.min(1, this.stage.resources.cpuMilli / 1000), periodMs: CPU_PERIOD_US / 1000 },
        maxThrottleRisk: this.p.maxThrottleRisk,
        max: this.stage.scale.max,
      });
    let sizing = sizeFor(lambdaPlan);
    // Down only to a count that fits with room to spare, so noise in the
    // estimates does not take an instance away and bring it back.
    if (sizing.count < current) {
      const strict = sizeFor(lambdaPlan, DOWN_MARGIN);
      if (strict.binding !== 'saturated' && strict.count > sizing.count) sizing = { ...strict, count: Math.min(strict.count, current) };
    }
    // What is queued now must drain within the budget too.
    const drain = Math.ceil((backlog * service.meanMs) / Math.max(budgetMs, 1e-3));
    // What the stage's own arrivals (now, or with the forecast) would need: the rule says what asked for more.
    const now = lambdaNow > 0 ? sizeFor(lambdaNow).count : 0;
    const ownCount = own > 0 ? sizeFor(own).count : 0;
    let want = Math.max(sizing.count, drain, 1);
    let rule: string = sizing.binding;
    if (sizing.binding !== 'saturated') {
      if (upstream > own && sizing.count > ownCount) rule = 'upstream';
      else if (lambdaForecast > lambdaNow && sizing.count > now) rule = 'forecast';
    }
    if (drain > sizing.count) rule = 'backlog';
    want = Math.min(want, this.stage.scale.max);

    this.wanted.push({ atMs: nowMs, count: want });
    this.wanted = this.wanted.filter((w) => w.atMs > nowMs - this.p.scaleDownDelayMs || w === this.wanted[this.wanted.length - 1]);
    const desired = Math.max(...this.wanted.map((w) => w.count));
    if (desired > want) rule = 'scale-down-delay';
    this.busyCount = desired;

    const inputs = {
      lambdaNow: round(lambdaNow),
      lambdaSmoothed: round(this.forecast.current),
      lambdaForecast: round(lambdaForecast),
      horizonMs: round(horizonMs),
      backlog,
      predictedP99Ms: round(sizing.predictedP99Ms),
      utilisation: round(sizing.utilisation),
      throttleRisk: sizing.throttleRisk,
      neededNow: now,
      wanted: want,
    };
    return { plannedRate: lambdaPlan, verdict: verdict(desired, rule, this.explain(rule, desired, want, lambdaPlan, budgetMs, sizing, drain, backlog), inputs) };
  }

  private explain(rule: string, desired: number, want: number, lambda: number, budgetMs: number, s: Sizing, drain: number, backlog: number): string {
    const load = `${lambda.toFixed(1)} req/s at ${this.service.meanMs.toFixed(2)} ms`;
    switch (rule) {
      case 'forecast':
        return `forecast: arrivals rising to ${load} within the next cold start; ${desired} instance(s) keep the predicted p99 at ${s.predictedP99Ms.toFixed(1)} ms of a ${budgetMs.toFixed(1)} ms budget`;
      case 'upstream':
        return `upstream: ${load} on its way from the stages before it; ${desired} instance(s) keep the predicted p99 at ${s.predictedP99Ms.toFixed(1)} ms of a ${budgetMs.toFixed(1)} ms budget`;
      case 'quota':
        return `quota: ${load} on ${this.stage.resources.cpuMilli}m of CPU: ${desired} instance(s) keep a period's stall risk at ${s.throttleRisk.toExponential(1)}`;
      case 'backlog':
        return `backlog: ${backlog} requests queued need ${drain} instance(s) to drain within the ${budgetMs.toFixed(1)} ms budget`;
      case 'saturated':
        return `saturated: ${load} needs more than scale.max ${this.stage.scale.max}; predicted p99 ${s.predictedP99Ms.toFixed(1)} ms`;
      case 'scale-down-delay':
        return `scale-down delay: ${want} would do, keeping ${desired} wanted within the last ${sec(this.p.scaleDownDelayMs)} s`;
      default:
        return `latency: ${load}: ${desired} instance(s) keep the predicted p99 at ${s.predictedP99Ms.toFixed(1)} ms of a ${budgetMs.toFixed(1)} ms budget`;
    }
  }
}

function backlogOf(o: StageObservation): number {
  return o.signals.instances.reduce((n, i) => n + i.inFlight, 0) + (o.held?.requests ?? 0);
}

const round = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
const sec = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);
