/**
 * Exponential back-off between restarts of something that keeps failing:
 * each delay doubles up to maxMs, and a run that lasted resetAfterMs counts
 * as healthy, so the next failure starts over at initialMs.
 */
import type { BackoffPolicy } from '../ferryd/supervisor.js';

export type { BackoffPolicy };

export class Backoff {
  private nextMs: number;

  constructor(private readonly policy: BackoffPolicy) {
    this.nextMs = policy.initialMs;
  }

  /** The delay before the next start, given how long the last run lasted. */
  after(ranMs: number): number {
    if (ranMs >= this.policy.resetAfterMs) this.nextMs = this.policy.initialMs;
    const delay = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.policy.maxMs);
    return delay;
  }
}
