/**
 * Stage `checkout` (node): Online Boutique's checkout service, up to the
 * charge. Prices the cart in the shopper's currency, quotes shipping, and
 * hands `payment` the order to charge.
 *
 * Shipping (quoted in USD, then converted): $8.99 for up to 3 items, $1.50
 * for each item beyond that, free from a $100.00 subtotal.
 *
 *   {"action":"checkout","userId":"u-42","email":"ada@example.com","currency":"EUR",
 *    "address":{"street":"...","city":"...","zip":"...","country":"DE"},
 *    "items":[{"productId":"...","quantity":1}],
 *    "card":{"number":"4111 1111 1111 1111","expMonth":12,"expYear":2035,"cvv":"123"}}
 * -> payment:
 *   {"orderId":"ord-...","userId":...,"email":...,"currency":"EUR","items":[...],"itemCount":N,
 *    "subtotalMicros":...,"shippingMicros":...,"totalMicros":...,"shipTo":{...},"card":{...}}
 */
import { createHash } from 'node:crypto';
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { product } from '../lib/catalog.js';
import { priceItems, type PricedCart } from '../lib/cart.js';
import { convert, currencyOf } from '../lib/money.js';
import { badField, requestOf, stringField, type Request } from '../../lib/request.js';

const SHIPPING_BASE_USD = 8_990_000;
const SHIPPING_EXTRA_ITEM_USD = 1_500_000;
const FREE_SHIPPING_FROM_USD = 100_000_000;

/** Shipping in USD micros, from the cart's USD subtotal and item count. */
export function shippingUsd(cart: PricedCart): number {
  const usd = cart.lines.reduce((s, l) => s + product(l.productId).priceUsdMicros * l.quantity, 0);
  if (usd >= FREE_SHIPPING_FROM_USD) return 0;
  return SHIPPING_BASE_USD + Math.max(0, cart.itemCount - 3) * SHIPPING_EXTRA_ITEM_USD;
}

function address(req: Request): Record<string, string> {
  const a = req.address;
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw badField('"address" is required: {street, city, zip, country}');
  const addr = a as Request;
  const out = Object.fromEntries(['street', 'city', 'zip'].map((f) => [f, stringField(addr, f, 100)]));
  const country = stringField(addr, 'country', 2).toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw badField('"address.country" must be a two-letter country code');
  return { ...out, country };
}

export default function checkout(ctx: FerryContext) {
  const req = requestOf(ctx);
  const userId = stringField(req, 'userId', 64);
  const email = stringField(req, 'email', 254);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw badField(`"email" is not an email address: "${email.slice(0, 64)}"`);
  const shipTo = address(req);
  const cart = priceItems(req.items, currencyOf(req.currency));
  const shippingMicros = convert(shippingUsd(cart), 'USD', cart.currency);
  const orderId =
    'ord-' +
    createHash('sha256')
      .update(`${userId}|${ctx.requestId}|${cart.currency}|${cart.lines.map((l) => `${l.productId}x${l.quantity}`).join(',')}`)
      .digest('hex')
      .slice(0, 16);
  return {
    orderId,
    userId,
    email,
    currency: cart.currency,
    items: cart.lines,
    itemCount: cart.itemCount,
    subtotalMicros: cart.subtotalMicros,
    shippingMicros,
    totalMicros: cart.subtotalMicros + shippingMicros,
    shipTo,
    card: req.card,
  };
}
