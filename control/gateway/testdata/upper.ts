/** Answers with its input upper-cased (a copy into the same buffer). */
import type { FerryContext } from '../../runtime/sdk.js';

export default (ctx: FerryContext) => ctx.text().toUpperCase();
