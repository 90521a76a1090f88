/**
 * Stage `persist` (node), the end of an entry: appends the indexed event to
 * the lot's day log, one JSON line per event, in FERRY_PARKING_STORE
 * (default: $TMPDIR/ferry-parking), and replies with where it went.
 *
 * The chain runs one persist instance (scale max 1), so it is the only
 * writer of the logs and the offsets it reports are exact.
 */
import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FerryContext } from '../../../control/runtime/sdk.js';
import { handedOn } from '../../lib/request.js';
import type { IndexedEvent } from './index.js';

const store = process.env.FERRY_PARKING_STORE ?? join(tmpdir(), 'ferry-parking');
mkdirSync(store, { recursive: true });

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // a new log
  }
}

export default function persist(ctx: FerryContext) {
  const ev = handedOn(ctx, 'index') as unknown as IndexedEvent;
  if (typeof ev.eventId !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(ev.day ?? '')) throw new Error('not an indexed event: this stage runs after index');
  // search checked the lot is a plain name, so it is safe in a file name.
  const file = join(store, `${ev.lot}-${ev.day}.jsonl`);
  const line = JSON.stringify(ev) + '\n';
  const offset = sizeOf(file);
  appendFileSync(file, line);
  return {
    status: 'stored',
    eventId: ev.eventId,
    plate: ev.plate,
    permit: ev.permit,
    owner: ev.owner,
    alert: ev.alert,
    keys: ev.keys,
    log: { file, offset, bytes: Buffer.byteLength(line) },
  };
}
