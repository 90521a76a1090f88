/** Test stage 2: the reply, with fields computed from the name, and the node and tenant it ran for. */
import type { FerryContext } from '../../../runtime/sdk.js';

export default function greet(ctx: FerryContext): object {
  const { name } = ctx.json<{ name: string }>();
  return { greeting: `hello, ${name}`, letters: name.length, reversed: [...name].reverse().join(''), node: process.env.FERRY_NODE ?? '', tenant: process.env.FERRY_TENANT ?? '' };
}
