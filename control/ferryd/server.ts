/**
 * ferryd: the node daemon. A gRPC server (NodeDaemon plus the standard
 * health service) over this node's data plane, and the node's HTTP gateway.
 *
 * gRPC and the peer link are mutual TLS with the node's credential (always:
 * there is no plain mode): NodeDaemon takes only the control plane and the
 * operator, the health service any certificate of the cluster CA, the peer
 * link only other nodes.
 */
import { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Credential } from '../auth/credential.js';
import { requireCaller, serverCredentials } from '../auth/grpc.js';
import { describeIdentity } from '../auth/identity.js';
import { createLogger, type Logger } from '../log.js';
import { NodeDataPlane, type DataPlaneOptions } from '../node/dataplane.js';
import { RemoteHops } from '../node/peer/hops.js';
import { PeerLink, type PeerTransport } from '../node/peer/link.js';
import type { ModeRequest } from '../node/router/select.js';
import { formatHostPort, parseHostPort } from './address.js';
import { metricsRegistry, serveMetrics, type MetricsServer } from '../metrics/prometheus.js';
import { ferrydMetrics } from './metrics.js';
import { startGatewayServer, type GatewayServer } from './gateway-server.js';
import { nodeDaemonImplementation } from './grpc-service.js';
import { startFlGrpc, type FlGrpcServer } from './jobs/grpc.js';
import { NodeDaemon, type NodeDaemonOptions } from './node-daemon.js';
import { nodeInfo } from './node-info.js';
import { NODE_SERVICE_NAME, nodeDaemonService, type NodeInfo } from './proto.js';
import type { BackoffPolicy } from './supervisor.js';

export interface FerrydOptions {
  /** Node name; default: the name in the node certificate. */
  name?: string;
  /** This node's credential: a node certificate from the cluster CA (for
   * this name) with the CA to trust. */
  tls: Credential;
  /** host:port for gRPC; port 0 picks a free one. */
  grpcAddress: string;
  /** host:port for the HTTP gateway (port 0 ok); none: no gateway. */
  gatewayAddress?: string;
  /** host:port where other nodes' ferryd connect for inter-node hops
   * (port 0 ok); none: this node serves only hops between its own instances. */
  peerAddress?: string;
  /** How the peer links carry frames (default tls; tcp: plain, zero copy,
   * trusted networks only). */
  peerTransport?: PeerTransport;
  /** bpffs directory for the pinned program and maps. */
  pinDir?: string;
  mode?: ModeRequest;
  /** How instances are confined (default auto: sandboxed where ferryd can). */
  sandbox?: DataPlaneOptions['sandbox'];
  log?: Logger;
  /** Restart backoff of crashed instances. */
  backoff?: BackoffPolicy;
  /** SIGTERM-to-SIGKILL grace when stopping an instance. */
  stopGraceMs?: number;
  /** How long an instance holding expired requests has to answer a
   * liveness probe before it is killed as stuck. */
  probeTimeoutMs?: number;
  /** How long a new instance may take to load its function. */
  startTimeoutMs?: number;
  /** What all of one tenant's pools on this node may hold together. */
  tenantPoolBytes?: number;
  /** How often instances with traffic are asked for their service times. */
  signalIntervalMs?: number;
  /** Request bodies one client address may have arriving at once. */
  bodiesPerClient?: number;
  /** Where ferryd keeps the chains its gateway serves, to answer 503
   * restoring for them after a restart (see NodeDaemonOptions.stateDir). */
  stateDir?: string;
  restoreGraceMs?: number;
  /** host:port for the FL clients' gRPC (ferry.fl.v1.Aggregation; port 0
   * ok); none: jobs are served over HTTP only. */
  flGrpcAddress?: string;
  /** host:port for Prometheus /metrics (port 0 ok); none: no metrics listener. */
  metricsAddress?: string;
  /** How often the balance policies set the route weights (default 250 ms). */
  balanceTickMs?: number;
  /** When an instance's completions start to teach the balance policies. */
  warmUp?: NodeDaemonOptions['warmUp'];
}

export interface Ferryd {
  /** As bound (the real port when 0 was asked). */
  grpcAddress: string;
  /** As bound; '' when this node runs no HTTP gateway. */
  gatewayAddress: string;
  /** As bound; '' without a peer listener. */
  peerAddress: string;
  /** As bound; '' without a metrics listener. */
  metricsAddress: string;
  /** As bound; '' without --fl-grpc. */
  flGrpcAddress: string;
  /** The links to other nodes and the hops over them, when listening. */
  peers?: { link: PeerLink; hops: RemoteHops };
  info: NodeInfo;
  dataPlane: NodeDataPlane;
  daemon: NodeDaemon;
  close(): Promise<void>;
}

/** How long close() lets unary calls in progress (a drain) finish. */
const SHUTDOWN_GRACE_MS = 5000;

/** Who may drive a node's ferryd. */
const DRIVERS = { kinds: ['controlplane', 'operator'] as const, needed: 'the control plane\'s or the operator\'s credential' };

/** The node name the credential is for; throws when it is not a node
 * certificate, or is one for another name. */
