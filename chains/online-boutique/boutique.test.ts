/**
 * The online-boutique chain end to end on the real data plane: every branch
 * of `frontend`, node and native stages, replies checked against values
 * worked out by hand from the catalog prices and the EUR rate table.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot } from '../../control/paths.js';
import { chainUnderTest, sampleRequests } from '../test-context.js';

const CHAIN_FILE = join(repoRoot, 'chains/online-boutique/chain.yaml');
const samples = sampleRequests(CHAIN_FILE);

describe('online-boutique chain', () => {
  const t = chainUnderTest(CHAIN_FILE);
  const { ok, rejects } = t;

  it('compiles to 8 stages with frontend branching to five services', () => {
    expect(t.chain.ir.stages.map((s) => `${s.name}:${s.runtime}`)).toEqual([
      'frontend:node', 'catalog:node', 'cart:node', 'currency:native', 'recommendation:node', 'checkout:node', 'payment:native', 'email:node',
    ]);
    expect(t.chain.ir.stages[t.chain.ir.entry]?.next.map((n) => n.name)).toEqual(['catalog', 'cart', 'currency', 'recommendation', 'checkout']);
  });

  it('has a test for every sample request', () => {
    expect(Object.keys(samples).sort()).toEqual(['cart', 'catalog-search', 'checkout', 'convert', 'product', 'recommend']);
  });

  it('totals a cart in EUR from per-unit converted prices', async () => {
    const r = await ok(samples.cart!);
    // 19.99 USD -> 17.682441 EUR (x2), 8.99 USD -> 7.952234 EUR
    expect(r.items.map((l: any) => [l.productId, l.quantity, l.unitMicros, l.lineMicros, l.line])).toEqual([
      ['OLJCESPC7Z', 2, 17_682_441, 35_364_882, '€35.36'],
      ['6E92ZMYYFZ', 1, 7_952_234, 7_952_234, '€7.95'],
    ]);
    expect(r).toMatchObject({ userId: 'u-42', currency: 'EUR', itemCount: 3, totalMicros: 43_317_116, total: '€43.32' });
  });

  it('converts an amount in the native currency stage, in the request buffer itself', async () => {
    const r = await t.send(samples.convert!);
    expect(r.json).toEqual({ from: 'USD', to: 'EUR', amountMicros: 19_990_000, convertedMicros: 17_682_441, rateMicros: 884_564, display: '€17.68' });
    // frontend passed the buffer on, currency wrote its reply into it.
    expect(r.sameBuffer).toBe(true);
    expect(t.chain.dp.counters(t.chain.instances.currency!).rxMsgs).toBeGreaterThanOrEqual(1);
  });

  it('ranks a catalog search by where the words match', async () => {
    const r = await ok(samples['catalog-search']!);
    expect(r.query).toEqual(['kitchen', 'jar']);
    expect(r.products.map((p: any) => [p.name, p.score, p.price])).toEqual([
      ['Bamboo Glass Jar', 7, '€4.86'],
      ['Salt & Pepper Shakers', 3, '€16.36'],
      ['Mug', 2, '€7.95'],
    ]);
  });

  it('shows one product in yen', async () => {
    const r = await ok(samples.product!);
    expect(r.product).toMatchObject({ id: '1YMWWN1N4O', name: 'Watch', priceMicros: 12_297_864_662, price: '¥12298' });
  });

  it('recommends similar products, never the ones asked about', async () => {
    const r = await ok(samples.recommend!);
    // Same category first (closer price wins), then the nearest prices.
    expect(r.recommendations).toEqual([
      { id: '9SIQT8TOJO', name: 'Bamboo Glass Jar', score: 1.1527 },
      { id: 'LS4PSXUNUM', name: 'Salt & Pepper Shakers', score: 1.1216 },
      { id: '0PUK6V6EV0', name: 'Candle Holder', score: 0.1184 },
    ]);
  });

  it('checks out: prices, ships, charges the card natively and confirms by email', async () => {
    const r = await ok(samples.checkout!);
    // GBP: 2 x 14.441135 + 3 x 4.174925 + 6.836535 = 48.243580; shipping
    // 8.99 + 3 x 1.50 = 13.49 USD = 10.258605 GBP (6 items, under 100 USD).
    expect(r).toMatchObject({ status: 'confirmed', currency: 'GBP', totalMicros: 58_502_185, total: '£58.50' });
    expect(r.orderId).toMatch(/^ord-[0-9a-f]{16}$/);
    expect(r.transactionId).toMatch(/^txn-[0-9a-f]{16}$/);
    expect(r.email.to).toBe('ada@example.com');
    expect(r.email.text).toContain('Subtotal: £48.24');
    expect(r.email.text).toContain('Shipping: £10.26');
    expect(r.email.text).toContain('paid with visa ending in 1111');
    expect(r.email.text).toContain('Ships to: 12 Analytical Row, N1 9GU London, GB');
    expect(JSON.stringify(r)).not.toContain('4111 1111'); // the card number stops at payment
  });

  it('answers malformed JSON and unknown actions with the frontend\'s message', async () => {
    expect(await rejects('{"action": "cart", ')).toMatchObject({ status: 400, code: 'badJson', message: expect.stringMatching(/^the request is not valid JSON/) });
    const unknown = 'unknown action "dance" (expected one of catalog, cart, convert, recommend, checkout)';
    expect(await rejects({ action: 'dance' })).toEqual({ status: 422, code: 'badField', message: unknown });
    // Not an own key of the routing table: no 500 from a prototype member.
    expect(await rejects({ action: 'constructor' })).toMatchObject({ status: 422, code: 'badField' });
  });

  it('answers 404 for an unknown product, in a cart or the catalog', async () => {
    const notFound = { status: 404, code: 'unknownProduct', message: 'unknown product "NOPE"' };
    expect(await rejects({ action: 'cart', items: [{ productId: 'NOPE', quantity: 1 }] })).toEqual(notFound);
    expect(await rejects({ action: 'catalog', productId: 'NOPE' })).toEqual(notFound);
    expect(await rejects({ action: 'cart', items: [{ productId: 'OLJCESPC7Z', quantity: 1e9 }] })).toMatchObject({ status: 422, code: 'badField' });
  });

  it('refuses an unsupported currency in the native currency stage and in node stages alike', async () => {
    expect(await rejects({ action: 'convert', from: 'USD', to: 'XAU', amount: 1 })).toMatchObject({
      status: 422, code: 'unsupportedCurrency', message: expect.stringContaining('"to": unsupported currency "XAU"'),
    });
    expect(await rejects({ action: 'catalog', currency: 'XAU' })).toMatchObject({ status: 422, code: 'unsupportedCurrency' });
    expect(await rejects({ action: 'convert', from: 'USD', to: 'EUR', amount: -1 })).toEqual({ status: 422, code: 'badField', message: 'the amount must not be negative' });
  });

  it('declines a card that fails the Luhn check or has expired, in the native payment stage', async () => {
    const order = JSON.parse(samples.checkout!);
    order.card.number = '4111 1111 1111 1112';
    expect(await rejects(order)).toEqual({ status: 422, code: 'invalidCard', message: 'invalid card number: it fails the Luhn check' });
    order.card = { number: '5555555555554444', expMonth: 1, expYear: 2020 };
    expect(await rejects(order)).toEqual({ status: 422, code: 'cardExpired', message: 'the card expired on 01/2020' });
    delete order.card;
    expect(await rejects(order)).toMatchObject({ status: 422, code: 'invalidCard', message: expect.stringContaining('"card" is required') });
  });
});
