/**
 * One local ferry: the control plane with its embedded store, and (unless
 * told otherwise) this machine's ferryd with its HTTP gateway, in one
 * process. The control plane still drives that ferryd over gRPC, exactly as
 * it drives remote ones.
 */
import { AutoscaleLoop, type AutoscaleLoopOptions } from './autoscale/loop.js';
import { join } from 'node:path';
import type { Credential } from '../auth/credential.js';
import type { BalanceSpec } from '../balance/registry.js';
import { describeIdentity } from '../auth/identity.js';
import { connectFerryd } from '../ferryd/client.js';
import { startFerryd, type Ferryd } from '../ferryd/server.js';
import type { Logger } from '../log.js';
import type { SandboxRequest } from '../node/sandbox/sandbox.js';
import { startAdminServer } from './admin/server.js';
import { Activator } from './autoscale/activator.js';
import { ChainManager } from './chains/manager.js';
import { JobManager } from './jobs/manager.js';
import { EventBus } from './events.js';
import { PeerMesh } from './nodes/peer-mesh.js';
import { NodeRegistry } from './nodes/registry.js';
import { buildScheduler, withWeights } from './placement/config.js';
import { FileStore } from './store/file-store.js';
import { controlPlaneMetrics } from './metrics.js';
import { metricsRegistry, serveMetrics, type MetricsServer } from '../metrics/prometheus.js';

export interface ControlPlaneOptions {
  /** Where the store lives. */
  dataDir: string;
  /** host:port of the Admin API (port 0: any). */
  adminAddress: string;
  /** The control plane's credential: it serves Admin and drives every
   * ferryd with it. */
  tls: Credential;
  /** Start a ferryd for this machine in this process. */
  localNode?: {
    name: string;
    /** Its node credential. */
    tls: Credential;
    grpcAddress: string;
    gatewayAddress: string;
    /** host:port where other nodes' ferryd reach this one (multi-node). */
    peerAddress?: string;
    pinDir?: string;
    mode?: 'auto' | 'ebpf' | 'fallback';
    /** Where ferryd keeps the chains its gateway serves (503 restoring after a restart). */
    stateDir?: string;
    sandbox?: SandboxRequest;
    /** What all of one tenant's pools on this node may hold together. */
    tenantPoolBytes?: number;
    /** host:port of the local ferryd's /metrics (port 0 ok). */
    metricsAddress?: string;
    /** host:port of its FL clients' gRPC door (ferry.fl.v1.Aggregation); none: HTTP only. */
    flGrpcAddress?: string;
  };
  /** Further ferryd addresses to register at start. */
  nodes?: string[];
  /** Score plugin weights over the cluster default (placement/config.ts),
   * e.g. { ChainLocality: 3, Spread: 1 }; checked before anything starts. */
  placementWeights?: Record<string, number>;
  /** host:port of the control plane's Prometheus /metrics (port 0 ok); none: no listener. */
  metricsAddress?: string;
  /** The cluster's balance policy for stages whose chain YAML names none
   * (absent: each ferryd's default, random). */
  defaultBalance?: BalanceSpec;
  /** The autoscaling loop: the policy of chains that name none; off: no
   * loop (stages change size only by hand and from zero). */
  autoscale?: AutoscaleLoopOptions & { off?: boolean };
  log: Logger;
}

