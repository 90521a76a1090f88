/**
 * Runs one chain's policy: feeds it every sample, asks it on its tick (and
 * at once when a stage at zero has requests waiting, Knative's Poke), and
 * bounds each answer by scale.min, scale.max and what the nodes can hold,
 * whatever the policy said. The clock is the caller's, so the control loop
 * (real time) and the simulator (virtual time, bench/autoscale) run the
 * same code: the live loop is this plus StageSignals in and
 * ChainManager.scale(ref, stage, desired) out for every changed decision,
 * with decisionEvent() on the event bus.
 */
import type { ChainIR, StageIR } from '../../chain/ir.js';
import type { ClusterEvent } from '../events.js';
import type { AutoscalePolicy, ChainObservation, DecisionReason, StageObservation, StageVerdict } from './policy.js';

export interface ScaleDecision extends DecisionReason {
  policy: string;
  nowMs: number;
  stage: number;
  stageName: string;
  current: number;
  ready: number;
  desired: number;
  /** desired differs from current: the stage should be scaled. */
  changed: boolean;
}

/** verdict.desired within [scale.min, min(scale.max, capacity)], saying so
 * in the reason when a bound cut it. */
export function boundVerdict(v: StageVerdict, stage: StageIR, capacity?: number): StageVerdict {
  const cap = capacity === undefined ? stage.scale.max : Math.max(0, Math.min(stage.scale.max, Math.floor(capacity)));
  const lo = Math.min(stage.scale.min, cap);
  // A policy's arithmetic gone wrong (NaN, Infinity) asks for the most allowed.
  const want = Number.isFinite(v.desired) ? Math.round(v.desired) : stage.scale.max;
  const desired = Math.min(Math.max(want, lo), cap);
  if (desired === v.desired) return v;
  if (desired === want) return { ...v, desired, inputs: { ...v.inputs, asked: String(v.desired) } };
  const bound = desired < want ? (cap < stage.scale.max ? `the nodes' capacity ${cap}` : `scale.max ${stage.scale.max}`) : `scale.min ${stage.scale.min}`;
  return { ...v, desired, message: `${v.message} (asked ${want}, bounded by ${bound})`, inputs: { ...v.inputs, asked: want, bound } };
}

export class ChainAutoscaler {
  private last: ChainObservation | undefined;
  private nextTickMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly chain: ChainIR,
    readonly policy: AutoscalePolicy,
  ) {}

  /** Records a sample; decides at once (returns the decisions) when a
   * stage with no instance has requests waiting, else returns []. */
  observe(o: ChainObservation): ScaleDecision[] {
    this.policy.observe(o);
    this.last = o;
    const poked = o.stages.some((s) => s.current === 0 && (s.held?.requests ?? 0) > 0);
    return poked ? this.decide(o.nowMs) : [];
  }

  /** When the next tick is due. */
  get dueMs(): number {
    return this.nextTickMs;
  }

  /** Decides if the policy's tick is due at nowMs, else returns []. */
  tick(nowMs: number): ScaleDecision[] {
    return nowMs >= this.nextTickMs ? this.decide(nowMs) : [];
  }

  /** Decides now, for every stage, and schedules the next tick. */
  decide(nowMs: number): ScaleDecision[] {
    this.nextTickMs = nowMs + this.policy.tickMs;
    return this.policy.decide(nowMs).map((v) => {
      const stage = this.chain.stages[v.stage];
      if (!stage) throw new Error(`policy ${this.policy.name} decided for stage ${v.stage}, which chain ${this.chain.name} does not have`);
      const o: StageObservation | undefined = this.last?.stages[v.stage];
      const b = boundVerdict(v, stage, o?.capacity);
      const current = o?.current ?? 0;
      return {
        policy: this.policy.name,
        nowMs,
        stage: stage.id,
        stageName: stage.name,
        current,
        ready: o?.signals.instances.filter((i) => i.ready).length ?? 0,
        desired: b.desired,
        changed: b.desired !== current,
        rule: b.rule,
        message: b.message,
        inputs: b.inputs,
      };
    });
  }
}

/** A decision as a cluster event (WatchEvents, `ferry events`). */
export function decisionEvent(d: ScaleDecision, chain: Pick<ChainIR, 'name' | 'tenant'>): Omit<ClusterEvent, 'timeMs'> {
  return {
    kind: 'autoscale-decision',
    chain: chain.name,
    tenant: chain.tenant,
    stage: d.stageName,
    message: `${d.policy} ${d.rule}: ${d.current} -> ${d.desired}: ${d.message}`,
  };
}
