/**
 * The service times instances report of their own requests, gathered by
 * ferryd: every interval, each ready instance whose router counters moved
 * since its last report is asked over its control channel (an idle one is
 * never woken), and its report — a delta — is added to what ferryd keeps for
 * it. Kept cumulative per instance id, across the instance's restarts, so a
 * reader (StreamStats, /metrics) takes differences as it likes.
 */
import type { Logger } from '../log.js';
import { Histogram } from '../metrics/histogram.js';
import type { NodeDataPlane } from '../node/dataplane.js';
import { countersOf } from './stats.js';
import type { Supervisor } from './supervisor.js';

export interface InstanceService {
  completions: number;
  /** Service times, µs, cumulative. */
  service: Histogram;
}

export interface SignalCollectorOptions {
  dataPlane: Pick<NodeDataPlane, 'counters' | 'serviceStats'>;
  supervisor: Pick<Supervisor, 'list'>;
  log: Logger;
  intervalMs?: number;
  /** How long an instance has to answer: a busy one answers next round. */
  answerMs?: number;
}

const DEFAULT_INTERVAL_MS = 1000;
const DEFAULT_ANSWER_MS = 500;

export class SignalCollector {
  private readonly byInstance = new Map<number, InstanceService>();
  /** Router counters per instance at its last report (what came in, went
   * out or was dropped): unchanged means it did nothing since. */
  private readonly lastSeen = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly intervalMs: number;
  private readonly answerMs: number;

  constructor(private readonly opts: SignalCollectorOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.answerMs = opts.answerMs ?? DEFAULT_ANSWER_MS;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.collect(), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  instance(instanceId: number): InstanceService | undefined {
    return this.byInstance.get(instanceId);
  }

  /** The instance left this node for good (stopped, chain deleted). */
  forget(instanceId: number): void {
    this.byInstance.delete(instanceId);
    this.lastSeen.delete(instanceId);
  }

  /** One round: ask every instance that had traffic since its last report. */
  async collect(): Promise<void> {
    if (this.running) return; // the previous round still waits on someone
    this.running = true;
    try {
      const asks = this.opts.supervisor
        .list()
        .filter((s) => s.ready && s.pid > 0)
        .map(async (s) => {
          const c = countersOf(this.opts.dataPlane, s.instanceId);
          // A request finishing moves tx (or a drop), so one still running at
          // the last report is asked about again once it is done.
          const seen = `${c.rxMsgs}/${c.txMsgs}/${Object.values(c.drops).reduce((a, b) => a + b, 0)}`;
          if (seen === this.lastSeen.get(s.instanceId)) return;
          const report = await this.opts.dataPlane.serviceStats(s.instanceId, this.answerMs);
          if (!report) return;
          this.lastSeen.set(s.instanceId, seen);
          let mine = this.byInstance.get(s.instanceId);
          if (!mine) this.byInstance.set(s.instanceId, (mine = { completions: 0, service: new Histogram() }));
          mine.completions += report.completions;
          mine.service.mergeDense(report.buckets, report.busyUs);
        });
      await Promise.all(asks);
    } catch (err) {
      this.opts.log.warn('collecting service times failed', { error: (err as Error).message });
    } finally {
      this.running = false;
    }
  }
}
