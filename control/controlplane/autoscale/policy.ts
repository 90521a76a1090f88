/**
 * The autoscaling extension point: one interface every policy implements
 * (the plugins live in policies/, one folder each, and are found by name in
 * registry.ts), after the Kubernetes scheduler framework's split between
 * extension points and plugins.
 *
 * A policy is made for one chain (its stages share one SLO, so a policy may
 * weigh them together) and sees the chain's signals over time: observe() at
 * every stats sample, decide() on its own tick. It answers a desired
 * instance count per stage with the rule that fired and the inputs it
 * used. It never touches instances: ChainAutoscaler (autoscaler.ts) bounds
 * the answer by scale.min/max and what the nodes can hold, and whoever
 * drives it applies it (ChainManager.scale) and publishes the reason as an
 * event.
 */
import type { ChainIR } from '../../chain/ir.js';
import type { StageSignals } from '../signals/signals.js';

/** One stage's state at a sample. */
export interface StageObservation {
  signals: StageSignals;
  /** Instances asked for: starting or ready, not those draining. */
  current: number;
  /** Requests the gateway holds for the stage because none of its
   * instances is ready (scale from zero), and the rate they arrive at:
   * Knative's activator reports these as the revision's concurrency. */
  held?: { requests: number; arrivalsPerSec: number };
  /** The most instances of this stage the nodes can hold now (placement's
   * answer); absent: no limit but scale.max. */
  capacity?: number;
}

/** The whole chain at one sample, stages indexed by stage id. */
export interface ChainObservation {
  nowMs: number;
  stages: StageObservation[];
}

/** Why a count was chosen: what a WatchEvents reader sees. */
export interface DecisionReason {
  /** A short name for the rule that fired (e.g. "panic", "idle-to-zero"). */
  rule: string;
  /** One sentence for people, with the numbers that mattered. */
  message: string;
  /** The inputs the rule used, by name. */
  inputs: Record<string, number | string | boolean>;
}

/** A policy's answer for one stage, before bounds. */
export interface StageVerdict extends DecisionReason {
  stage: number;
  desired: number;
}

export interface AutoscalePolicy {
  readonly name: string;
  /** How often decide() should run. */
  readonly tickMs: number;
  /** Records one sample (every stats interval, about a second). */
  observe(o: ChainObservation): void;
  /** The desired count of every stage now, from what was observed. */
  decide(nowMs: number): StageVerdict[];
}

/** A policy's parameters: a JSON Schema of numbers, checked (with
 * positions) when a chain is compiled. Each property's description is the
 * "expected ..." phrase of its error messages. */
export interface ParamSchema {
  type: 'object';
  additionalProperties: false;
  properties: Record<string, { type: 'number' | 'integer'; description: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; multipleOf?: number }>;
}

export type PolicyParams = Record<string, number>;

export interface PolicyPlugin<P extends PolicyParams = PolicyParams> {
  readonly name: string;
  /** One line for `ferry validate` and the docs. */
  readonly summary: string;
  readonly params: ParamSchema;
  readonly defaults: P;
  /** A chain without slo.p99Ms cannot use it. */
  readonly needsSlo: boolean;
  /** Checks across parameters, after each passed its schema; messages name the parameter. */
  check?(params: P): { param: string; message: string }[];
  create(chain: ChainIR, params: P): AutoscalePolicy;
}

/** A policy as a chain names it: `spec.scale.policy`. */
export interface PolicyChoice {
  name: string;
  params: PolicyParams;
}

/** Hands each stage's part of a chain sample to that stage's state. */
export function observeStages(o: ChainObservation, stages: readonly { observe(nowMs: number, so: StageObservation): void }[]): void {
  stages.forEach((s, i) => {
    const so = o.stages[i];
    if (so) s.observe(o.nowMs, so);
  });
}
