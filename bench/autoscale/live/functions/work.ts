/**
 * The Node stage of bench:autoscale --live: the same work as the native
 * stage (bench/lb/functions/work.c), read from the request body: "cpuUs"
 * of CPU, then "waitUs" of waiting that holds the instance (Atomics.wait
 * blocks the thread without using a CPU, as a synchronous call to a slower
 * service would). Synchronous on purpose: the Node runtime runs a handler
 * that returns a value to the end before it takes the next request, so an
 * instance serves one request at a time, like the native runner, and more
 * instances are the only way to serve more.
 */
import type { FerryContext } from '../../../../control/runtime/sdk.js';

const MAX_US = 10_000_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const us = (v: unknown): number => (typeof v === 'number' && v >= 0 && v <= MAX_US ? v : 0);

export default function work(ctx: FerryContext): string {
  const body = ctx.json<{ cpuUs?: unknown; waitUs?: unknown }>();
  const cpuUs = us(body.cpuUs);
  const waitUs = us(body.waitUs);
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if (used.user + used.system >= cpuUs) break;
  }
  if (waitUs > 0) Atomics.wait(sleeper, 0, 0, waitUs / 1000);
  return String(process.pid);
}
