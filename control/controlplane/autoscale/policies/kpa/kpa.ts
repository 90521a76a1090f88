/**
 * `kpa`: Knative's Knative Pod Autoscaler, the baseline, with its defaults.
 * Followed from knative/serving at commit
 * 98e5ef90aa7033797aa0a61ef97f3ff7e49a3944:
 *
 * - pkg/autoscaler/scaling/autoscaler.go, Scale(): desired = ceil(observed
 *   concurrency / target) over a stable window and a panic window, kept in
 *   [floor(ready / maxScaleDownRate), ceil(ready * maxScaleUpRate)] with
 *   ready counted as at least 1; panic starts when the panic window's
 *   desired count is >= panicThreshold x ready, never scales down while
 *   panicking, and ends a stable window after the last time over the
 *   threshold.
 * - pkg/autoscaler/metrics/collector.go and aggregation/bucketing.go: one
 *   concurrency sample a second (the scrape tick) into 1 s buckets, averaged
 *   over each window (buckets.ts).
 * - pkg/autoscaler/config/config.go (defaults), reconciler/autoscaling/
 *   resources/target.go (target = containerConcurrency 100 x utilisation
 *   0.7) and metric.go (panic window = stable x percentage, rounded to a
 *   second, at least one bucket).
 * - pkg/autoscaler/scaling/multiscaler.go: a 2 s tick, and an immediate one
 *   when a stage at zero sees requests (Poke; ChainAutoscaler does that).
 * - pkg/reconciler/autoscaling/kpa/scaler.go, scale() and
 *   handleScaleToZero(): bounds first, then zero only after the revision was
 *   active for a stable window, marked inactive, and stayed so for the
 *   scale-to-zero grace period; until then the current count stays.
 *
 * Concurrency is what Knative's queue-proxies and activator report: the
 * requests each instance holds (queued and in service) plus those the
 * gateway holds for a stage with no ready instance.
 */
import type { ChainIR, StageIR } from '../../../../chain/ir.js';
import { observeStages, type AutoscalePolicy, type ChainObservation, type PolicyPlugin, type StageObservation, type StageVerdict } from '../../policy.js';
import { TimedBuckets } from './buckets.js';

export interface KpaParams {
  [name: string]: number;
  /** Concurrency an instance is sized for (container-concurrency-target-default). */
  targetConcurrency: number;
  /** The fraction of it to aim at (container-concurrency-target-percentage). */
  targetUtilization: number;
  stableWindowMs: number;
  panicWindowPercentage: number;
  panicThresholdPercentage: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleToZeroGraceMs: number;
  tickMs: number;
}

/** Knative's defaults (config.go defaultConfig, multiscaler.go tickInterval). */
export const KPA_DEFAULTS: KpaParams = {
  targetConcurrency: 100,
  targetUtilization: 0.7,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGraceMs: 30_000,
  tickMs: 2000,
};

/** Knative's 1 s metric bucket (config.go BucketSize). */
const BUCKET_MS = 1000;
/** autoscaling.TargetMin: the smallest target Knative accepts. */
const TARGET_MIN = 0.01;

