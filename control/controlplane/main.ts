/**
 * The local ferry daemon that `ferry up` starts under its supervisor
 * (control/supervisor): control plane, embedded store, this machine's
 * ferryd and gateway. Once everything listens it tells the supervisor
 * where (which writes $FERRY_HOME/state.json); run without one (systemd,
 * by hand) it writes state.json itself and removes it on exit. When its
 * supervisor goes away it stops, rather than run on unwatched.
 *
 * The first start makes the cluster's CA and the operator's, the control
 * plane's and the local node's credentials in $FERRY_HOME (auth/local-pki.ts);
 * later starts reuse them. Every address defaults to loopback.
 *
 *   node dist/control/controlplane/main.js [--admin H:P] [--ferryd H:P]
 *     [--gateway H:P] [--peer H:P] [--node-name N] [--pin-dir D] [--mode auto|ebpf|fallback]
 *     [--sandbox auto|on|off] [--tenant-pool-bytes SIZE] [--balance POLICY] [--autoscale POLICY]
 *     [--placement-weights NAME=WEIGHT,...]
 *     [--node H:P ...] [--no-local-node] [--fl-grpc H:P]
 *
 * --fl-grpc serves aggregation jobs' clients over gRPC on the local node
 * too (ferry.fl.v1.Aggregation, as ferryd --fl-grpc); HTTP is always on the
 * gateway.
 * --balance is the cluster's balance policy for stages whose chain YAML
 * names none (control/balance/; default random: the weights as placed).
 * --autoscale is the cluster's autoscaling policy for chains whose YAML
 * names none (control/controlplane/autoscale/; default: slo for a chain
 * with an SLO, kpa for one without; a chain without an SLO cannot use slo).
 */
import type { PolicyChoice } from './autoscale/policy.js';
import { policies } from './autoscale/registry.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalPki } from '../auth/local-pki.js';
import { checkBalance, type BalanceSpec } from '../balance/registry.js';
import { isName } from '../chain/tenant.js';
import { clearState, ferryHome, writeState } from '../cli/state.js';
import { createLogger } from '../log.js';
import { reportReady, supervised } from '../supervisor/daemon-link.js';
import { parseByteSize } from '../node/pool/size-classes.js';
import { startControlPlane } from './control-plane.js';
import { parseWeights } from './placement/config.js';

export const DEFAULTS = {
  admin: '127.0.0.1:7700',
  ferryd: '127.0.0.1:7701',
  gateway: '127.0.0.1:8080',
  metrics: '127.0.0.1:9700',
  ferrydMetrics: '127.0.0.1:9701',
};

/** The host name as a node name (lowercase letters, digits and '-'). */
function defaultNodeName(): string {
  const n = (hostname().split('.')[0] ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').slice(0, 63);
  return isName(n) ? n : 'local';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: 'string', default: DEFAULTS.admin },
      ferryd: { type: 'string', default: DEFAULTS.ferryd },
      gateway: { type: 'string', default: DEFAULTS.gateway },
      metrics: { type: 'string', default: DEFAULTS.metrics },
      'ferryd-metrics': { type: 'string', default: DEFAULTS.ferrydMetrics },
      'fl-grpc': { type: 'string' },
      peer: { type: 'string' },
      'node-name': { type: 'string', default: defaultNodeName() },
      'pin-dir': { type: 'string' },
      mode: { type: 'string', default: 'auto' },
      sandbox: { type: 'string' },
      'tenant-pool-bytes': { type: 'string' },
      'placement-weights': { type: 'string' },
      balance: { type: 'string' },
      autoscale: { type: 'string' },
      node: { type: 'string', multiple: true, default: [] },
      'no-local-node': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const mode = values.mode;
  if (mode !== 'auto' && mode !== 'ebpf' && mode !== 'fallback') throw new Error(`--mode: "${mode}" is not one of auto, ebpf, fallback`);
  const sandbox = values.sandbox;
  if (sandbox !== undefined && sandbox !== 'auto' && sandbox !== 'on' && sandbox !== 'off')
    throw new Error(`--sandbox: "${sandbox}" is not one of auto, on, off`);
  let defaultBalance: BalanceSpec | undefined;
  if (values.balance !== undefined) {
    const { spec, problems } = checkBalance({ policy: values.balance });
    if (!spec) throw new Error(`--balance: ${problems.map((p) => p.message).join('; ')}`);
    defaultBalance = spec;
  }
  let defaultPolicy: PolicyChoice | undefined;
  if (values.autoscale !== undefined) {
    if (!policies.get(values.autoscale)) throw new Error(`--autoscale: unknown autoscaling policy "${values.autoscale}" (one of: ${policies.names().join(', ')})`);
    defaultPolicy = { name: values.autoscale, params: {} };
  }
  const log = createLogger({ service: 'ferry' });
  const home = ferryHome();
  const pki = new LocalPki(home);
  const { created } = await pki.ensure();
  log.info(created ? 'made the cluster CA and credentials' : 'using the cluster CA and credentials', { home, operator: pki.credentialDir({ kind: 'operator' }) });
  const nodeName = values['node-name'];
  if (!isName(nodeName)) throw new Error(`--node-name: "${nodeName}" is not a node name (lowercase letters, digits and '-', starting with a letter)`);
  const cp = await startControlPlane({
    dataDir: join(home, 'data'),
    adminAddress: values.admin,
    tls: await pki.credential({ kind: 'controlplane' }),
    localNode: values['no-local-node']
      ? undefined
      : {
          name: nodeName,
          tls: await pki.credential({ kind: 'node', name: nodeName }),
          grpcAddress: values.ferryd,
          gatewayAddress: values.gateway,
          peerAddress: values.peer,
          pinDir: values['pin-dir'],
          mode,
          stateDir: join(home, 'ferryd'),
          sandbox,
          tenantPoolBytes: values['tenant-pool-bytes'] === undefined ? undefined : parseByteSize(values['tenant-pool-bytes'], '--tenant-pool-bytes'),
          metricsAddress: values['ferryd-metrics'] || undefined,
          flGrpcAddress: values['fl-grpc'] || undefined,
        },
    nodes: values.node,
    placementWeights: values['placement-weights'] === undefined ? undefined : parseWeights(values['placement-weights']),
    metricsAddress: values.metrics || undefined,
    defaultBalance,
    autoscale: { defaultPolicy },
    log,
  });
  const ready = {
    admin: cp.adminAddress,
    gateway: cp.gatewayAddress ?? '',
    ferryd: cp.ferrydAddress ?? '',
    metrics: cp.metricsAddress ?? '',
    ferrydMetrics: cp.ferrydMetricsAddress ?? '',
    mode: cp.dataplaneMode ?? '',
  };
  const underSupervisor = supervised();
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info('stopping', { signal });
    cp.close()
      .catch((err: Error) => log.error('stop failed', { error: err.message }))
      .finally(() => {
        if (!underSupervisor) clearState();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The supervisor was killed: nobody would restart or stop this daemon.
  process.on('disconnect', () => stop('supervisor gone'));
  // Only now say where it serves: whoever reads that may stop it at once,
  // and a SIGTERM before the handlers above would kill it uncleanly.
  if (underSupervisor) reportReady({ kind: 'ready', ...ready, peer: cp.peerAddress ?? '' });
  else writeState({ pid: process.pid, ...ready, startedAtMs: Date.now(), dataDir: join(home, 'data'), log: join(home, 'ferry.log') });
}

main().catch((err: Error) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'ferry failed to start', error: err.message }) + '\n');
  process.exit(1);
});
