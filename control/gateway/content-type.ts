/**
 * The Content-Type of a chain's reply. The node SDK gives a function no way
 * to set one (a handler returns only a body: see control/runtime/sdk.ts), so
 * the gateway infers it from the bytes of the last stage's output:
 *   - first non-blank byte `{` or `[`        -> application/json (not parsed:
 *     a large body costs nothing to label);
 *   - short bodies (up to 4 KiB) that parse as JSON (`"x"`, `42`, `true`,
 *     `null`), which is what a handler returning a plain value produces
 *                                             -> application/json;
 *   - otherwise valid UTF-8                   -> text/plain; charset=utf-8;
 *   - anything else                           -> application/octet-stream.
 */
export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const BINARY_TYPE = 'application/octet-stream';

const PARSE_AT_MOST = 4096;
const strict = new TextDecoder('utf-8', { fatal: true });

function firstNonBlank(body: Uint8Array): number | undefined {
  for (const b of body) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  return undefined;
}

export function replyContentType(body: Uint8Array): string {
  const first = firstNonBlank(body);
  if (first === 0x7b /* { */ || first === 0x5b /* [ */) return JSON_TYPE;
  let text: string;
  try {
    text = strict.decode(body);
  } catch {
    return BINARY_TYPE;
  }
  if (first !== undefined && body.byteLength <= PARSE_AT_MOST) {
    try {
      JSON.parse(text);
      return JSON_TYPE;
    } catch {
      // plain text
    }
  }
  return TEXT_TYPE;
}
