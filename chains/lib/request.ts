/** Decoding a JSON request in a node stage, with errors that say what is wrong. */
import type { FerryContext } from '../../control/runtime/sdk.js';

export type Request = Record<string, unknown>;

/** The payload as a JSON object, or an error that says what is wrong. */
export function requestOf(ctx: FerryContext): Request {
  let value: unknown;
  try {
    value = ctx.json();
  } catch (err) {
    throw new Error(`the request is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the request must be a JSON object');
  return value as Request;
}

/** An integer field within [min, max]. */
export function intField(obj: Request, field: string, min: number, max: number, fallback?: number): number {
  const v = obj[field];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`"${field}" must be an integer from ${min} to ${max}`);
  return v;
}

/** A non-empty string field of at most max characters. */
export function stringField(obj: Request, field: string, max = 200): string {
  const v = obj[field];
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw new Error(`"${field}" is required: a non-empty string of at most ${max} characters`);
  return v.trim();
}
