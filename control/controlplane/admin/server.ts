/**
 * The Admin gRPC service over the chain manager and node registry, served
 * over mutual TLS only. Each call is first checked against the caller's
 * certificate (access.ts); each handler maps the manager's failures to a
 * gRPC status whose message says what to fix; an invalid spec also carries
 * its errors as JSON metadata.
 */
import {
  Metadata,
  Server,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Credential } from '../../auth/credential.js';
import { callerOf, serverCredentials } from '../../auth/grpc.js';
import { describeIdentity } from '../../auth/identity.js';
import { ChainSpecErrors } from '../../chain/errors.js';
import type { Logger } from '../../log.js';
import { ChainError, type ChainErrorKind, type ChainManager } from '../chains/manager.js';
import type { ChainRecord } from '../chains/record.js';
import { nodeStatus } from '../chains/status.js';
import { StatusView } from '../chains/status-view.js';
import type { ClusterEvent, EventBus } from '../events.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { JobManager } from '../jobs/manager.js';
import type { JobRecord } from '../jobs/record.js';
import { jobStatus } from '../jobs/status.js';
import { liveInstances } from '../chains/status.js';
import { withEncodedStatus } from './encoded-status.js';
import { AccessDenied, accessOf, applyTenant, chainRef, eventFilter, listedTenant, type Access } from './access.js';
import { adminService, SPEC_ERRORS_METADATA, type AdminEvent, type AdminRequest, type AdminResponse, type AdminRpcName } from './proto.js';

export interface AdminDeps {
  chains: ChainManager;
  /** Absent: the job RPCs answer UNIMPLEMENTED-like UNAVAILABLE. */
  jobs?: JobManager;
  nodes: NodeRegistry;
  events: EventBus;
  log: Logger;
}

const KIND_STATUS: Record<ChainErrorKind, status> = {
  invalid: status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  unplaceable: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  forbidden: status.PERMISSION_DENIED,
};

function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof AccessDenied) return err.status;
  if (err instanceof ChainSpecErrors) {
    const metadata = new Metadata();
    metadata.set(SPEC_ERRORS_METADATA, JSON.stringify(err.errors.map((e) => e.toJSON())));
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (err instanceof ChainError) return { code: KIND_STATUS[err.kind], details: err.message };
  return { code: status.INTERNAL, details: (err as Error).message ?? String(err) };
}

type Unary<K extends AdminRpcName> = (req: AdminRequest<K>, access: Access) => Promise<AdminResponse<K>>;

function unary<K extends AdminRpcName>(name: K, log: Logger, fn: Unary<K>) {
  return (call: ServerUnaryCall<AdminRequest<K>, AdminResponse<K>>, cb: sendUnaryData<AdminResponse<K>>) => {
    const caller = callerOf(call);
    Promise.resolve()
      .then(() => fn(call.request, accessOf(caller, name)))
      .then(
        (res) => cb(null, res),
        (err: unknown) => {
          const se = toServiceError(err);
          const fields = { rpc: name, caller: caller && describeIdentity(caller), code: se.code, error: se.details };
          if (err instanceof AccessDenied) log.warn('admin call refused', { ...fields, peer: call.getPeer() });
          else log.info('admin call failed', fields);
          cb(se);
        },
      );
  };
}

function toAdminEvent(e: ClusterEvent): AdminEvent {
  return {
    timeMs: e.timeMs,
    kind: e.kind,
    chain: e.chain ?? '',
    tenant: e.tenant ?? '',
    node: e.node ?? '',
    instance: e.instance ?? 0,
    message: e.message,
    stage: e.stage ?? '',
    exitCode: e.exitCode ?? 0,
    signal: e.signal ?? '',
  };
}

