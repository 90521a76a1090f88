/**
 * Pricing a list of cart items in the shopper's currency, shared by `cart`
 * and `checkout`. As in Online Boutique, each unit price is converted first
 * and then multiplied, so a line always equals quantity x the shown price.
 */
import { badField } from '../../lib/request.js';
import { product } from './catalog.js';
import { convert, display, type Currency } from './money.js';

export const MAX_QUANTITY = 99;
const MAX_LINES = 50;

export interface Line {
  productId: string;
  name: string;
  quantity: number;
  unitMicros: number;
  lineMicros: number;
  unit: string;
  line: string;
}

export interface PricedCart {
  currency: Currency;
  lines: Line[];
  itemCount: number;
  subtotalMicros: number;
}

/** items: [{productId, quantity}], repeated products merged (as AddItem does). */
export function priceItems(items: unknown, currency: Currency): PricedCart {
  if (!Array.isArray(items) || items.length === 0) throw badField('"items" must be a non-empty array of {productId, quantity}');
  if (items.length > MAX_LINES) throw badField(`"items" has ${items.length} entries; at most ${MAX_LINES}`);
  const quantities = new Map<string, number>();
  items.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw badField(`items[${i}] must be an object {productId, quantity}`);
    const { productId, quantity } = item as { productId?: unknown; quantity?: unknown };
    const p = product(productId, `items[${i}].productId`);
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY)
      throw badField(`items[${i}].quantity must be an integer from 1 to ${MAX_QUANTITY}`);
    quantities.set(p.id, (quantities.get(p.id) ?? 0) + quantity);
  });
  const lines = [...quantities].map(([id, quantity]): Line => {
    const p = product(id);
    const unitMicros = convert(p.priceUsdMicros, 'USD', currency);
    const lineMicros = unitMicros * quantity;
    return { productId: id, name: p.name, quantity, unitMicros, lineMicros, unit: display(unitMicros, currency), line: display(lineMicros, currency) };
  });
  return {
    currency,
    lines,
    itemCount: lines.reduce((n, l) => n + l.quantity, 0),
    subtotalMicros: lines.reduce((s, l) => s + l.lineMicros, 0),
  };
}
