/** Adds which process ran each stage: {"front": pid, "who": pid}. */
import type { FerryContext } from '../../../../../control/runtime/sdk.js';

export default function who(ctx: FerryContext) {
  return { ...ctx.json<Record<string, unknown>>(), [ctx.stage]: process.pid };
}
