/**
 * A function's own HTTP answer on the wire (FERRY_F_RESPONSE in abi.h):
 * desc.status is the HTTP status and the payload ends in a trailer,
 *
 *     [ body ][ tag: n bytes ][ n: 1 byte ]
 *
 * where the tag is the content type (or, with FERRY_F_ERROR, the error
 * code). What a function may answer is defined here once: the node SDK
 * checks it as the function answers, the gateway again for every runtime
 * (a native function's answer, or a forged one, arrives unchecked).
 *
 * No addon import: handler modules load this through the SDK.
 */

/** FERRY_RESPONSE_TAG_MAX (abi.h; a test checks they agree). */
export const TAG_MAX = 255;

/** A function's answer: 200..599. 1xx are not final answers in HTTP/1.1,
 * and a function that wants to say "go on" simply returns its output. */
export const ANSWER_STATUS = { min: 200, max: 599 } as const;
/** A function's error: 400..599 (an error with a 2xx/3xx status would
 * tell the client it worked). */
export const ERROR_STATUS = { min: 400, max: 599 } as const;
/** Statuses whose response has no body by definition. */
export const BODYLESS_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);

// RFC 9110 media-type = type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ),
// ASCII only: anything else (CR, LF, NUL, obs-text) could split or smuggle a header.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t !#-\\[\\]-~]|\\\\[\\t -~])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`);
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

const shown = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

/** Why status cannot be answered (undefined: it can). */
export function statusProblem(status: unknown, range: { min: number; max: number }): string | undefined {
  if (typeof status === 'number' && Number.isInteger(status) && status >= range.min && status <= range.max) return undefined;
  return `${typeof status === 'number' ? status : JSON.stringify(status)} is not an HTTP status from ${range.min} to ${range.max}`;
}

/** Why type cannot be a Content-Type ('' is fine: the gateway infers one). */
export function contentTypeProblem(type: unknown): string | undefined {
  if (typeof type !== 'string') return `the content type must be a string, not ${typeof type}`;
  if (type === '') return undefined;
  if (type.length > TAG_MAX) return `the content type is longer than ${TAG_MAX} bytes`;
  if (!MEDIA_TYPE.test(type)) return `content type ${shown(type)} is not a media type (type/subtype; name=value, ASCII)`;
  return undefined;
}

/** Why code cannot be an error code ('' is fine: one named after the status). */
export function errorCodeProblem(code: unknown): string | undefined {
  if (code === '') return undefined;
  if (typeof code !== 'string' || !ERROR_CODE.test(code))
    return `error code ${typeof code === 'string' ? shown(code) : String(code)} must be a letter, then at most 63 of A-Z a-z 0-9 . _ -`;
  return undefined;
}

/** Bytes the trailer of tag takes. */
export function trailerSize(tag: Uint8Array): number {
  return tag.byteLength + 1;
}

/** Writes the trailer of tag at into[at...]; returns its size. */
export function writeTrailer(into: Uint8Array, at: number, tag: Uint8Array): number {
  if (tag.byteLength > TAG_MAX) throw new RangeError(`a response tag has at most ${TAG_MAX} bytes`);
  into.set(tag, at);
  into[at + tag.byteLength] = tag.byteLength;
  return trailerSize(tag);
}

export type Trailer = { body: Uint8Array; tag: string } | { problem: string };

/** Splits a flagged payload into body and tag (a string of the tag's bytes,
 * as latin1: the callers then refuse anything not ASCII). */
export function readTrailer(payload: Uint8Array): Trailer {
  if (payload.byteLength === 0) return { problem: 'the response has no trailer (empty payload)' };
  const n = payload[payload.byteLength - 1]!;
  const bodyEnd = payload.byteLength - 1 - n;
  if (bodyEnd < 0) return { problem: `the response trailer names ${n} tag bytes, but the payload has ${payload.byteLength}` };
  return { body: payload.subarray(0, bodyEnd), tag: String.fromCharCode(...payload.subarray(bodyEnd, bodyEnd + n)) };
}
