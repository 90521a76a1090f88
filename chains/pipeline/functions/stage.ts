/**
 * Every stage of `pipeline` (stage1 .. stage5, one module): parses the JSON
 * body, counts the hop and stamps its name, and hands the object on with
 * every other member unchanged, so a large `pad` travels through each
 * stage and each stage pays a full parse and serialization of it, as a
 * typical JSON microservice would.
 *
 *   in:  {"id": ..., "pad": "...", ...}            (from the caller)
 *   out: {..., "hops": n, "trail": ["stage1", ..., "stageN"]}
 *
 * The first stage refuses what is not a JSON object with a 400 (the
 * caller's mistake); later stages treat it as the previous stage's bug
 * (500). A `hops` or `trail` the caller sent that is not a count / a list
 * is refused with a 422.
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { badField, handedOn, requestOf } from '../../lib/request.js';

export default function stage(ctx: FerryContext) {
  const first = ctx.stage === 'stage1';
  const req = first ? requestOf(ctx) : handedOn(ctx, 'the previous stage');
  const hops = req.hops ?? 0;
  if (typeof hops !== 'number' || !Number.isInteger(hops) || hops < 0) throw badField('"hops" must be a non-negative integer');
  const trail = req.trail ?? [];
  if (!Array.isArray(trail)) throw badField('"trail" must be a list of stage names');
  return { ...req, hops: hops + 1, trail: [...trail, ctx.stage] };
}
