/** Stage 1 (node): lower-cases ASCII letters and turns punctuation into
 * spaces, in place in shared memory — the buffer travels on uncopied. */
import type { FerryContext } from '../../../control/runtime/sdk.js';

export default function normalize(ctx: FerryContext): Uint8Array {
  const b = ctx.payload;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c >= 65 && c <= 90) b[i] = c + 32;
    else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 39 || c >= 128)) b[i] = 32;
  }
  return b;
}