export interface ControlPlane {
  adminAddress: string;
  /** The local node's gateway, when there is one. */
  gatewayAddress?: string;
  ferrydAddress?: string;
  /** The local ferryd's peer listener, when it has one. */
  peerAddress?: string;
  dataplaneMode?: string;
  /** The control plane's /metrics, and the local ferryd's, when listening. */
  metricsAddress?: string;
  ferrydMetricsAddress?: string;
  close(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { log } = opts;
  const scheduler = buildScheduler(withWeights(opts.placementWeights ?? {}));
  if (opts.tls.identity.kind !== 'controlplane')
    throw new Error(`the control plane needs the control plane's certificate (ferry://controlplane), not ${describeIdentity(opts.tls.identity)}'s`);
  const store = await FileStore.open(join(opts.dataDir, 'store.json'));
  const events = new EventBus();
  events.subscribe((e) => log.info('event', { kind: e.kind, chain: e.chain, node: e.node, instance: e.instance, message: e.message }));
  const nodes = new NodeRegistry(store, events, log.child({ part: 'nodes' }), (address) => connectFerryd(address, opts.tls));
  let ferryd: Ferryd | undefined;
  const closers: (() => Promise<void> | void)[] = [];
  try {
    if (opts.localNode) {
      ferryd = await startFerryd({ ...opts.localNode, log: log.child({ part: 'ferryd' }) });
      closers.push(() => ferryd!.close());
      await nodes.register(ferryd.grpcAddress, {}, { local: true });
    }
    for (const address of opts.nodes ?? []) await nodes.register(address);
    await nodes.restore();
    closers.push(() => nodes.close());
    const mesh = new PeerMesh(nodes, log.child({ part: 'peers' }));
    await mesh.sync().catch((err: Error) => log.warn('peer links incomplete', { error: err.message }));
    const chains = new ChainManager(store, nodes, scheduler, events, mesh, log.child({ part: 'chains' }), opts.defaultBalance);
    await chains.migrateKeys();
    await chains.reconcile();
    const jobs = new JobManager(store, nodes, scheduler, events, mesh, chains, log.child({ part: 'jobs' }));
    closers.push(() => jobs.close());
    await jobs.reconcile();
    // A node that joins or comes back (its ferryd restarted, forgetting
    // peers and instances) is linked to the others and gets its part of
    // every chain again.
    const unsubscribe = events.subscribe((e) => {
      if (e.kind !== 'node-ready' || !e.node) return;
      mesh
        .sync()
        .catch((err: Error) => log.warn('peer links incomplete', { node: e.node, error: err.message }))
        .then(() => chains.reconcile(e.node))
        .then(() => jobs.reconcile(e.node))
        .catch((err: Error) => log.error('reconcile after node-ready failed; retried when the node next comes back or on apply', { node: e.node, error: err.message }));
    });
    closers.push(unsubscribe);
    const activator = new Activator(nodes, chains, events, log.child({ part: 'activator' }));
    closers.push(() => activator.close());
    const autoscaler = new AutoscaleLoop(nodes, chains, events, log.child({ part: 'autoscale' }), opts.autoscale);
    if (!opts.autoscale?.off) {
      autoscaler.start();
      closers.push(() => autoscaler.close());
    }
    const admin = await startAdminServer(opts.adminAddress, opts.tls, { chains, jobs, nodes, events, log: log.child({ part: 'admin' }) });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          // Watchers (ferry events) keep streams open; do not wait on them.
          const force = setTimeout(() => admin.server.forceShutdown(), 2000);
          admin.server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    );
    let metrics: MetricsServer | undefined;
    if (opts.metricsAddress) {
      metrics = await serveMetrics(opts.metricsAddress, metricsRegistry(controlPlaneMetrics(chains, nodes, events, autoscaler), 'ferry_controlplane_'), log.child({ part: 'metrics' }));
      const m = metrics;
      closers.push(() => m.close());
    }
    log.info('control plane ready', { admin: admin.address, gateway: ferryd?.gatewayAddress, mode: ferryd?.info.dataplaneMode, metrics: metrics?.address, ferrydMetrics: ferryd?.metricsAddress || undefined });
    return {
      adminAddress: admin.address,
      gatewayAddress: ferryd?.gatewayAddress,
      ferrydAddress: ferryd?.grpcAddress,
      peerAddress: ferryd?.peerAddress || undefined,
      dataplaneMode: ferryd?.info.dataplaneMode,
      metricsAddress: metrics?.address,
      ferrydMetricsAddress: ferryd?.metricsAddress || undefined,
      close: async () => {
        // Admin first (no new work), then nodes, then the local ferryd.
        for (const c of closers.reverse()) await c();
        await store.close();
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await store.close();
    throw err;
  }
}
