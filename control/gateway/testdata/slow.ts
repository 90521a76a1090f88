/**
 * Holds the request (and its buffer) for a while, then answers
 * {"held": true}. The input is JSON: {"until": "/path"} waits until that
 * file exists, so a test decides exactly when it answers; {"ms": N} waits
 * N ms. Never longer than 20 s, so a failed test cannot leave it hanging.
 */
import { existsSync } from 'node:fs';
import type { FerryContext } from '../../runtime/sdk.js';

const LONGEST_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function slow(ctx: FerryContext): Promise<object> {
  const { until, ms } = ctx.json<{ until?: string; ms?: string | number }>();
  const deadline = Date.now() + Math.min(Number(ms ?? LONGEST_MS), LONGEST_MS);
  while (Date.now() < deadline && !(until && existsSync(until))) await sleep(10);
  return { held: true };
}
