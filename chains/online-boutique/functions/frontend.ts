/**
 * Stage `frontend` (node), the entry: reads the request's "action" and hands
 * the request to the service that answers it. The body travels on as it
 * came (the same pool buffer, no copy); only the choice of next stage is
 * made here.
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { badField, requestOf } from '../../lib/request.js';

/** action -> the stage that serves it (each is in this stage's `next`). */
const ROUTES: Record<string, string> = {
  catalog: 'catalog',
  cart: 'cart',
  convert: 'currency',
  recommend: 'recommendation',
  checkout: 'checkout',
};

export default function frontend(ctx: FerryContext): Uint8Array {
  const { action } = requestOf(ctx);
  const known = Object.keys(ROUTES).join(', ');
  if (typeof action !== 'string') throw badField(`"action" is required: one of ${known}`);
  const stage = Object.hasOwn(ROUTES, action) ? ROUTES[action] : undefined;
  if (!stage) throw badField(`unknown action "${action.slice(0, 32)}" (expected one of ${known})`);
  ctx.goto(stage);
  return ctx.payload;
}
