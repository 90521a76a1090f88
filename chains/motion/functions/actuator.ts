/**
 * Stage `actuator` (node), the end: decides what the zone's devices do about
 * what `sensor` found, and that decision is the reply.
 *
 *   motion, zone armed      -> "alarm"      (siren on, notify security)
 *   motion, dark            -> "lights_on"  (brightness from the ambient light,
 *                                            on longer for longer motion)
 *   motion, bright enough   -> "none"
 *   no motion               -> "none"
 *
 * Dark: "lux" below 50 when the request has it, otherwise night time
 * ("hour", 0-23, default the current UTC hour: 19:00 to 07:00).
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { badField, handedOn, intField } from '../../lib/request.js';

const DARK_LUX = 50;

interface Finding {
  motion: boolean;
  durationMs: number;
  peak: number;
  threshold: number;
  device?: unknown;
  zone?: unknown;
  armed?: unknown;
  lux?: unknown;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

function lighting(req: Record<string, unknown>): { dark: boolean; brightness: number; why: string } {
  if (req.lux !== undefined) {
    if (typeof req.lux !== 'number' || !(req.lux >= 0)) throw badField('"lux" must be a non-negative number');
    return { dark: req.lux < DARK_LUX, brightness: clamp(Math.round(100 * (1 - req.lux / DARK_LUX)), 20, 100), why: `lux ${req.lux}` };
  }
  const hour = intField(req, 'hour', 0, 23, new Date().getUTCHours());
  return { dark: hour >= 19 || hour < 7, brightness: 80, why: `hour ${hour}` };
}

export default function actuator(ctx: FerryContext) {
  const req = handedOn(ctx, 'sensor');
  const f = req as unknown as Finding;
  if (typeof f.motion !== 'boolean') throw new Error('"motion" is missing: this stage runs after sensor');
  const zone = typeof f.zone === 'string' ? f.zone : 'default';
  const base = {
    device: typeof f.device === 'string' ? f.device : null,
    zone,
    motion: { detected: f.motion, durationMs: f.durationMs, score: f.threshold > 0 ? Math.round((f.peak / f.threshold) * 100) / 100 : 0 },
  };
  if (!f.motion) return { ...base, action: 'none', reason: 'no motion' };
  if (f.armed === true) return { ...base, action: 'alarm', siren: true, notify: ['security'], reason: `motion in armed zone ${zone}` };
  const light = lighting(req);
  if (!light.dark) return { ...base, action: 'none', reason: `bright enough (${light.why})` };
  const durationS = Math.min(300, 60 + 10 * Math.ceil(f.durationMs / 1000));
  return { ...base, action: 'lights_on', brightness: light.brightness, durationS, reason: `motion in the dark (${light.why})` };
}
