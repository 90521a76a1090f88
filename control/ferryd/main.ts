/**
 * ferryd on the command line:
 *
 *   node dist/control/ferryd/main.js --tls-dir DIR [--name N] --grpc 127.0.0.1:7070 \
 *     --gateway 127.0.0.1:8080 [--peer 127.0.0.1:7071] [--pin-dir D] [--mode auto|ebpf|fallback]
 *     [--state-dir DIR] [--sandbox auto|on|off] [--balance-tick-ms N] [--fl-grpc HOST:PORT]
 *
 * --fl-grpc serves aggregation jobs' clients over gRPC (ferry.fl.v1.Aggregation,
 * control/proto/ferry/fl/v1/fl.proto) next to the HTTP gateway's /jobs/.
 *
 * --state-dir is where ferryd keeps the chains its gateway serves, so that
 * after a restart it answers 503 restoring for them (not 404) until the
 * control plane has programmed them again; without it nothing is kept.
 *
 * --tls-dir is the node's credential (ca.pem, cert.pem, key.pem: `ferry
 * node cert NAME --out DIR` on the control plane's machine makes one); the
 * node name defaults to the one in its certificate. Every address defaults
 * to loopback: expose one by naming the interface's address.
 *
 * --peer is where other nodes' ferryd connect for inter-node hops; by
 * default the gRPC host with a port the kernel picks (GetNodeInfo tells it).
 * --sandbox: instances as unprivileged users in cgroups (auto: where ferryd
 * can, with a warning where it cannot; on: or fail to start; off: never).
 *
 * Logs are JSON lines on stderr. SIGTERM or SIGINT closes it gracefully:
 * instances stopped, servers closed; the pinned BPF maps stay.
 */
import { parseArgs } from 'node:util';
import { readCredential, type Credential } from '../auth/credential.js';
import { createLogger } from '../log.js';
import type { ModeRequest } from '../node/router/select.js';
import { parseByteSize } from '../node/pool/size-classes.js';
import type { SandboxRequest } from '../node/sandbox/sandbox.js';
import { formatHostPort, parseHostPort } from './address.js';
import { startFerryd } from './server.js';
import { PEER_TRANSPORTS, type PeerTransport } from '../node/peer/link.js';

const USAGE =
  'usage: ferryd --tls-dir DIR [--name N] [--grpc HOST:PORT] [--gateway HOST:PORT] [--peer HOST:PORT] [--pin-dir DIR] [--mode auto|ebpf|fallback] [--state-dir DIR] [--sandbox auto|on|off] [--tenant-pool-bytes SIZE] [--metrics HOST:PORT] [--balance-tick-ms N] [--peer-transport tls|tcp] [--fl-grpc HOST:PORT]';
/** How often the balance policies may rewrite the weights. */
const TICK_RANGE = { min: 20, max: 10_000 };
const MODES: ModeRequest[] = ['auto', 'ebpf', 'fallback'];
const SANDBOX_MODES: SandboxRequest[] = ['auto', 'on', 'off'];

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        name: { type: 'string' },
        'tls-dir': { type: 'string', default: process.env.FERRY_TLS_DIR },
        grpc: { type: 'string', default: '127.0.0.1:7070' },
        gateway: { type: 'string' },
        peer: { type: 'string' },
        'pin-dir': { type: 'string' },
        'state-dir': { type: 'string' },
        mode: { type: 'string', default: 'auto' },
        sandbox: { type: 'string' },
        'tenant-pool-bytes': { type: 'string' },
        metrics: { type: 'string' },
        'fl-grpc': { type: 'string' },
        'balance-tick-ms': { type: 'string' },
        // tcp: plain peer links, zero copy, for a trusted network only
        // (control/node/peer/link.ts says what that gives up).
        'peer-transport': { type: 'string', default: 'tls' },
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
  const peerTransport = values['peer-transport'] as PeerTransport;
  if (!PEER_TRANSPORTS.includes(peerTransport)) {
    process.stderr.write(`ferryd: --peer-transport must be one of ${PEER_TRANSPORTS.join(', ')} (got "${values['peer-transport']}")\n${USAGE}\n`);
    process.exit(2);
  }
  if (!values['tls-dir']) {
    process.stderr.write(`ferryd: --tls-dir is required: the node's credential directory (make one with \`ferry node cert NAME --out DIR\` where \`ferry up\` runs)\n${USAGE}\n`);
    process.exit(2);
  }
  let tls: Credential;
  try {
    tls = readCredential(values['tls-dir']);
  } catch (err) {
    process.stderr.write(`ferryd: --tls-dir: ${(err as Error).message}\n`);
    process.exit(2);
  }
  let tenantPoolBytes: number | undefined;
  try {
    tenantPoolBytes = values['tenant-pool-bytes'] === undefined ? undefined : parseByteSize(values['tenant-pool-bytes'], '--tenant-pool-bytes');
  } catch (err) {
    process.stderr.write(`ferryd: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const sandbox = values.sandbox as SandboxRequest | undefined;
  if (sandbox !== undefined && !SANDBOX_MODES.includes(sandbox)) {
    process.stderr.write(`ferryd: --sandbox must be one of ${SANDBOX_MODES.join(', ')} (got "${values.sandbox}")\n${USAGE}\n`);
    process.exit(2);
  }
  let balanceTickMs: number | undefined;
  if (values['balance-tick-ms'] !== undefined) {
    balanceTickMs = Number(values['balance-tick-ms']);
    if (!Number.isInteger(balanceTickMs) || balanceTickMs < TICK_RANGE.min || balanceTickMs > TICK_RANGE.max) {
      process.stderr.write(`ferryd: --balance-tick-ms must be a whole number of milliseconds from ${TICK_RANGE.min} to ${TICK_RANGE.max} (got "${values['balance-tick-ms']}")\n${USAGE}\n`);
      process.exit(2);
    }
  }
  const name = values.name ?? (tls.identity.kind === 'node' ? tls.identity.name : undefined);
  const log = createLogger({ component: 'ferryd', node: name });
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
      name,
      tls,
      grpcAddress: values.grpc,
      gatewayAddress: values.gateway,
      peerAddress,
      peerTransport,
      pinDir: values['pin-dir'],
      stateDir: values['state-dir'],
      mode,
      sandbox,
      tenantPoolBytes,
      metricsAddress: values.metrics,
      flGrpcAddress: values['fl-grpc'],
      balanceTickMs,
      log,
    });
  } catch (err) {
    log.error((err as Error).message);
    process.exit(1);
  }
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
  // Said last: whoever waits for this line may stop ferryd at once.
  log.info(`data plane mode: ${ferryd.info.dataplaneMode}`, {
    mode: ferryd.info.dataplaneMode,
    detail: ferryd.info.dataplaneDetail,
    grpc: ferryd.grpcAddress,
    gateway: ferryd.gatewayAddress || undefined,
    peer: ferryd.peerAddress || undefined,
    metrics: ferryd.metricsAddress || undefined,
    flGrpc: ferryd.flGrpcAddress || undefined,
    sandbox: ferryd.info.sandbox,
  });
}

void main();
