/**
 * Answers the caller the way the request asks, for the tests of function
 * answers (ctx.respond, HttpError):
 *   {"respond": 201, "body": ..., "type": "text/csv"}   ctx.respond(...)
 *   {"respond": 200, "echo": "in-place" | "alloc"}      the body as a pool view
 *                                                       (the payload itself, or ctx.alloc)
 *   {"throw": 404, "message": "...", "code": "..."}     throw new HttpError(...)
 *                                                       ("repeat": n: the message n times)
 *   {"forge": true}                                     an answer not made by ctx.respond
 *   anything else: handed on unchanged (to the next stage, if any).
 */
import { HttpError, type FerryContext, type HandlerResult } from '../../runtime/sdk.js';

interface Ask {
  respond?: number;
  body?: HandlerResult;
  type?: string;
  echo?: 'in-place' | 'alloc';
  throw?: number;
  message?: string;
  code?: string;
  repeat?: number;
  forge?: boolean;
}

export default function answer(ctx: FerryContext): HandlerResult {
  let ask: Ask;
  try {
    ask = ctx.json<Ask>();
  } catch {
    return ctx.payload;
  }
  if (ask.throw !== undefined) throw new HttpError(ask.throw, (ask.message ?? '').repeat(ask.repeat ?? 1), { code: ask.code });
  if (ask.forge) return { [Symbol.for('ferry.response')]: true, status: 200, body: 'x', contentType: 'text/plain\r\nx-injected: 1' };
  if (ask.respond === undefined) return ctx.payload;
  if (ask.echo === 'in-place') return ctx.respond(ask.respond, ctx.payload, ask.type);
  if (ask.echo === 'alloc') {
    const out = ctx.alloc(ctx.payload.byteLength);
    out.set(ctx.payload);
    return ctx.respond(ask.respond, out, ask.type);
  }
  return ctx.respond(ask.respond, ask.body, ask.type);
}
