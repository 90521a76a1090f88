/**
 * Stage `catalog` (node): Online Boutique's product catalog service. Finds
 * products by id, category or free-text query and prices them in the
 * shopper's currency.
 *
 *   {"action":"catalog","query":"kitchen jar","currency":"EUR"}
 *   {"action":"catalog","category":"accessories"}
 *   {"action":"catalog","productId":"OLJCESPC7Z","currency":"JPY"}
 *
 * A query ranks products by how many of its words appear in the name
 * (3 points), categories (2) or description (1); products matching none are
 * left out. Without query or category, the whole catalog is listed.
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { PRODUCTS, product, words, type Product } from '../lib/catalog.js';
import { convert, currencyOf, display, type Currency } from '../lib/money.js';
import { badField, requestOf } from '../../lib/request.js';

function score(p: Product, terms: string[]): number {
  const name = new Set(words(p.name));
  const cats = new Set(p.categories);
  const desc = new Set(words(p.description));
  return terms.reduce((s, t) => s + (name.has(t) ? 3 : 0) + (cats.has(t) ? 2 : 0) + (desc.has(t) ? 1 : 0), 0);
}

function priced(p: Product, currency: Currency, extra: Record<string, unknown> = {}) {
  const priceMicros = convert(p.priceUsdMicros, 'USD', currency);
  return { id: p.id, name: p.name, categories: p.categories, priceMicros, price: display(priceMicros, currency), ...extra };
}

export default function catalog(ctx: FerryContext) {
  const req = requestOf(ctx);
  const currency = currencyOf(req.currency);
  if (req.productId !== undefined) {
    const p = product(req.productId);
    return { currency, product: priced(p, currency, { description: p.description }) };
  }

  let found = [...PRODUCTS];
  if (req.category !== undefined) {
    if (typeof req.category !== 'string') throw badField('"category" must be a string');
    const category = req.category.toLowerCase();
    found = found.filter((p) => p.categories.includes(category));
  }
  if (req.query === undefined) return { currency, count: found.length, products: found.map((p) => priced(p, currency)) };
  if (typeof req.query !== 'string') throw badField('"query" must be a string');
  const terms = words(req.query);
  if (terms.length === 0) throw badField(`"query" has no words to search for: "${req.query.slice(0, 32)}"`);
  const ranked = found
    .map((p) => ({ p, s: score(p, terms) }))
    .filter((r) => r.s > 0)
    .sort((a, b) => b.s - a.s || a.p.priceUsdMicros - b.p.priceUsdMicros);
  return { currency, query: terms, count: ranked.length, products: ranked.map((r) => priced(r.p, currency, { score: r.s })) };
}
