/** No confinement (ferryd not root, no launcher, or --sandbox off): the
 * instance runs as ferryd's user, without limits, and ferry says why. */
import { DEFAULT_PIDS, type FileNeed, type PreparedLaunch, type Sandbox } from './sandbox.js';

export class Unconfined implements Sandbox {
  readonly status: string;

  constructor(
    readonly reason: string,
    readonly defaultPids = DEFAULT_PIDS,
  ) {
    this.status = `off: ${reason}`;
  }

  unreachable(_tenant: string, _files: FileNeed[]): string | undefined {
    return undefined;
  }

  prepare(): PreparedLaunch {
    return { prefix: () => [], oomKilled: () => false, startupOver: () => undefined, release: async () => undefined };
  }

  async close(): Promise<void> {}
}