export const kpaPlugin: PolicyPlugin<KpaParams> = {
  name: 'kpa',
  summary: "Knative's KPA: concurrency per instance over a 60 s stable and a 6 s panic window",
  needsSlo: false,
  defaults: KPA_DEFAULTS,
  // Ranges are Knative's own (config.go validate, apis/autoscaling/register.go).
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      targetConcurrency: { type: 'number', exclusiveMinimum: 0, description: 'requests in flight per instance, a number > 0 (default 100)' },
      targetUtilization: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'a fraction in (0, 1] (default 0.7)' },
      stableWindowMs: { type: 'integer', minimum: 6000, maximum: 3_600_000, multipleOf: 1000, description: 'whole seconds in ms, 6000 to 3600000 (default 60000)' },
      panicWindowPercentage: { type: 'number', minimum: 1, maximum: 100, description: 'a percentage of the stable window, 1 to 100 (default 10)' },
      panicThresholdPercentage: { type: 'number', minimum: 110, maximum: 1000, description: 'a percentage of the ready instances, 110 to 1000 (default 200)' },
      maxScaleUpRate: { type: 'number', exclusiveMinimum: 1, description: 'a factor > 1 (default 1000)' },
      maxScaleDownRate: { type: 'number', exclusiveMinimum: 1, description: 'a factor > 1 (default 2)' },
      scaleToZeroGraceMs: { type: 'integer', minimum: 1, maximum: 3_600_000, description: 'milliseconds, 1 to 3600000 (default 30000)' },
      tickMs: { type: 'integer', minimum: 100, maximum: 60_000, description: 'milliseconds between decisions, 100 to 60000 (default 2000)' },
    },
  },
  check(p) {
    const target = p.targetConcurrency * p.targetUtilization;
    return target < TARGET_MIN
      ? [{ param: 'targetUtilization', message: `targetConcurrency x targetUtilization is ${target}, below Knative's minimum target of ${TARGET_MIN}` }]
      : [];
  },
  create: (chain, params) => new Kpa(chain, params),
};

class Kpa implements AutoscalePolicy {
  readonly name = 'kpa';
  readonly tickMs: number;
  private readonly stages: KpaStage[];

  constructor(chain: ChainIR, params: KpaParams) {
    this.tickMs = params.tickMs;
    this.stages = chain.stages.map((s) => new KpaStage(s, params));
  }

  observe(o: ChainObservation): void {
    observeStages(o, this.stages);
  }

  decide(nowMs: number): StageVerdict[] {
    return this.stages.map((s) => s.decide(nowMs));
  }
}

/** One stage's decider: Knative's autoscaler struct plus the scale-to-zero
 * state its reconciler keeps on the PodAutoscaler. */
class KpaStage {
  private readonly stable: TimedBuckets;
  private readonly panic: TimedBuckets;
  private readonly target: number;
  private readonly panicThreshold: number;
  private readonly panicWindowMs: number;
  private last: StageObservation | undefined;
  private lastBucket = Number.NaN;
  /** When panic mode began or was last extended; undefined: not panicking. */
  private panicTime: number | undefined;
  private maxPanicPods = 0;
  /** The PodAutoscaler's Active condition. */
  private active = { on: true, since: Number.NaN };

  constructor(
    private readonly stage: StageIR,
    private readonly p: KpaParams,
  ) {
    this.panicWindowMs = Math.max(BUCKET_MS, Math.round((p.stableWindowMs * p.panicWindowPercentage) / 100 / 1000) * 1000);
    this.stable = new TimedBuckets(p.stableWindowMs, BUCKET_MS);
    this.panic = new TimedBuckets(this.panicWindowMs, BUCKET_MS);
    this.target = Math.max(TARGET_MIN, p.targetConcurrency * p.targetUtilization);
    this.panicThreshold = p.panicThresholdPercentage / 100;
  }

  observe(nowMs: number, o: StageObservation): void {
    if (!this.last) {
      // newAutoscaler: a revision already above one pod starts panicking,
      // so a restarted autoscaler does not scale down on an empty history.
      const ready = readyCount(o);
      if (ready > 1) {
        this.panicTime = nowMs;
        this.maxPanicPods = ready;
      }
      this.active.since = nowMs;
    }
    this.last = o;
    // One scrape a second, as Knative's collector: a second sample within
    // the same bucket would be added to it, not averaged.
    const bucket = Math.floor(nowMs / BUCKET_MS);
    if (bucket === this.lastBucket) return;
    this.lastBucket = bucket;
    const concurrency = o.signals.instances.reduce((n, i) => n + i.inFlight, 0) + (o.held?.requests ?? 0);
    this.stable.record(nowMs, concurrency);
    this.panic.record(nowMs, concurrency);
  }

