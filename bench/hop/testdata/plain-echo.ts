/** Test fixture (run.test.ts): an echo that hands its input back without
 * the stamp protocol, which the hop benchmark must refuse to count. */
import type { FerryContext } from '../../../control/runtime/sdk.js';

export default (ctx: FerryContext) => ctx.payload;
