import { Scheduler } from './framework.js';
import { archFit } from './plugins/arch-fit.js';
import { chainLocality } from './plugins/chain-locality.js';
import { dataLocality } from './plugins/data-locality.js';
import { peerReach } from './plugins/peer-reach.js';
import { resourceFit } from './plugins/resource-fit.js';
import { spread } from './plugins/spread.js';

/** The default pipeline: fit first, then locality over spreading. */
export function defaultScheduler(): Scheduler {
  return new Scheduler([archFit, resourceFit, peerReach], [chainLocality, dataLocality, spread]);
}
