/**
 * Stage `index` (node): turns an entry into an indexed event record: a
 * stable event id (the same camera event always gets the same id, so a
 * retried request is recognisable), the day and hour buckets, and the
 * keys the record is found by.
 */
import { createHash } from 'node:crypto';
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { handedOn } from '../../lib/request.js';
import type { Vehicle } from '../lib/registry.js';

export interface IndexedEvent {
  eventId: string;
  plate: string;
  lot: string;
  camera: string;
  event: string;
  atEpoch: number;
  day: string;
  hour: number;
  permit: Vehicle['permit'];
  owner: string | null;
  alert: boolean;
  keys: string[];
  confidence: number;
}

export default function index(ctx: FerryContext): IndexedEvent {
  const ev = handedOn(ctx, 'search') as { plate: string; lot: string; camera?: unknown; event: string; atEpoch: number; vehicle: Vehicle; confidence?: number };
  const camera = typeof ev.camera === 'string' ? ev.camera : 'unknown';
  const when = new Date(ev.atEpoch * 1000).toISOString();
  const day = when.slice(0, 10);
  const eventId = createHash('sha256').update(`${ev.lot}|${camera}|${ev.plate}|${ev.event}|${ev.atEpoch}`).digest('hex').slice(0, 16);
  return {
    eventId,
    plate: ev.plate,
    lot: ev.lot,
    camera,
    event: ev.event,
    atEpoch: ev.atEpoch,
    day,
    hour: Number(when.slice(11, 13)),
    permit: ev.vehicle.permit,
    owner: ev.vehicle.owner,
    alert: ev.vehicle.permit === 'blocked',
    keys: [`plate:${ev.plate}`, `lot:${ev.lot}:${day}`, `camera:${camera}`, `permit:${ev.vehicle.permit}`],
    confidence: ev.confidence ?? 1,
  };
}