export function adminImplementation({ chains, jobs, nodes, events, log }: AdminDeps): UntypedServiceImplementation {
  // Reads are served from what is kept; a write answers a status computed after it.
  const view = new StatusView(nodes);
  const statusOf = (r: ChainRecord, fresh = false) => view.status(r, chains.health(r), fresh);
  const jobManager = () => {
    if (!jobs) throw new ChainError('unavailable', 'this control plane runs no job manager');
    return jobs;
  };
  const jobStatusOf = async (r: JobRecord) => jobStatus(r, nodes, await liveInstances(r, nodes), jobs?.health(r));
  return {
    ApplyJob: unary('ApplyJob', log, async (req, access) => {
      if (!req.yaml.trim()) throw new ChainError('invalid', "yaml: empty; send the job file's text");
      if (!req.file) throw new ChainError('invalid', "file: empty; send the job file's absolute path (used in errors)");
      return jobStatusOf(await jobManager().apply(req.yaml, req.file, applyTenant(access, req.tenant)));
    }),
    DeleteJob: unary('DeleteJob', log, async (req, access) => ({ stoppedInstances: await jobManager().delete(chainRef(access, req, 'job')) })),
    ListJobs: unary('ListJobs', log, async (req, access) => {
      const tenant = listedTenant(access, req.tenant);
      if (tenant === null) return { jobs: [] };
      return { jobs: await Promise.all((await jobManager().list(tenant)).map(jobStatusOf)) };
    }),
    GetJob: unary('GetJob', log, async (req, access) => jobStatusOf(await jobManager().get(chainRef(access, req, 'job')))),
    ApplyChain: unary('ApplyChain', log, async (req, access) => {
      if (!req.yaml.trim()) throw new ChainError('invalid', 'yaml: empty; send the chain file\'s text');
      if (!req.file) throw new ChainError('invalid', 'file: empty; send the chain file\'s absolute path (handlers resolve relative to it)');
      return statusOf(await chains.apply(req.yaml, req.file, applyTenant(access, req.tenant)), true);
    }),
    DeleteChain: unary('DeleteChain', log, async (req, access) => ({ stoppedInstances: await chains.delete(chainRef(access, req)) })),
    ListChains: unary('ListChains', log, async (req, access) => {
      const tenant = listedTenant(access, req.tenant);
      if (tenant === null) return { chains: [] };
      const records = await chains.peekList(tenant);
      if (tenant === undefined) view.retain(records.map((r) => r.chainId));
      return { chains: await Promise.all(records.map((r) => statusOf(r))) };
    }),
    GetChain: unary('GetChain', log, async (req, access) => statusOf(await chains.peek(chainRef(access, req)))),
    ScaleStage: unary('ScaleStage', log, async (req, access) => {
      const ref = chainRef(access, req);
      if (!req.stage) throw new ChainError('invalid', 'stage: empty; name the stage (function) to scale');
      return statusOf(await chains.scale(ref, req.stage, req.instances), true);
    }),
    ReplaceInstance: unary('ReplaceInstance', log, async (req, access) => {
      const ref = chainRef(access, req);
      if (!req.instanceId) throw new ChainError('invalid', 'instance_id: empty; name the instance to replace (ferry get instances)');
      return statusOf(await chains.replace(ref, req.instanceId), true);
    }),
    ListNodes: unary('ListNodes', log, async () => ({ nodes: nodes.list().map(nodeStatus) })),
    RegisterNode: unary('RegisterNode', log, async (req) => {
      if (!/^[^:\s]+:\d+$/.test(req.address)) throw new ChainError('invalid', `address: "${req.address}" is not host:port`);
      try {
        return nodeStatus(await nodes.register(req.address, req.labels));
      } catch (err) {
        throw new ChainError('unavailable', (err as Error).message);
      }
    }),
    WatchEvents: (call: ServerWritableStream<AdminRequest<'WatchEvents'>, AdminEvent>) => {
      let wanted: (e: ClusterEvent) => boolean;
      try {
        wanted = eventFilter(accessOf(callerOf(call), 'WatchEvents'), call.request);
      } catch (err) {
        const se = toServiceError(err);
        log.warn('admin call refused', { rpc: 'WatchEvents', peer: call.getPeer(), code: se.code, error: se.details });
        call.emit('error', se);
        return;
      }
      const send = (e: ClusterEvent) => {
        if (wanted(e)) call.write(toAdminEvent(e));
      };
      for (const e of events.history().filter(wanted).slice(-50)) send(e);
      const off = events.subscribe(send);
      call.on('cancelled', off);
      call.on('close', off);
      call.on('error', off);
    },
  };
}

/** Serve the Admin API at address (host:port, port 0 for any) with the
 * control plane's credential; resolves with the bound address. */
export async function startAdminServer(address: string, tls: Credential, deps: AdminDeps): Promise<{ address: string; server: Server }> {
  const server = new Server();
  server.addService(withEncodedStatus(adminService), adminImplementation(deps));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, serverCredentials(tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = address.slice(0, address.lastIndexOf(':'));
  return { address: `${host}:${port}`, server };
}
