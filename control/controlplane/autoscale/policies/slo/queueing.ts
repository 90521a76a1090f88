/**
 * The queueing model of one stage. ferry's router picks an instance per
 * request at random in proportion to its weight (pick_replica in
 * bpf/sk_msg_router.bpf.c, the relay does the same), and an instance serves
 * its requests one at a time in arrival order: so a stage of c instances
 * fed lambda requests/s is c independent M/G/1 queues fed lambda/c each, not
 * one M/G/c queue (which would assume a shared queue and overrate c).
 *
 * - Mean wait: Pollaczek-Khinchine, Wq = rho S (1 + Cs^2) / (2 (1 - rho))
 *   (Allen-Cunneen's M/G/c approximation is exact at c = 1).
 * - Wait tail: P(W > t) ~ rho exp(-t rho / Wq) (a waiting request waits an
 *   about exponential time of mean Wq / rho: exact for M/M/1, the
 *   heavy-traffic limit for M/G/1), so the p-quantile of W is
 *   (Wq / rho) ln(rho / (1 - p)) when rho > 1 - p, else 0.
 * - Response p99 ~ the larger of W99 + mean S (at high load the wait
 *   dominates) and ln(100) Wq + S99 (an exponential wait of mean Wq added
 *   to the service tail: exact for M/M/1, where ln(100) (Wq + S) is the
 *   p99, and S99 itself at low load, where most requests do not wait). The
 *   plain sum W99 + S99 is an upper bound that, with a heavy-tailed service
 *   time, asks for instances that do not help: a slow request is slow on an
 *   idle instance too.
 * - CPU quota: a sandboxed instance gets cpu x period of CPU per CFS period
 *   (control/node/sandbox/cgroups.ts); once spent, it waits for the next
 *   period, a stall of up to (1 - cpu) x period (90 ms at 100m) that alone
 *   can break an SLO. The arrivals of one period are Poisson, so the risk
 *   that they need more than the quota is P(N > floor(quota / S)).
 */

export interface ServiceModel {
  /** Time an instance is busy with a request. */
  meanMs: number;
  p99Ms: number;
  /** Squared coefficient of variation of the service time. */
  scv: number;
  /** CPU time a request uses: what the quota is spent on (<= meanMs). */
  cpuMs: number;
}

/** Cs^2 from a median and a p99, taking the service time as lognormal
 * (ln p99 - ln p50 = 2.326 sigma): the signals carry no variance. */
export function scvFromQuantiles(p50: number, p99: number): number {
  if (!(p50 > 0) || !(p99 > p50)) return 0;
  const sigma = Math.log(p99 / p50) / 2.3263;
  return Math.min(10, Math.expm1(sigma * sigma));
}

/** P(N > n) for N ~ Poisson(mean). */
export function poissonTail(mean: number, n: number): number {
  if (mean <= 0) return 0;
  if (n < 0) return 1;
  let term = Math.exp(-mean);
  let cdf = term;
  for (let k = 1; k <= n; k++) {
    term *= mean / k;
    cdf += term;
    if (term < 1e-17 && k > mean) break;
  }
  return Math.max(0, 1 - cdf);
}

export interface InstanceLoad {
  /** Requests per second into this one instance. */
  lambda: number;
  service: ServiceModel;
}

/** Utilisation of one instance. */
export function utilisation({ lambda, service }: InstanceLoad): number {
  return (lambda * service.meanMs) / 1000;
}

/** Predicted p99 response time (wait + service) of one instance, in ms;
 * Infinity when it cannot keep up. */
export function responseP99Ms(load: InstanceLoad): number {
  const rho = utilisation(load);
  if (rho >= 1) return Number.POSITIVE_INFINITY;
  const s = load.service;
  if (rho <= 0) return s.p99Ms;
  const meanWait = (rho * s.meanMs * (1 + s.scv)) / (2 * (1 - rho));
  const wait99 = rho > 0.01 ? (meanWait / rho) * Math.log(rho / 0.01) : 0;
  return Math.max(wait99 + s.meanMs, Math.log(100) * meanWait + s.p99Ms);
}

export interface Quota {
  /** The share of a CPU the instance may use per period, (0, 1]. */
  cpu: number;
  periodMs: number;
}

/** The chance that one period's arrivals need more CPU than the quota. */
export function throttleRisk(load: InstanceLoad, quota: Quota): number {
  if (quota.cpu >= 1) return 0;
  const perPeriod = Math.floor((quota.cpu * quota.periodMs) / Math.max(load.service.cpuMs, 1e-6));
  return poissonTail((load.lambda * quota.periodMs) / 1000, perPeriod);
}

export interface SizingInput {
  /** Requests per second into the whole stage. */
  lambda: number;
  service: ServiceModel;
  /** The stage's share of the chain's p99 SLO. */
  budgetMs: number;
  quota: Quota;
  /** Highest acceptable throttleRisk per instance and period; ignored when
   * a throttle stall fits in the budget. */
  maxThrottleRisk: number;
  /** Largest count to consider. */
  max: number;
}

export interface Sizing {
  count: number;
  /** What decided it: the latency model, the CPU quota, or nothing fit ("saturated": max). */
  binding: 'latency' | 'quota' | 'saturated';
  predictedP99Ms: number;
  utilisation: number;
  throttleRisk: number;
}

/** The fewest instances (1..max) whose predicted p99 fits the budget, that
 * stay within their CPU quota, and whose quota holds a period's arrivals
 * with the risk asked. */
export function instancesFor(input: SizingInput): Sizing {
  const stallMs = (1 - Math.min(1, input.quota.cpu)) * input.quota.periodMs;
  const quotaMatters = stallMs + input.service.p99Ms > input.budgetMs;
  // A stage slower than its budget on its own cannot be helped by more
  // instances: hold its queueing to half its own p99 instead.
  const target = Math.max(input.budgetMs, 1.5 * input.service.p99Ms);
  let latencyOk = 0;
  for (let c = 1; c <= Math.max(1, input.max); c++) {
    const load = { lambda: input.lambda / c, service: input.service };
    const p99 = responseP99Ms(load);
    const risk = quotaMatters ? throttleRisk(load, input.quota) : 0;
    if (p99 <= target && latencyOk === 0) latencyOk = c;
    // Over the long run an instance cannot use more CPU than its quota.
    const sustainable = (load.lambda * input.service.cpuMs) / 1000 < input.quota.cpu;
    if (p99 <= target && sustainable && risk <= input.maxThrottleRisk) {
      return { count: c, binding: c > latencyOk ? 'quota' : 'latency', predictedP99Ms: p99, utilisation: utilisation(load), throttleRisk: risk };
    }
  }
  const c = Math.max(1, input.max);
  const load = { lambda: input.lambda / c, service: input.service };
  return { count: c, binding: 'saturated', predictedP99Ms: responseP99Ms(load), utilisation: utilisation(load), throttleRisk: quotaMatters ? throttleRisk(load, input.quota) : 0 };
}
