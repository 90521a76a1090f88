/**
 * Echo function of the hop benchmark (runtime: node), twin of stamp-echo.c,
 * where the stamp protocol is described: check the request's stamp in the
 * first 4 bytes, write its complement into the last 4, hand the very same
 * pool buffer back (zero copy).
 */
import type { FerryContext } from '../../../control/runtime/sdk.js';

export default function stampEcho(ctx: FerryContext): Uint8Array {
  const p = ctx.payload;
  if (p.length < 8) throw new Error('stamp-echo: payload shorter than 8 bytes');
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const want = Number(ctx.requestId & 0xffffffffn);
  if (view.getUint32(0, true) !== want) throw new Error("stamp-echo: the payload does not carry this request's stamp");
  view.setUint32(p.length - 4, ~want >>> 0, true);
  return p;
}
