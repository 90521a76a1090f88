/** A test stage that misbehaves on request, so ferryd's failure paths can
 * be driven through a real instance. Its input is JSON:
 *   {"hang": true}      never answers (an async handler that never settles)
 *   {"spin": true}      blocks its event loop for good (a stuck handler)
 *   {"sleep": ms}       answers after ms
 *   {"grow": n}         answers n bytes (an output larger than the input)
 *   {"secret": "..."}   writes the secret into a fresh buffer and answers it
 *   {"peek": n}         answers how many bytes of a fresh n-byte buffer are
 *                       not zero (what an earlier request left behind),
 *                       and where that buffer is
 *   anything else       echoed back
 */
import type { FerryContext } from '../../runtime/sdk.js';

interface Ask {
  hang?: boolean;
  spin?: boolean;
  sleep?: number;
  grow?: number;
  secret?: string;
  peek?: number;
}

export default async function trouble(ctx: FerryContext): Promise<unknown> {
  let ask: Ask = {};
  try {
    ask = ctx.json<Ask>();
  } catch {
    return ctx.payload;
  }
  if (ask.hang) return new Promise(() => undefined);
  if (ask.spin) for (;;);
  if (ask.sleep) await new Promise((r) => setTimeout(r, ask.sleep));
  if (ask.grow) return new Uint8Array(ask.grow).fill(0x61);
  if (ask.secret) {
    const bytes = new TextEncoder().encode(ask.secret);
    const out = ctx.alloc(4096);
    out.set(bytes);
    return out.subarray(0, bytes.length);
  }
  if (ask.peek) {
    const fresh = ctx.alloc(ask.peek);
    return { dirty: fresh.reduce((n, b) => n + (b !== 0 ? 1 : 0), 0), offset: fresh.byteOffset };
  }
  return ctx.payload;
}
