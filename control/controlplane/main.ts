/**
 * The local ferry daemon that `ferry up` starts: control plane, embedded
 * store, this machine's ferryd and gateway. Writes $FERRY_HOME/state.json
 * once everything listens (the CLI waits for it) and removes it on exit.
 *
 *   node dist/control/controlplane/main.js [--admin H:P] [--ferryd H:P]
 *     [--gateway H:P] [--peer H:P] [--node-name N] [--pin-dir D] [--mode auto|ebpf|fallback]
 *     [--sandbox auto|on|off]
 *     [--node H:P ...] [--no-local-node]
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clearState, ferryHome, writeState } from '../cli/state.js';
import { createLogger } from '../log.js';
import { startControlPlane } from './control-plane.js';

export const DEFAULTS = {
  admin: '127.0.0.1:7700',
  ferryd: '127.0.0.1:7701',
  gateway: '127.0.0.1:8080',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      admin: { type: 'string', default: DEFAULTS.admin },
      ferryd: { type: 'string', default: DEFAULTS.ferryd },
      gateway: { type: 'string', default: DEFAULTS.gateway },
      peer: { type: 'string' },
      'node-name': { type: 'string', default: hostname().split('.')[0] || 'local' },
      'pin-dir': { type: 'string' },
      mode: { type: 'string', default: 'auto' },
      sandbox: { type: 'string' },
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
  const log = createLogger({ service: 'ferry' });
  const home = ferryHome();
  const cp = await startControlPlane({
    dataDir: join(home, 'data'),
    adminAddress: values.admin,
    localNode: values['no-local-node']
      ? undefined
      : { name: values['node-name'], grpcAddress: values.ferryd, gatewayAddress: values.gateway, peerAddress: values.peer, pinDir: values['pin-dir'], mode, sandbox },
    nodes: values.node,
    log,
  });
  writeState({
    pid: process.pid,
    admin: cp.adminAddress,
    gateway: cp.gatewayAddress ?? '',
    ferryd: cp.ferrydAddress ?? '',
    mode: cp.dataplaneMode ?? '',
    startedAtMs: Date.now(),
    dataDir: join(home, 'data'),
    log: join(home, 'ferry.log'),
  });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info('stopping', { signal });
    cp.close()
      .catch((err: Error) => log.error('stop failed', { error: err.message }))
      .finally(() => {
        clearState();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'ferry failed to start', error: err.message }) + '\n');
  process.exit(1);
});
