/**
 * Extension point: how one stage's traffic is split among its targets.
 *
 * The kernel picks a target per message by weight (bpf/pick.bpf.h), from a
 * route of up to 16 targets with integer weights; nothing else runs per
 * message. A policy therefore acts by setting those weights: every tick
 * (100 ms .. 1 s) ferryd measures each target of the stage (TargetSample) and
 * asks the stage's policy for its shares; the weights written are the
 * control plane's base weights times those shares (ferryd/balance/). Where a
 * policy needs a per-message decision (consistent hashing on a request key)
 * it asks for a ring, which the kernel consults per message instead.
 *
 * A target is what the route names: a local instance, or another node
 * serving the stage (the egress then picks among nodes the same way).
 * Implementations live in ./policies/, one file each with its test beside
 * it; ./registry.ts maps names to factories and validates parameters.
 */

/** What ferryd measured of one target over the last tick. */
export interface TargetSample {
  /** Stable while the target exists: "i<instance id>" for a local
   * instance, "n<node name>" for another node. */
  id: string;
  /** The control plane's weight (> 0). */
  base: number;
  /** Requests routed to it during the tick. */
  arrivals: number;
  /** Requests it finished (answered or passed on) during the tick. */
  completions: number;
  /** Requests it held, on average over the tick. */
  inFlight: number;
  /** Mean response time of its completions in the tick, when it had some:
   * from the time it was sent the request to the time it passed it on. */
  latencyMs?: number;
  /** Its completions may be learnt from: it has been ready long enough and
   * served enough requests that it no longer runs cold (JIT, caches). */
  warm: boolean;
  /** Use of what serves it, each 0..1: CPU (against its limit) and memory
   * (against its limit); loadavg per CPU where known (remote nodes). */
  load: { cpu: number; mem: number; load1?: number };
  /** Instances behind it: 1 for a local instance, the ready instances of
   * the stage for another node (most-free-slots gives each some slots). */
  instances: number;
}

export interface BalanceTick {
  nowMs: number;
  /** Time since the previous tick. */
  tickMs: number;
  /** The stage's targets that may take requests now (base > 0). */
  targets: TargetSample[];
}

/** What a policy wants written for the stage. */
export interface BalanceDecision {
  /** One share per target, in the tick's order, >= 0 and not all 0: the
   * weights written are proportional to base x share. */
  shares: number[];
  /** One line for people (the debug log): why these shares. */
  reason: string;
}

export interface BalancePolicy {
  readonly name: string;
  /** Consistent hashing: keyed requests go by a ring of this many virtual
   * nodes per target of the largest weight (absent: weights only). */
  readonly ring?: { vnodes: number };
  decide(tick: BalanceTick): BalanceDecision;
}

