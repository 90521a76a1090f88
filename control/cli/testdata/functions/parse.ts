/** Test stage 1: validate the request and normalise the name. */
import type { FerryContext } from '../../../runtime/sdk.js';

export default function parse(ctx: FerryContext): object {
  const req = ctx.json<{ name?: unknown }>();
  if (typeof req.name !== 'string' || req.name.trim() === '') throw new Error('request needs a non-empty "name" string');
  return { name: req.name.trim().toLowerCase() };
}
