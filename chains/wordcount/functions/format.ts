/** Stage 3 (node): turns the counts into the reply a person reads. */
import type { FerryContext } from '../../../control/runtime/sdk.js';

interface Counts {
  words: number;
  distinct: number;
  top: [string, number][];
}

export default function format(ctx: FerryContext): string {
  const c = ctx.json<Counts>();
  const width = Math.max(4, ...c.top.map(([w]) => w.length));
  const rows = c.top.map(([w, n]) => `  ${w.padEnd(width)}  ${n}`);
  return `${c.words} words, ${c.distinct} distinct\n${rows.join('\n')}\n`;
}
