/** A test stage that shows where it ran: appends "|<stage>@<node>" to its
 * input ($NODE_TAG, or FERRY_NODE as the control plane sets it). An input
 * starting with "slow@<node>:N" is answered after N ms on that node, so a
 * test can keep a request in flight there. */
import type { FerryContext } from '../../../runtime/sdk.js';

export default async function tag(ctx: FerryContext): Promise<string> {
  const text = ctx.text();
  const node = process.env.NODE_TAG ?? process.env.FERRY_NODE ?? '?';
  const slow = /^slow@([^:]+):(\d+)/.exec(text);
  if (slow && slow[1] === node) await new Promise((r) => setTimeout(r, Number(slow[2])));
  return `${text}|${ctx.stage}@${node}`;
}
