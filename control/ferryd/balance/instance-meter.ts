/**
 * What ferryd measures of each local instance for the balancer, from what
 * the data plane already counts and /proc already says (no sidecar, nothing
 * on the message path):
 *   - arrivals and completions: the router's per-instance counters (eBPF
 *     per-CPU maps or the relay's tallies), rx and tx + refusals;
 *   - in flight: rx - tx - refusals, read every sampleMs while the stage
 *     has traffic and averaged over the tick;
 *   - latency: the time-average in flight over the completion rate
 *     (Little's law, littleLatency()), which counts the time a request waits
 *     in the instance's socket as well as its service; where the runner
 *     reports its service times (InstanceSample.serviceMs, the signals
 *     track) and the tick had nothing to apply Little's law to, that mean;
 *   - CPU and memory: /proc/<pid> (CPU of the main thread, where the
 *     runners work, in nanoseconds), against the instance's own limits;
 *   - warm: ready for warmupMs and past warmupRequests completions since
 *     it became ready (a restart starts over): only then do its completions
 *     teach the bandits anything.
 */
import { totalmem } from 'node:os';
import type { RouterCounters } from '../../dataplane/native.js';
import type { InstanceSpec } from '../../node/dataplane.js';
import { mainThreadCpuMs, processUsage } from '../procfs.js';
import type { InstanceStatus } from '../proto.js';

/** What one local instance did during a tick (the contract with the
 * signals track: instanceId, inFlight, completions, serviceMs). */
export interface InstanceSample {
  instanceId: number;
  /** Requests it held, averaged over the tick. */
  inFlight: number;
  /** Requests it finished during the tick (a delta). */
  completions: number;
  arrivals: number;
  /** Its runner's own service times, when reported. */
  serviceMs?: { mean: number; p99: number };
  /** Mean response time of the tick's completions (see the header). */
  latencyMs?: number;
  warm: boolean;
  /** CPU in use against its quota (or one CPU), memory against its limit (or the machine's). */
  cpu: number;
  mem: number;
}

export interface WarmUp {
  ms: number;
  requests: number;
}

interface Meter {
  pid: number;
  rx: number;
  done: number;
  inFlightSum: number;
  inFlightN: number;
  cpuMs: number;
  at: number;
  readyAt?: number;
  doneSinceReady: number;
}

const finished = (c: RouterCounters) => c.txMsgs + Object.values(c.drops).reduce((a, b) => a + b, 0);

/**
 * Mean response time by Little's law (W = L / lambda): the requests held on
 * average over the tick, over the rate they were finished at. A target
 * that finished nothing while holding requests gets the tick's length per
 * request held, a lower bound that grows while it stays stuck: its queue
 * shows at once, not only once the requests in it complete, so a policy
 * that sent it too much hears so within a tick. Undefined when it held
 * nothing and finished nothing.
 */
export function littleLatency(inFlight: number, completions: number, elapsedMs: number): number | undefined {
  if (completions > 0) return Math.max(0.01, (inFlight * elapsedMs) / completions);
  return inFlight >= 0.5 ? inFlight * elapsedMs : undefined;
}

export class InstanceMeter {
  private readonly meters = new Map<number, Meter>();

  constructor(
    private readonly counters: (instanceId: number) => RouterCounters,
    private readonly warmUp: WarmUp,
  ) {}

  /** One in-flight reading of each instance (every sampleMs while busy). */
  sampleInFlight(ids: readonly number[]): void {
    for (const id of ids) {
      const m = this.meters.get(id);
      if (!m) continue;
      const c = this.counters(id);
      m.inFlightSum += Math.max(0, c.rxMsgs - finished(c));
      m.inFlightN++;
    }
  }

  /** The instance's sample since the previous take, which starts a new tick. */
  take(st: InstanceStatus, spec: InstanceSpec | undefined, nowMs: number, serviceMs?: InstanceSample['serviceMs']): InstanceSample {
    const c = this.counters(st.instanceId);
    const rx = c.rxMsgs;
    const done = finished(c);
    const usage = processUsage(st.pid);
    const cpuMs = mainThreadCpuMs(st.pid);
    let m = this.meters.get(st.instanceId);
    // A new incarnation's counters start from zero.
    if (!m || m.pid !== st.pid || rx < m.rx || done < m.done) {
      m = { pid: st.pid, rx: 0, done: 0, inFlightSum: 0, inFlightN: 0, cpuMs, at: nowMs, doneSinceReady: 0 };
      this.meters.set(st.instanceId, m);
    }
    const arrivals = rx - m.rx;
    const completions = done - m.done;
    const elapsedMs = Math.max(1, nowMs - m.at);
    const now = Math.max(0, rx - done);
    const inFlight = m.inFlightN > 0 ? m.inFlightSum / m.inFlightN : now;
    const latencyMs = littleLatency(inFlight, completions, elapsedMs) ?? serviceMs?.mean;
    if (st.ready && m.readyAt === undefined) m.readyAt = nowMs;
    if (m.readyAt !== undefined) m.doneSinceReady += completions;
    const warm = m.readyAt !== undefined && nowMs - m.readyAt >= this.warmUp.ms && m.doneSinceReady >= this.warmUp.requests;
    const allowance = spec?.resources?.cpuMilli ? spec.resources.cpuMilli / 1000 : 1;
    const cpu = Math.min(1, (cpuMs - m.cpuMs) / elapsedMs / allowance);
    const memLimit = spec?.resources?.memoryMb ? spec.resources.memoryMb * 1024 * 1024 : totalmem();
    Object.assign(m, { rx, done, inFlightSum: 0, inFlightN: 0, cpuMs, at: nowMs });
    return {
      instanceId: st.instanceId,
      inFlight,
      completions,
      arrivals,
      ...(serviceMs ? { serviceMs } : {}),
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      warm,
      cpu: Math.max(0, cpu),
      mem: Math.min(1, usage.rssBytes / memLimit),
    };
  }

  /** In flight now (for the load reports). */
  inFlightNow(instanceId: number): number {
    const c = this.counters(instanceId);
    return Math.max(0, c.rxMsgs - finished(c));
  }

  isWarm(instanceId: number, nowMs: number): boolean {
    const m = this.meters.get(instanceId);
    return m?.readyAt !== undefined && nowMs - m.readyAt >= this.warmUp.ms && m.doneSinceReady >= this.warmUp.requests;
  }

  /** Forget the instances that are gone. */
  prune(exists: (instanceId: number) => boolean): void {
    for (const id of [...this.meters.keys()]) if (!exists(id)) this.meters.delete(id);
  }
}
