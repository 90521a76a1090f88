/**
 * Reading one member of a JSON object body, and adding members to it,
 * without parsing the rest: what a stage that only routes or annotates
 * needs (ctx.field, ctx.annotate). A byte scanner over the pool view: no
 * string is decoded but the member asked for, nothing is allocated for
 * the members skipped.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The body is not the JSON object the call needs. */
export class JsonBodyError extends SyntaxError {
  constructor(what: string, at: number) {
    super(`request body: ${what} at byte ${at}`);
    this.name = 'JsonBodyError';
  }
}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/** Index just past the string starting at b[i] (a quote). */
function skipString(b: Uint8Array, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j]!;
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  throw new JsonBodyError('unterminated string', i);
}

/** Index just past the value starting at b[i]. Nested values are skipped
 * by bracket depth (strings inside them too); the caller's JSON.parse of
 * a member, or the next stage, checks what it actually reads. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === undefined) throw new JsonBodyError('a value is missing', i);
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_OBJ || c === OPEN_ARR) {
    let depth = 0;
    for (let j = i; j < b.length; j++) {
      const d = b[j]!;
      if (d === QUOTE) j = skipString(b, j) - 1;
      else if (d === OPEN_OBJ || d === OPEN_ARR) depth++;
      else if (d === CLOSE_OBJ || d === CLOSE_ARR) {
        if (--depth === 0) return j + 1;
      }
    }
    throw new JsonBodyError('unterminated object or array', i);
  }
  let j = i;
  while (j < b.length && b[j] !== COMMA && b[j] !== CLOSE_OBJ && b[j] !== CLOSE_ARR && !isSpace(b[j]!)) j++;
  if (j === i) throw new JsonBodyError(`unexpected "${String.fromCharCode(c)}"`, i);
  return j;
}

/** Whether the key string at b[start..end) (quotes included) names name. */
function keyIs(b: Uint8Array, start: number, end: number, name: Uint8Array, nameText: string): boolean {
  const raw = b.subarray(start + 1, end - 1);
  if (raw.indexOf(BACKSLASH) >= 0) return JSON.parse(dec.decode(b.subarray(start, end))) === nameText;
  if (raw.length !== name.length) return false;
  for (let k = 0; k < raw.length; k++) if (raw[k] !== name[k]) return false;
  return true;
}

/** Where the value of the top-level member name is ([start, end)), or
 * undefined when the object has no such member (the last one wins, as in
 * JSON.parse). Throws JsonBodyError when the body is not a JSON object. */
export function memberRange(b: Uint8Array, name: string): [number, number] | undefined {
  const wanted = enc.encode(name);
  let i = skipSpace(b, 0);
  if (b[i] !== OPEN_OBJ) throw new JsonBodyError('not a JSON object', i);
  i = skipSpace(b, i + 1);
  let found: [number, number] | undefined;
  if (b[i] === CLOSE_OBJ) return undefined;
  for (;;) {
    if (b[i] !== QUOTE) throw new JsonBodyError('expected a member name', i);
    const keyEnd = skipString(b, i);
    const match = keyIs(b, i, keyEnd, wanted, name);
    i = skipSpace(b, keyEnd);
    if (b[i] !== COLON) throw new JsonBodyError('expected ":"', i);
    const start = skipSpace(b, i + 1);
    const end = skipValue(b, start);
    if (match) found = [start, end];
    i = skipSpace(b, end);
    if (b[i] === CLOSE_OBJ) return found;
    if (b[i] !== COMMA) throw new JsonBodyError('expected "," or "}"', i);
    i = skipSpace(b, i + 1);
  }
}

/** The value of one top-level member (JSON.parse of its bytes only). */
export function readMember<T>(b: Uint8Array, name: string): T | undefined {
  const r = memberRange(b, name);
  return r === undefined ? undefined : (JSON.parse(dec.decode(b.subarray(r[0], r[1]))) as T);
}

/**
 * The body with members added at the end of its top-level object, written
 * into out (which may be the body's own buffer: out.subarray(0, n) is
 * returned), or undefined when out is too small. Existing members are not
 * parsed or checked, only the object's braces; a member of the same name
 * is shadowed (JSON.parse keeps the last).
 */
export function annotateInto(body: Uint8Array, fields: Record<string, unknown>, out: Uint8Array): Uint8Array | undefined {
  let close = body.length - 1;
  while (close >= 0 && isSpace(body[close]!)) close--;
  const open = skipSpace(body, 0);
  if (body[open] !== OPEN_OBJ || body[close] !== CLOSE_OBJ || close <= open)
    throw new JsonBodyError('not a JSON object', body[open] !== OPEN_OBJ ? open : Math.max(close, 0));
  let last = close - 1;
  while (last > open && isSpace(body[last]!)) last--;
  const empty = last === open;
  let added = '';
  for (const [k, v] of Object.entries(fields)) {
    const value = JSON.stringify(v);
    if (value === undefined) continue; // what JSON.stringify of the object would drop too
    added += `${added || !empty ? ',' : ''}${JSON.stringify(k)}:${value}`;
  }
  added += '}';
  if (out.buffer !== body.buffer || out.byteOffset !== body.byteOffset) {
    if (out.length < close) return undefined;
    out.set(body.subarray(0, close));
  }
  const room = out.subarray(close);
  const { read, written } = enc.encodeInto(added, room);
  if (read < added.length) return undefined;
  return out.subarray(0, close + written);
}
