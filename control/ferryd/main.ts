/**
 * ferryd on the command line:
 *
 *   node dist/control/ferryd/main.js --name N --grpc 127.0.0.1:7070 \
 *     --gateway 127.0.0.1:8080 [--peer 127.0.0.1:7071] [--pin-dir D] [--mode auto|ebpf|fallback]
 *     [--sandbox auto|on|off]
 *
 * --peer is where other nodes' ferryd connect for inter-node hops; by
 * default the gRPC host with a port the kernel picks (GetNodeInfo tells it).
 * --sandbox: instances as unprivileged users in cgroups (auto: where ferryd
 * can, with a warning where it cannot; on: or fail to start; off: never).
 *
 * Logs are JSON lines on stderr. SIGTERM or SIGINT closes it gracefully:
 * instances stopped, servers closed; the pinned BPF maps stay.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import type { ModeRequest } from '../node/router/select.js';
import type { SandboxRequest } from '../node/sandbox/sandbox.js';
import { formatHostPort, parseHostPort } from './address.js';
import { startFerryd } from './server.js';

const USAGE =
  'usage: ferryd [--name N] --grpc HOST:PORT [--gateway HOST:PORT] [--peer HOST:PORT] [--pin-dir DIR] [--mode auto|ebpf|fallback] [--sandbox auto|on|off]';
const MODES: ModeRequest[] = ['auto', 'ebpf', 'fallback'];
const SANDBOX_MODES: SandboxRequest[] = ['auto', 'on', 'off'];

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        name: { type: 'string', default: hostname() },
        grpc: { type: 'string', default: '127.0.0.1:7070' },
        gateway: { type: 'string' },
        peer: { type: 'string' },
        'pin-dir': { type: 'string' },
        mode: { type: 'string', default: 'auto' },
        sandbox: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`ferryd: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mode = values.mode as ModeRequest;
  if (!MODES.includes(mode)) {
    process.stderr.write(`ferryd: --mode must be one of ${MODES.join(', ')} (got "${values.mode}")\n${USAGE}\n`);
    process.exit(2);
  }
  const sandbox = values.sandbox as SandboxRequest | undefined;
  if (sandbox !== undefined && !SANDBOX_MODES.includes(sandbox)) {
    process.stderr.write(`ferryd: --sandbox must be one of ${SANDBOX_MODES.join(', ')} (got "${values.sandbox}")\n${USAGE}\n`);
    process.exit(2);
  }
  const log = createLogger({ component: 'ferryd', node: values.name });
  let peerAddress = values.peer;
  if (peerAddress === undefined) {
    try {
      peerAddress = formatHostPort({ host: parseHostPort(values.grpc, '--grpc').host, port: 0 });
    } catch (err) {
      process.stderr.write(`ferryd: ${(err as Error).message}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  let ferryd;
  try {
    ferryd = await startFerryd({
      name: values.name,
      grpcAddress: values.grpc,
      gatewayAddress: values.gateway,
      peerAddress,
      pinDir: values['pin-dir'],
      mode,
      sandbox,
      log,
    });
  } catch (err) {
    log.error((err as Error).message);
    process.exit(1);
  }
  log.info(`data plane mode: ${ferryd.info.dataplaneMode}`, {
    mode: ferryd.info.dataplaneMode,
    detail: ferryd.info.dataplaneDetail,
    grpc: ferryd.grpcAddress,
    gateway: ferryd.gatewayAddress || undefined,
    peer: ferryd.peerAddress || undefined,
    sandbox: ferryd.info.sandbox,
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    ferryd.close().then(
      () => process.exit(0),
      (err: Error) => {
        log.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