export function nodeNameOf(tls: Credential | undefined, name?: string): string {
  // Callers that predate TLS (tests too) get told, not a TypeError.
  if (!tls) throw new Error('ferryd needs its node credential (tls; in tests: nodeTls(name) from control/ferryd/testdata/harness.ts)');
  const id = tls.identity;
  if (id.kind !== 'node') throw new Error(`ferryd needs a node certificate, and this one is for ${describeIdentity(id)}: issue one with \`ferry node cert NAME\``);
  if (name !== undefined && id.name !== name)
    throw new Error(`the node certificate is for node ${id.name}, not ${name}: start with --name ${id.name} or issue one with \`ferry node cert ${name}\``);
  return id.name;
}

export async function startFerryd(opts: FerrydOptions): Promise<Ferryd> {
  const name = nodeNameOf(opts.tls, opts.name);
  const log = opts.log ?? createLogger({ component: 'ferryd', node: name });
  const grpcAt = parseHostPort(opts.grpcAddress, 'gRPC address');
  const dataPlane = new NodeDataPlane({ mode: opts.mode, pinDir: opts.pinDir, log, tenantPoolBytes: opts.tenantPoolBytes, node: name, sandbox: opts.sandbox });
  let peers: { link: PeerLink; hops: RemoteHops } | undefined;
  try {
    if (opts.peerAddress) {
      const link = await PeerLink.listen({ name, listen: opts.peerAddress, tls: opts.tls, transport: opts.peerTransport, log: log.child({ part: 'peers' }) });
      peers = { link, hops: new RemoteHops({ dataPlane, link, log }) };
    }
  } catch (err) {
    await dataPlane.close();
    throw new Error(`ferryd could not start: peer listener on ${opts.peerAddress}: ${(err as Error).message}`, { cause: err });
  }
  const daemon = new NodeDaemon({
    dataPlane,
    log,
    backoff: opts.backoff,
    stopGraceMs: opts.stopGraceMs,
    probeTimeoutMs: opts.probeTimeoutMs,
    signalIntervalMs: opts.signalIntervalMs,
    startTimeoutMs: opts.startTimeoutMs,
    nodeName: name,
    peers,
    stateDir: opts.stateDir,
    restoreGraceMs: opts.restoreGraceMs,
    balanceTickMs: opts.balanceTickMs,
    warmUp: opts.warmUp,
  });
  const server = new Server();
  const health = new HealthImplementation({ '': 'NOT_SERVING', [NODE_SERVICE_NAME]: 'NOT_SERVING' });
  const streams = new Set<() => void>();
  let gateway: GatewayServer | undefined;
  let metrics: MetricsServer | undefined;
  let flGrpc: FlGrpcServer | undefined;
  let info: NodeInfo | undefined;

  const shutdown = async () => {
    for (const s of ['', NODE_SERVICE_NAME]) health.setStatus(s, 'NOT_SERVING');
    for (const end of [...streams]) end();
    await gateway?.close().catch((err: Error) => log.warn('gateway close failed', { error: err.message }));
    await flGrpc?.close();
    await metrics?.close();
    await grpcShutdown(server);
    // Peers see the link go down and fail what they had sent here.
    await peers?.link.close();
    peers?.hops.close();
    await daemon.close();
    await dataPlane.close();
  };

  try {
    if (opts.gatewayAddress)
      gateway = await startGatewayServer(opts.gatewayAddress, daemon.directory, log.child({ part: 'gateway' }), { bodiesPerClient: opts.bodiesPerClient }, daemon.jobs);
    if (opts.flGrpcAddress) flGrpc = await startFlGrpc(opts.flGrpcAddress, daemon.jobs, log);
    info = nodeInfo({
      name,
      mode: dataPlane.mode,
      detail: dataPlane.router.description,
      gatewayAddress: gateway?.address ?? '',
      peerAddress: peers?.link.address ?? '',
      sandbox: dataPlane.sandbox.status,
    });
    if (opts.metricsAddress)
      metrics = await serveMetrics(opts.metricsAddress, metricsRegistry(ferrydMetrics(daemon, name), 'ferryd_'), log.child({ part: 'metrics' }));
    const fixedInfo = info;
    const impl = nodeDaemonImplementation({ daemon, info: () => fixedInfo, log, streams });
    server.addService(nodeDaemonService, requireCaller(nodeDaemonService, impl, [...DRIVERS.kinds], DRIVERS.needed, log));
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(formatHostPort(grpcAt), serverCredentials(opts.tls), (err, p) => (err ? reject(err) : resolve(p))),
    );
    for (const s of ['', NODE_SERVICE_NAME]) health.setStatus(s, 'SERVING');
    const grpcAddress = formatHostPort({ host: grpcAt.host, port });
    log.info('ferryd ready', {
      grpc: grpcAddress,
      gateway: info.gatewayAddress || undefined,
      peer: info.peerAddress || undefined,
      metrics: metrics?.address,
      mode: info.dataplaneMode,
      detail: info.dataplaneDetail,
      sandbox: info.sandbox,
    });
    let closing: Promise<void> | undefined;
    return {
      grpcAddress,
      gatewayAddress: info.gatewayAddress,
      peerAddress: info.peerAddress,
      metricsAddress: metrics?.address ?? '',
      flGrpcAddress: flGrpc?.address ?? '',
      peers,
      info,
      dataPlane,
      daemon,
      close: () => (closing ??= shutdown().then(() => log.info('ferryd stopped'))),
    };
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw new Error(`ferryd could not start: ${(err as Error).message}`, { cause: err });
  }
}

/** Let calls in progress finish for a while, then cut them. */
function grpcShutdown(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