  decide(nowMs: number): StageVerdict {
    const o = this.last;
    const current = o?.current ?? 0;
    const keep = (rule: string, message: string, inputs: StageVerdict['inputs'] = {}): StageVerdict => ({ stage: this.stage.id, desired: current, rule, message, inputs: { current, ...inputs } });
    if (!o || this.stable.isEmpty(nowMs)) return keep('no-data', `no concurrency sample in the last ${this.p.stableWindowMs / 1000} s: keeping ${current}`);

    const readyPods = readyCount(o);
    const ready = Math.max(1, readyPods);
    const observedStable = this.stable.windowAverage(nowMs);
    const observedPanic = this.panic.windowAverage(nowMs);
    const maxScaleUp = Math.ceil(this.p.maxScaleUpRate * ready);
    const maxScaleDown = Math.floor(ready / this.p.maxScaleDownRate);
    const dspc = Math.ceil(observedStable / this.target);
    const dppc = Math.ceil(observedPanic / this.target);
    const desiredStable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
    const desiredPanic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
    const overThreshold = dppc / ready >= this.panicThreshold;

    if (overThreshold) this.panicTime = nowMs; // begin, or extend
    else if (this.panicTime !== undefined && this.panicTime + this.p.stableWindowMs < nowMs) {
      this.panicTime = undefined; // the surge made its way into the stable window
      this.maxPanicPods = 0;
    }

    let desired = desiredStable;
    let rule = 'stable';
    if (this.panicTime !== undefined) {
      rule = 'panic';
      // Provision for whichever window asks more; never go down in panic.
      desired = Math.max(desiredStable, desiredPanic);
      if (desired > this.maxPanicPods) this.maxPanicPods = desired;
      desired = this.maxPanicPods;
    }
    const inputs = {
      current,
      ready: readyPods,
      stableConcurrency: observedStable,
      panicConcurrency: observedPanic,
      targetPerInstance: this.target,
      stableDesired: dspc,
      panicDesired: dppc,
      maxScaleUp,
      maxScaleDown,
      panicking: this.panicTime !== undefined,
    };
    const why =
      rule === 'panic'
        ? `panic: ${observedPanic.toFixed(1)} requests in flight over the last ${this.panicWindowMs / 1000} s want ${dppc} instance(s) of ${this.target}, ${(dppc / ready).toFixed(1)}x the ${readyPods} ready; not scaling down while panicking`
        : `stable: ${observedStable.toFixed(1)} requests in flight over ${this.p.stableWindowMs / 1000} s at ${this.target} per instance want ${dspc}, kept within [${maxScaleDown}, ${maxScaleUp}] by the scale rates`;

    // scaler.go: bounds, then scale to zero only through the inactive state.
    const bounded = Math.min(Math.max(desired, this.stage.scale.min), this.stage.scale.max);
    if (bounded > 0) {
      if (!this.active.on) this.active = { on: true, since: nowMs };
      return { stage: this.stage.id, desired: bounded, rule, message: why, inputs };
    }
    if (this.active.on) {
      const activeFor = nowMs - this.active.since;
      if (activeFor >= this.p.stableWindowMs) {
        this.active = { on: false, since: nowMs };
        return keep('scale-to-zero-wait', `no requests for a stable window: inactive now, scaling to zero after the ${this.p.scaleToZeroGraceMs / 1000} s grace period`, inputs);
      }
      return { stage: this.stage.id, desired: 1, rule: 'scale-to-zero-wait', message: `idle, but active for only ${(activeFor / 1000).toFixed(0)} s of the ${this.p.stableWindowMs / 1000} s stable window: at most 1 until then`, inputs };
    }
    const inactiveFor = nowMs - this.active.since;
    if (inactiveFor >= this.p.scaleToZeroGraceMs) {
      return { stage: this.stage.id, desired: 0, rule: 'scale-to-zero', message: `inactive for ${(inactiveFor / 1000).toFixed(0)} s, past the ${this.p.scaleToZeroGraceMs / 1000} s scale-to-zero grace period: scaling to zero`, inputs };
    }
    return keep('scale-to-zero-wait', `inactive for ${(inactiveFor / 1000).toFixed(0)} s of the ${this.p.scaleToZeroGraceMs / 1000} s grace period: keeping ${current}`, inputs);
  }
}

function readyCount(o: StageObservation): number {
  return o.signals.instances.filter((i) => i.ready).length;
}
