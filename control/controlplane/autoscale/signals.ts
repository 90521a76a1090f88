/**
 * What the autoscaler reads about one stage: the StageSignals contract of
 * issue #9 (the lead's control/controlplane/signals/ computes it from
 * ferryd's StreamStats). Declared here structurally, field for field, so
 * the signals module's own type passes as is and the policies do not wait
 * for it; when it lands, this file re-exports that type instead.
 */

/** A service-time summary, in milliseconds. */
export interface ServiceSummary {
  mean: number;
  p50: number;
  p99: number;
}

export interface InstanceSignals {
  id: number;
  node: string;
  /** Said it is ready: requests are routed to it. */
  ready: boolean;
  /** Requests it holds: queued and in service. Knative's KPA reads the
   * average over the sampling interval (queue-proxy averages over 1 s);
   * an instantaneous sample works, only noisier. */
  inFlight: number;
  arrivalsPerSec: number;
  completionsPerSec: number;
  /** Of the requests it completed in the interval; meaningless when
   * completionsPerSec is 0. */
  serviceMs: ServiceSummary;
  /** CPU time the instance used per second of the interval, ms/s: an
   * addition to the contract, optional. ferryd's InstanceStats already
   * carries cpu_ticks; a quota is spent on CPU, not on service time, whose
   * tail on a shared node is mostly waiting for a CPU. */
  cpuMsPerSec?: number;
}

export interface StageSignals {
  chainId: number;
  stage: number;
  nowMs: number;
  instances: InstanceSignals[];
  /** The chain's gateway dispatch-to-reply latency. */
  chainLatencyMs?: { p50: number; p99: number };
}
