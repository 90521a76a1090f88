/**
 * The request key of a chain whose stages hash on one (consistent-hash):
 * read where the chain YAML says, a header or a top-level field of a JSON
 * body (its string or number value; for GET, of the query, which the
 * gateway turns into a JSON object), and hashed into the 21 bits the
 * request id carries to the routers (abi.h FERRY_REQUEST_KEY). A request
 * without the key (header missing, body not JSON, field absent or of
 * another type) has none and goes by weight.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestKeySource } from '../balance/registry.js';
import { keyHash } from '../node/router/ring.js';

/** The key hash, or undefined when the request has no key. */
export function requestKeyOf(src: RequestKeySource, headers: IncomingHttpHeaders, body: () => Uint8Array): number | undefined {
  if ('header' in src) {
    const v = headers[src.header];
    const s = Array.isArray(v) ? v[0] : v;
    return s === undefined || s === '' ? undefined : keyHash(s);
  }
  const bytes = body();
  // Only a JSON object can have the field: skip the parse for anything else.
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] !== 0x7b) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  const v = (doc as Record<string, unknown>)[src.field];
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) ? keyHash(String(v)) : undefined;
}
