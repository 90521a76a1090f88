/**
 * Baseline `knative`: Knative Serving's data path with the activator out
 * of it (every revision at its minimum scale, as the runner pins it):
 * ingress -> the function's queue-proxy (host/queue-proxy-main.ts: the
 * containerConcurrency breaker and queue, its own keep-alive pool) -> the
 * function over HTTP/1.1; a stage calls its next stage through that
 * stage's queue-proxy. See bench/README.md, "Baselines".
 */
import { baselineSystem, type BaselineSystem } from './baseline.js';
import { chainLayout } from './layout.js';

/** Knative's default is 0 (no limit); a limit is what the queue-proxy's
 * breaker exists for, and 10 keeps one single-threaded Node function busy
 * without queueing unboundedly inside it. */
export const DEFAULT_CONTAINER_CONCURRENCY = 10;

export function createKnativeSystem(containerConcurrency = DEFAULT_CONTAINER_CONCURRENCY): BaselineSystem {
  return baselineSystem('knative', chainLayout({ transport: 'http', queueProxy: { containerConcurrency } }));
}

export const knativeSystem: BaselineSystem = createKnativeSystem();
