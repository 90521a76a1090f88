/** A test stage that shows where it ran: appends "|<stage>@<node>" to its
 * input ($NODE_TAG, or FERRY_NODE as the control plane sets it). An input
 * starting with "slow@<node>:N" is answered after N ms on that node, so a
 * test can keep a request in flight there; "respond@<node>:STATUS" is
 * answered to the caller on that node (ctx.respond, type text/x-tag). */
import type { FerryContext, FerryResponse } from '../../../runtime/sdk.js';

export default async function tag(ctx: FerryContext): Promise<string | FerryResponse> {
  const text = ctx.text();
  const node = process.env.NODE_TAG ?? process.env.FERRY_NODE ?? '?';
  const slow = /^slow@([^:]+):(\d+)/.exec(text);
  if (slow && slow[1] === node) await new Promise((r) => setTimeout(r, Number(slow[2])));
  const respond = /^respond@([^:]+):(\d+)/.exec(text);
  if (respond && respond[1] === node) return ctx.respond(Number(respond[2]), `${text}|${ctx.stage}@${node}`, 'text/x-tag');
  return `${text}|${ctx.stage}@${node}`;
}
