/** Always fails, naming its input, so tests can find the message in the reply. */
import type { FerryContext } from '../../runtime/sdk.js';

export default (ctx: FerryContext) => {
  throw new Error(`refused to handle ${JSON.stringify(ctx.text())}`);
};
