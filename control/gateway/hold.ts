/**
 * Requests for a chain with a stage scaled to zero wait here, in front of
 * the chain, until an instance is ready (Knative's activator, in the
 * gateway itself: no extra hop once warm). The queue is bounded (a full
 * one answers 503 with Retry-After rather than piling up sockets), each
 * request waits at most the chain's hold timeout, and while any request
 * waits the queue asks for an instance: at once, then every second, so a
 * control plane that missed the first ask or restarted hears it again.
 *
 * A held request has not read its body yet, so it holds no pool buffer.
 */

export class HoldQueue {
  /** Requests waiting now. */
  held = 0;
  /** Requests that ever waited. */
  total = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    /** Ask for an instance of every idle stage. */
    private readonly demand: () => void,
    private readonly repeatMs = 1000,
  ) {}

  /** Admit one request; false when `limit` already wait. */
  enter(limit: number): boolean {
    if (this.held >= limit) return false;
    this.held++;
    this.total++;
    if (this.held === 1) {
      this.demand();
      this.timer = setInterval(this.demand, this.repeatMs);
      this.timer.unref();
    }
    return true;
  }

  leave(): void {
    if (this.held === 0) return;
    this.held--;
    if (this.held === 0) this.stop();
  }

  /** The chain is no longer served: nothing more is asked for. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
