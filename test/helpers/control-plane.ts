/**
 * A real control plane with its own local ferryd, for tests: its own
 * ports, data dir and pin dir; an operator's Admin client; every cluster
 * event (or one chain's) collected as it happens.
 */
import { rmSync } from 'node:fs';
import type { BalanceSpec } from '../../control/balance/registry.js';
import { createLogger } from '../../control/log.js';
import { AdminClient } from '../../control/controlplane/admin/client.js';
import type { AdminEvent } from '../../control/controlplane/admin/proto.js';
import { startControlPlane, type ControlPlane } from '../../control/controlplane/control-plane.js';
import type { DataPlaneMode } from '../../control/node/router/router.js';
import { controlPlaneTls, nodeTls, testPinDir } from '../../control/ferryd/testdata/harness.js';
import { sharedTempDir } from './dataplane.js';
import { testCredential } from './pki.js';

export interface TestControlPlane {
  cp: ControlPlane;
  admin: AdminClient;
  /** Events seen so far, oldest first. */
  events: AdminEvent[];
  close(): Promise<void>;
}

export async function startTestControlPlane(opts: {
  test: string;
  mode?: DataPlaneMode;
  /** Events of this chain only ('' or absent: all). */
  watch?: string;
  /** Serve /metrics for the control plane and its ferryd. */
  metrics?: boolean;
  /** The cluster's balance policy for stages whose YAML names none. */
  defaultBalance?: BalanceSpec;
  /** Start on this data dir (a restart); the caller removes it. Absent: a
   * new one, removed on close. */
  dataDir?: string;
}): Promise<TestControlPlane> {
  const dataDir = opts.dataDir ?? sharedTempDir(`ferry-${opts.test}-data-`);
  const pinDir = testPinDir();
  const metricsAddress = opts.metrics ? '127.0.0.1:0' : undefined;
  const cp = await startControlPlane({
    dataDir,
    adminAddress: '127.0.0.1:0',
    metricsAddress,
    tls: controlPlaneTls,
    localNode: { name: 'solo', tls: await nodeTls('solo'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', metricsAddress, pinDir, mode: opts.mode },
    defaultBalance: opts.defaultBalance,
    log: createLogger({ test: opts.test, mode: opts.mode }, 'warn'),
  });
  const admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
  const events: AdminEvent[] = [];
  const stream = admin.watchEvents(opts.watch ?? '');
  stream.on('data', (e: AdminEvent) => events.push(e));
  stream.on('error', () => undefined);
  return {
    cp,
    admin,
    events,
    close: async () => {
      stream.cancel();
      admin.close();
      await cp.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      rmSync(pinDir, { recursive: true, force: true });
    },
  };
}
