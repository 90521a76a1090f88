/**
 * One simulated function instance: a FIFO of requests served one at a time
 * (a runtime handles one request at a time: Node's event loop runs one
 * handler, the native runner one call), under its cgroup's CPU quota: at
 * most quotaMs of CPU per CFS period, counted from when it became ready
 * (the sandbox applies the quota once an instance is ready), and once spent
 * it waits for the next period. A request's CPU part runs first (on one
 * CPU: wall time equals CPU time until the quota stops it), then it holds
 * the instance while waiting for a CPU, then it leaves (Cost). It also
 * keeps what the stats stream would report over the current sample window.
 */
export interface SimRequest {
  /** Arrival at the gateway, ms. */
  t0: number;
  /** Index of its sample request in the profile. */
  type: number;
  /** Position on its path. */
  k: number;
  /** Its service times so far, with no wait of any kind: what it would
   * take on idle instances with no quota. */
  bare: number;
  /** Its sequence number in the trace (draws are tied to it). */
  n: number;
  /** It waited for a CPU period somewhere (a quota ran out). */
  stalled: boolean;
  /** Time it still travels after leaving the instance serving it. */
  transit: number;
}

/** What a request costs at one stage: cpuMs on a CPU (spent from the
 * quota), then waitMs holding the instance without using a CPU (waiting
 * for one), then transitMs on its way (hops, the gateway), which holds
 * nothing. */
export interface Cost {
  cpuMs: number;
  waitMs: number;
  transitMs: number;
}

/** A clock tick (USER_HZ 100): the unit of CPU time in /proc/PID/stat. */
const TICK_MS = 10;

export type InstanceState = 'starting' | 'ready' | 'draining' | 'stopped';

export class SimInstance {
  state: InstanceState = 'starting';
  readyAt = Number.NaN;
  stoppedAt = Number.NaN;
  private queue: SimRequest[] = [];
  private head = 0;
  busy: SimRequest | undefined;
  private busySince = 0;
  // CPU quota accounting.
  private period = -1;
  private used = 0;
  // The sample window.
  arrivals = 0;
  completions = 0;
  service: number[] = [];
  private inFlightArea = 0;
  private lastChange = 0;
  /** CPU used so far, and the clock ticks of it already reported. */
  private cpuTotal = 0;
  private ticksReported = 0;

  constructor(
    readonly id: number,
    readonly stage: number,
    readonly startedAt: number,
    /** CPU per period, ms; Infinity: no quota. */
    private readonly quotaMs: number,
    private readonly periodMs: number,
  ) {
    this.lastChange = startedAt;
  }

  /** Queued and in service. */
  get inFlight(): number {
    return this.queue.length - this.head + (this.busy ? 1 : 0);
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  private account(now: number): void {
    this.inFlightArea += this.inFlight * (now - this.lastChange);
    this.lastChange = now;
  }

  /** Queues a request; true when the instance should start serving it now. */
  enqueue(r: SimRequest, now: number): boolean {
    this.account(now);
    this.arrivals++;
    this.queue.push(r);
    return this.busy === undefined;
  }

  /** Takes the next request into service; returns when the instance is
   * done with it, or undefined when nothing is queued. */
  serveNext(now: number, cost: (r: SimRequest) => Cost): { r: SimRequest; at: number } | undefined {
    if (this.busy || this.head >= this.queue.length) return undefined;
    this.account(now);
    const r = this.queue[this.head++] as SimRequest;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.busy = r;
    this.busySince = now;
    const c = cost(r);
    this.cpuTotal += c.cpuMs;
    r.bare += c.cpuMs + c.waitMs + c.transitMs;
    r.transit = c.transitMs;
    const cpuDone = this.finishTime(now, c.cpuMs);
    if (cpuDone > now + c.cpuMs + 1e-9) r.stalled = true;
    return { r, at: cpuDone + c.waitMs };
  }

  /** The request in service is done at now; returns it. */
  complete(now: number): SimRequest {
    this.account(now);
    const r = this.busy as SimRequest;
    this.busy = undefined;
    this.completions++;
    this.service.push(now - this.busySince);
    return r;
  }

  /** When cpuMs of work started at now ends under the quota. */
  finishTime(now: number, cpuMs: number): number {
    if (!Number.isFinite(this.quotaMs)) return now + cpuMs;
    const base = Number.isNaN(this.readyAt) ? this.startedAt : this.readyAt;
    let t = now;
    let left = cpuMs;
    while (left > 1e-9) {
      // Periods only move forward (float rounding at a boundary must not
      // take t back into a spent period).
      const p = Math.max(this.period, Math.floor((t - base) / this.periodMs));
      if (p > this.period) {
        this.period = p;
        this.used = 0;
      }
      const periodEnd = base + (p + 1) * this.periodMs;
      const avail = this.quotaMs - this.used;
      if (avail <= 1e-9 || periodEnd - t <= 1e-9) {
        // Throttled (or at the boundary): the next period, with a fresh quota.
        this.period = p + 1;
        this.used = 0;
        t = Math.max(t, periodEnd);
        continue;
      }
      const run = Math.min(left, avail, periodEnd - t);
      t += run;
      this.used += run;
      left -= run;
    }
    return t;
  }

  /** What the stats stream says about the window ending now; resets it.
   * CPU time comes as /proc does, in whole 10 ms clock ticks. */
  sample(now: number, windowMs: number): { inFlight: number; arrivals: number; completions: number; service: number[]; cpuMs: number } {
    this.account(now);
    const ticks = Math.floor(this.cpuTotal / TICK_MS);
    const cpuMs = (ticks - this.ticksReported) * TICK_MS;
    this.ticksReported = ticks;
    const out = { inFlight: this.inFlightArea / windowMs, arrivals: this.arrivals, completions: this.completions, service: this.service, cpuMs };
    this.inFlightArea = 0;
    this.arrivals = 0;
    this.completions = 0;
    this.service = [];
    return out;
  }
}
