/**
 * Stage `email` (node), the end of a checkout: Online Boutique's email
 * service. Turns the charged order from `payment` into the confirmation the
 * shopper gets, and that is the reply to the checkout request.
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import type { Line } from '../lib/cart.js';
import { currencyOf, display } from '../lib/money.js';
import { handedOn } from '../../lib/request.js';

interface ChargedOrder {
  orderId: string;
  email: string;
  currency: string;
  items: Line[];
  subtotalMicros: number;
  shippingMicros: number;
  totalMicros: number;
  shipTo: { street: string; city: string; zip: string; country: string };
  payment: { transactionId: string; cardType: string; last4: string; status: string };
}

export default function email(ctx: FerryContext) {
  const order = handedOn(ctx, 'payment') as unknown as ChargedOrder;
  if (order.payment?.status !== 'charged') throw new Error(`order ${order.orderId ?? '(no id)'} reached email without a charged payment`);
  const currency = currencyOf(order.currency);
  const money = (micros: number) => display(micros, currency);
  const a = order.shipTo;
  const text = [
    `Thank you for your order ${order.orderId}.`,
    '',
    ...order.items.map((l) => `${String(l.quantity).padStart(3)} x ${l.name.padEnd(24)} ${l.line}`),
    '',
    `Subtotal: ${money(order.subtotalMicros)}`,
    `Shipping: ${money(order.shippingMicros)}`,
    `Total:    ${money(order.totalMicros)} (paid with ${order.payment.cardType} ending in ${order.payment.last4})`,
    '',
    `Ships to: ${a.street}, ${a.zip} ${a.city}, ${a.country}`,
  ].join('\n');
  return {
    orderId: order.orderId,
    status: 'confirmed',
    total: money(order.totalMicros),
    totalMicros: order.totalMicros,
    currency,
    transactionId: order.payment.transactionId,
    email: { to: order.email, subject: `Your order ${order.orderId} is confirmed`, text },
  };
}
