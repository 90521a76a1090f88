/**
 * Stage `recommendation` (node): Online Boutique's recommendation service,
 * with content-based similarity instead of a random pick. A candidate's
 * score is its best match against the products the shopper looks at:
 *
 *   sim(c, b) = jaccard(categories(c), categories(b)) + 0.25 * min(price) / max(price)
 *
 * so shared categories dominate and, among equals, similar prices win.
 * Products already in the request are never recommended.
 *
 *   {"action":"recommend","productIds":["6E92ZMYYFZ"],"limit":3}
 * ->
 *   {"basedOn":["6E92ZMYYFZ"],"recommendations":[{"id":"9SIQT8TOJO","name":"Bamboo Glass Jar","score":1.1527},...]}
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { PRODUCTS, product, type Product } from '../lib/catalog.js';
import { badField, intField, requestOf } from '../../lib/request.js';

function jaccard(a: readonly string[], b: readonly string[]): number {
  const union = new Set([...a, ...b]);
  const shared = a.filter((x) => b.includes(x)).length;
  return union.size === 0 ? 0 : shared / union.size;
}

function similarity(c: Product, b: Product): number {
  const price = Math.min(c.priceUsdMicros, b.priceUsdMicros) / Math.max(c.priceUsdMicros, b.priceUsdMicros);
  return jaccard(c.categories, b.categories) + 0.25 * price;
}

export default function recommendation(ctx: FerryContext) {
  const req = requestOf(ctx);
  if (!Array.isArray(req.productIds) || req.productIds.length === 0) throw badField('"productIds" must be a non-empty array of product ids');
  const basket = req.productIds.map((id: unknown, i) => product(id, `productIds[${i}]`));
  const limit = intField(req, 'limit', 1, PRODUCTS.length, 4);
  const seen = new Set(basket.map((p) => p.id));
  const ranked = PRODUCTS.filter((p) => !seen.has(p.id))
    .map((p) => ({ p, score: Math.max(...basket.map((b) => similarity(p, b))) }))
    .sort((x, y) => y.score - x.score || (x.p.id < y.p.id ? -1 : 1))
    .slice(0, limit);
  return {
    basedOn: [...seen],
    recommendations: ranked.map(({ p, score }) => ({ id: p.id, name: p.name, score: Math.round(score * 10_000) / 10_000 })),
  };
}
