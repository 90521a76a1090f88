/** Exits the instance process while it holds the request: an instance crash. */
import type { FerryContext } from '../../runtime/sdk.js';

export default (_ctx: FerryContext) => {
  process.exit(7);
};
