/**
 * Time-to-accuracy on digits (MLP, IID, 20 clients), the same training on
 * both systems. Needs branch fl-train's training library (control/fl/train);
 * until it is merged, this says so and the run reports it as skipped.
 */
import type { AccuracyRun } from './report.js';
import type { FlSystemName, RunningFlSystem } from './system.js';

export async function runAccuracy(_system: RunningFlSystem, opts: { name: FlSystemName; rounds: number; jobName: string; log: (m: string) => void }): Promise<AccuracyRun> {
  throw new Error(`the digits training library (control/fl/train, branch fl-train) is not merged into this branch yet; ${opts.name} skipped`);
}
