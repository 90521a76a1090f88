/** No cgroups: instances run without resource limits, and ferry says why
 * (NodeInfo.sandbox, a warning at start). */
import type { Cgroups, InstanceCgroup, Limits } from '../cgroups.js';

export class NoCgroups implements Cgroups {
  readonly kind = 'none';

  constructor(readonly reason: string) {}

  create(_name: string, _limits: Limits): InstanceCgroup {
    return { path: '', procsFiles: [], oomKilled: () => false, applyCpuQuota: () => undefined, remove: async () => undefined };
  }

  async close(): Promise<void> {}
}
