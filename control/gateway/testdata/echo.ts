/** Answers with its input, untouched: the buffer the gateway wrote travels back. */
import type { FerryContext } from '../../runtime/sdk.js';

export default (ctx: FerryContext) => ctx.payload;
