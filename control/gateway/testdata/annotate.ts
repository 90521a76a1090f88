// Routes on one member without parsing the body, and either annotates it
// in place (mode "mark") or answers an object larger than its input buffer
// (mode "grow": n two-byte characters), which the runtime must encode into
// a buffer of its own.
import type { FerryContext } from '../../runtime/sdk.js';

export default function handler(ctx: FerryContext) {
  const mode = ctx.field<string>('mode');
  if (mode === 'grow') return { grown: 'é'.repeat(ctx.field<number>('n') ?? 0) };
  return ctx.annotate({ seen: true, mode: mode ?? null });
}
