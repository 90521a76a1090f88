/**
 * Stage `search` (node): looks the detected plate up in the registry, reads
 * the event's times, and sends an entry on to `index` (to be recorded) and
 * an exit to `charging` (to be billed).
 *
 * Input (from `detection`): {"plate":"BAB1234","camera":...,"lot":"central",
 *   "event":"entry"|"exit","at":ISO-8601 or epoch seconds,"enteredAt":... (exits)}
 * Defaults: event "entry", lot "main", at now.
 * Output: the same with "vehicle":{owner, permit}, "atEpoch" and, for an
 * exit, "enteredAtEpoch" (seconds since 1970).
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { badField, handedOn } from '../../lib/request.js';
import { lookup } from '../lib/registry.js';

/** Times a Date can show (index names day logs by them): up to 9999-12-31. */
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Seconds since 1970 from an ISO-8601 string or a number of seconds. */
function epoch(value: unknown, field: string): number {
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms > LAST_MS)
    throw badField(`"${field}" must be an ISO-8601 time (2024-06-10T08:15:00Z) or seconds since 1970, before the year 10000`);
  return Math.floor(ms / 1000);
}

export default function search(ctx: FerryContext) {
  const ev = handedOn(ctx, 'detection');
  const event = ev.event ?? 'entry';
  if (event !== 'entry' && event !== 'exit') throw badField(`"event" must be "entry" or "exit", not ${JSON.stringify(event).slice(0, 32)}`);
  const lot = ev.lot ?? 'main';
  // The lot names the store's files (persist): keep it a plain name.
  if (typeof lot !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(lot)) throw badField('"lot" must be a name of lower-case letters, digits and "-" (at most 32)');
  if (typeof ev.plate !== 'string') throw new Error('"plate" is missing: this stage runs after detection');
  const out: Record<string, unknown> = { ...ev, event, lot, vehicle: lookup(ev.plate), atEpoch: ev.at === undefined ? Math.floor(Date.now() / 1000) : epoch(ev.at, 'at') };
  if (event === 'exit') {
    if (ev.enteredAt === undefined) throw badField('an exit needs "enteredAt" (the entry time on the ticket)');
    out.enteredAtEpoch = epoch(ev.enteredAt, 'enteredAt');
  }
  ctx.goto(event === 'entry' ? 'index' : 'charging');
  return out;
}
