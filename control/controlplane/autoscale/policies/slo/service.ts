/**
 * What a stage's requests cost, smoothed over samples: the signals give a
 * mean, p50 and p99 of each instance's service time per interval, noisy
 * when an interval holds few requests. Each is an exponentially weighted
 * average over the intervals that completed something, weighted by the
 * completions.
 *
 * The CPU a request uses (what a quota is spent on) is the instances' CPU
 * time over their completions (cpuMsPerSec), not the service time: on a
 * shared node a service time's tail is mostly waiting for a CPU, not using
 * one. CPU time comes in 10 ms clock ticks, so it is averaged over more
 * requests.
 */
import type { InstanceSignals } from '../../../signals/signals.js';
import { scvFromQuantiles, type ServiceModel } from './queueing.js';

/** Weight of one interval's summary in the average. */
const SMOOTHING = 0.2;

export class ServiceEstimate {
  private meanMs: number;
  private p50Ms: number;
  private p99Ms: number;
  private cpuMs: number;

  constructor(prior: ServiceModel) {
    this.meanMs = prior.meanMs;
    this.p50Ms = prior.meanMs;
    this.p99Ms = prior.p99Ms;
    this.cpuMs = prior.cpuMs;
  }

  update(instances: readonly InstanceSignals[]): void {
    let done = 0;
    let mean = 0;
    let p50 = 0;
    let p99 = 0;
    let cpu = 0;
    for (const i of instances) {
      if (i.completionsPerSec <= 0) continue;
      done += i.completionsPerSec;
      mean += i.serviceMs.mean * i.completionsPerSec;
      p50 += i.serviceMs.p50 * i.completionsPerSec;
      p99 += i.serviceMs.p99 * i.completionsPerSec;
      cpu += i.cpuMsPerSec;
    }
    if (done <= 0) return;
    // Fewer completions, less weight: one request is a poor p99.
    const w = SMOOTHING * Math.min(1, done / 20);
    this.meanMs += w * (mean / done - this.meanMs);
    this.p50Ms += w * (p50 / done - this.p50Ms);
    this.p99Ms += w * (p99 / done - this.p99Ms);
    this.cpuMs += SMOOTHING * Math.min(1, done / 100) * (cpu / done - this.cpuMs);
  }

  get model(): ServiceModel {
    const p99 = Math.max(this.p99Ms, this.meanMs, this.p50Ms);
    return { meanMs: this.meanMs, p99Ms: p99, scv: scvFromQuantiles(this.p50Ms, p99), cpuMs: this.cpuMs };
  }
}
