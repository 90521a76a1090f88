/**
 * Decoding a JSON request in a node stage, refusing what the caller got
 * wrong the same way in every node stage of the examples (native stages:
 * lib/reject.h), so the caller gets a 4xx that says what to fix, not a 500:
 *
 *   badJson(why):  400 badJson  - not JSON, or not the JSON object expected;
 *   badField(why): 422 badField - a member missing, of the wrong type or out
 *                                 of range;
 *   new HttpError(...) directly for a more specific answer (404 unknownProduct).
 *
 * A plain Error stays a 500: for what the caller cannot fix (input the
 * previous stage should never have sent).
 */
import { HttpError, type FerryContext } from '../../control/runtime/sdk.js';

export type Request = Record<string, unknown>;

export const badJson = (why: string) => new HttpError(400, why, { code: 'badJson' });
export const badField = (why: string) => new HttpError(422, why, { code: 'badField' });

/** The caller's request as a JSON object, or a 400 that says what is wrong. */
export function requestOf(ctx: FerryContext): Request {
  return objectOf(ctx, badJson, 'the request');
}

/** What the previous stage (from) handed on, as a JSON object; anything
 * else is that stage's bug, not the caller's: a 500. */
export function handedOn(ctx: FerryContext, from: string): Request {
  return objectOf(ctx, (why) => new Error(`${why} (this stage runs after ${from})`), `${from}'s output`);
}

function objectOf(ctx: FerryContext, refuse: (why: string) => Error, what: string): Request {
  let value: unknown;
  try {
    value = ctx.json();
  } catch (err) {
    throw refuse(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(`${what} must be a JSON object`);
  return value as Request;
}

/** An integer field within [min, max]. */
export function intField(obj: Request, field: string, min: number, max: number, fallback?: number): number {
  const v = obj[field];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badField(`"${field}" must be an integer from ${min} to ${max}`);
  return v;
}

/** A non-empty string field of at most max characters. */
export function stringField(obj: Request, field: string, max = 200): string {
  const v = obj[field];
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw badField(`"${field}" is required: a non-empty string of at most ${max} characters`);
  return v.trim();
}
