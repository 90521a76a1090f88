/** A test stage that does what its input says, so ferryd's tests can drive
 * every path through a real instance:
 *   "crash..."   exits with code 3 while holding the request (a crash);
 *   "slow:N..."  answers after N ms (a request in flight during a drain);
 *   anything else: the input followed by " " and $TAG (shows env is passed). */
import type { FerryContext } from '../../runtime/sdk.js';

export default async function worker(ctx: FerryContext): Promise<string> {
  const text = ctx.text();
  if (text.startsWith('crash')) process.exit(3);
  const slow = /^slow:(\d+)/.exec(text);
  if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
  return `${text} ${process.env.TAG ?? ''}`;
}
