import { HttpError } from '../../../control/runtime/sdk.js';
import { badField } from '../../lib/request.js';

/**
 * The product catalog (Online Boutique's products.json, prices in USD
 * micros) and the lookups every node stage of the boutique shares.
 */

export interface Product {
  id: string;
  name: string;
  description: string;
  priceUsdMicros: number;
  categories: string[];
}

export const PRODUCTS: readonly Product[] = [
  { id: 'OLJCESPC7Z', name: 'Sunglasses', description: 'Add a modern touch to your outfits with these sleek aviator sunglasses.', priceUsdMicros: 19_990_000, categories: ['accessories'] },
  { id: '66VCHSJNUP', name: 'Tank Top', description: 'Perfectly cropped cotton tank, with a scooped neckline.', priceUsdMicros: 18_990_000, categories: ['clothing', 'tops'] },
  { id: '1YMWWN1N4O', name: 'Watch', description: 'This gold-tone stainless steel watch will work with most of your outfits.', priceUsdMicros: 109_990_000, categories: ['accessories'] },
  { id: 'L9ECAV7KIM', name: 'Loafers', description: 'A neat addition to your summer wardrobe.', priceUsdMicros: 89_990_000, categories: ['footwear'] },
  { id: '2ZYFJ3GM2N', name: 'Hairdryer', description: 'This lightweight hairdryer has 3 heat and speed settings. It is perfect for travel.', priceUsdMicros: 24_990_000, categories: ['hair', 'beauty'] },
  { id: '0PUK6V6EV0', name: 'Candle Holder', description: 'This small but intricate candle holder is an excellent gift.', priceUsdMicros: 18_990_000, categories: ['decor', 'home'] },
  { id: 'LS4PSXUNUM', name: 'Salt & Pepper Shakers', description: 'Add some flavor to your kitchen.', priceUsdMicros: 18_490_000, categories: ['kitchen'] },
  { id: '9SIQT8TOJO', name: 'Bamboo Glass Jar', description: 'This bamboo glass jar can hold 57 oz (1.7 l) and is perfect for any kitchen.', priceUsdMicros: 5_490_000, categories: ['kitchen'] },
  { id: '6E92ZMYYFZ', name: 'Mug', description: 'A simple mug with a mustard interior.', priceUsdMicros: 8_990_000, categories: ['kitchen'] },
];

const byId = new Map(PRODUCTS.map((p) => [p.id, p]));

/** The product with this id; unknown ids are the caller's mistake. */
export function product(id: unknown, field = 'productId'): Product {
  if (typeof id !== 'string' || id === '') throw badField(`"${field}" must be a product id string`);
  const p = byId.get(id);
  if (!p) throw new HttpError(404, `unknown product "${id.slice(0, 32)}"`, { code: 'unknownProduct' });
  return p;
}

/** Lower-case words of at least two letters or digits. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? [];
}
