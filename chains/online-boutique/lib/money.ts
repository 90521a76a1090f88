/**
 * Money for the boutique's node stages, in integer micros (millionths of a
 * unit) so sums are exact. Conversion is the same fixed-point arithmetic as
 * the native `currency` stage (functions/currency.c): rates are units per
 * EUR times 1e5, the product goes through BigInt and rounds half up, so a
 * price shown by `cart` equals what `currency` answers for the same amount.
 */

import { HttpError } from '../../../control/runtime/sdk.js';
import { badField } from '../../lib/request.js';

/** Online Boutique's currency_conversion.json, the subset the shop sells in.
 * Keep in step with the table in functions/currency.c. */
const CURRENCIES = {
  USD: { perEurE5: 113050n, symbol: '$', minorDigits: 2 },
  EUR: { perEurE5: 100000n, symbol: '€', minorDigits: 2 },
  JPY: { perEurE5: 12640000n, symbol: '¥', minorDigits: 0 },
  GBP: { perEurE5: 85970n, symbol: '£', minorDigits: 2 },
} as const;

export type Currency = keyof typeof CURRENCIES;
export const SUPPORTED = Object.keys(CURRENCIES) as Currency[];

/** The request's currency code (case-insensitive), USD when absent. */
export function currencyOf(value: unknown, field = 'currency'): Currency {
  if (value === undefined) return 'USD';
  if (typeof value !== 'string') throw badField(`"${field}" must be a currency code string (${SUPPORTED.join(', ')})`);
  const code = value.toUpperCase();
  if (!Object.hasOwn(CURRENCIES, code))
    throw new HttpError(422, `"${field}": unsupported currency "${value.slice(0, 16)}" (supported: ${SUPPORTED.join(', ')})`, { code: 'unsupportedCurrency' });
  return code as Currency;
}

/** round_half_up(micros * to / from), exact. */
export function convert(micros: number, from: Currency, to: Currency): number {
  if (!Number.isSafeInteger(micros) || micros < 0) throw new Error(`cannot convert ${micros}: not a non-negative integer of micros`);
  const num = BigInt(micros) * CURRENCIES[to].perEurE5;
  const den = CURRENCIES[from].perEurE5;
  return Number((num + den / 2n) / den);
}

/** "€17.68", "¥2235": rounded half up to the currency's minor unit. */
export function display(micros: number, currency: Currency): string {
  const c = CURRENCIES[currency];
  if (c.minorDigits === 0) return `${c.symbol}${Math.floor((micros + 500_000) / 1_000_000)}`;
  const cents = Math.floor((micros + 5_000) / 10_000);
  return `${c.symbol}${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
