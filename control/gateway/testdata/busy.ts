/**
 * Blocks its process (a synchronous loop, so no further request is even
 * read from the socket) until the file named by the input's "until" exists;
 * first creates the file named by "started", so a test knows it is busy.
 * Never longer than 20 s.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { FerryContext } from '../../runtime/sdk.js';

export default function busy(ctx: FerryContext): string {
  const { until, started } = ctx.json<{ until?: string; started?: string }>();
  if (started) writeFileSync(started, '');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !(until && existsSync(until))) {
    // spin: this fixture's point is a busy event loop
  }
  return 'done';
}
