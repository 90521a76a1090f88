/**
 * Stage `cart` (node): Online Boutique's cart view. Prices every line in the
 * shopper's currency and totals the cart.
 *
 *   {"action":"cart","userId":"u-42","currency":"EUR",
 *    "items":[{"productId":"OLJCESPC7Z","quantity":2},{"productId":"6E92ZMYYFZ","quantity":1}]}
 * ->
 *   {"userId":"u-42","currency":"EUR","items":[{...,"unitMicros":17682441,"lineMicros":35364882,
 *    "unit":"€17.68","line":"€35.36"},...],"itemCount":3,"totalMicros":...,"total":"€..."}
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { priceItems } from '../lib/cart.js';
import { currencyOf, display } from '../lib/money.js';
import { requestOf } from '../../lib/request.js';

export default function cart(ctx: FerryContext) {
  const req = requestOf(ctx);
  const priced = priceItems(req.items, currencyOf(req.currency));
  return {
    userId: typeof req.userId === 'string' ? req.userId : null,
    currency: priced.currency,
    items: priced.lines,
    itemCount: priced.itemCount,
    totalMicros: priced.subtotalMicros,
    total: display(priced.subtotalMicros, priced.currency),
  };
}
