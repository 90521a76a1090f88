/**
 * NodeDaemon over grpc-js: each RPC calls the NodeDaemon method of the same
 * name. Whatever a handler throws becomes a status (RpcErrors keep their
 * code, anything else is INTERNAL) so no request can take ferryd down.
 */
import type {
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import type { NodeDaemon } from './node-daemon.js';
import type { InstanceEvent, NodeInfo, NodeStats, RpcName, RpcRequest, RpcResponse, StreamStatsRequest, WatchInstanceEventsRequest } from './proto.js';
import { toServiceError } from './rpc-error.js';
import { StatsSampler } from './stats.js';
import { checkStreamStats } from './validate.js';

type UnaryName = Exclude<RpcName, 'StreamStats' | 'WatchInstanceEvents'>;
type Handler<K extends UnaryName> = (req: RpcRequest<K>) => RpcResponse<K> | Promise<RpcResponse<K>>;

export interface ServiceDeps {
  daemon: NodeDaemon;
  info: () => NodeInfo;
  log: Logger;
  /** Enders of the open StreamStats calls, so closing ferryd can end them
   * (they would otherwise hold the server open forever). */
  streams: Set<() => void>;
}

export function nodeDaemonImplementation(deps: ServiceDeps): UntypedServiceImplementation {
  const { daemon, info, log } = deps;
  const unary =
    <K extends UnaryName>(name: K, handler: Handler<K>) =>
    (call: ServerUnaryCall<RpcRequest<K>, RpcResponse<K>>, callback: sendUnaryData<RpcResponse<K>>) => {
      // Promise.resolve().then: a synchronous throw is handled like a rejection.
      Promise.resolve()
        .then(() => handler(call.request))
        .then(
          (res) => callback(null, res),
          (err: unknown) => {
            const e = toServiceError(err);
            const fields = { rpc: name, code: e.code, error: e.details };
            if (err instanceof Error && err.name === 'RpcError') log.info('request refused', fields);
            else log.error('request failed', { ...fields, stack: (err as Error)?.stack });
            callback(e, null);
          },
        );
    };

  const handlers: { [K in UnaryName]: Handler<K> } = {
    GetNodeInfo: () => info(),
    CreatePool: (r) => daemon.createPool(r),
    DeleteChain: (r) => daemon.deleteChain(r),
    StartInstance: (r) => daemon.startInstance(r),
    StopInstance: (r) => daemon.stopInstance(r),
    ListInstances: (r) => daemon.listInstances(r),
    ProgramChain: (r) => daemon.programChain(r),
    SetPeers: (r) => daemon.setPeers(r),
  };

  const impl: UntypedServiceImplementation = {
    StreamStats: (call: ServerWritableStream<StreamStatsRequest, NodeStats>) => streamStats(call, deps),
    WatchInstanceEvents: (call: ServerWritableStream<WatchInstanceEventsRequest, InstanceEvent>) => watchEvents(call, deps),
  };
  for (const [name, handler] of Object.entries(handlers)) impl[name] = unary(name as UnaryName, handler as Handler<UnaryName>);
  return impl;
}

/** A sample every interval until the client cancels or the server closes. */
function streamStats(call: ServerWritableStream<StreamStatsRequest, NodeStats>, { daemon, info, log, streams }: ServiceDeps): void {
  let intervalMs: number;
  try {
    intervalMs = checkStreamStats(call.request);
  } catch (err) {
    call.emit('error', toServiceError(err));
    return;
  }
  const sampler = new StatsSampler({
    name: info().name,
    instances: () => daemon.supervisor.list(),
    dataPlane: daemon.dataPlane,
    expired: (chainId) => daemon.expiredBuffers(chainId),
    service: (instanceId) => daemon.signals.instance(instanceId),
    gateways: () => daemon.directory.list(),
    balance: () => daemon.balancer.stats(),
    jobs: () => daemon.jobs.list().map((j) => j.stats()),
  });
  const tick = () => {
    try {
      call.write(sampler.sample());
    } catch (err) {
      log.error('stats sample failed', { error: (err as Error).message });
      stop();
      call.emit('error', toServiceError(err));
    }
  };
  const timer = setInterval(tick, intervalMs);
  const stop = keepOpen(call, streams, () => clearInterval(timer));
}

/** Keep a server stream open until the client cancels or ferryd closes
 * (which ends it); cleanup runs once either way. Returns the stopper. */
function keepOpen(call: ServerWritableStream<unknown, unknown>, streams: Set<() => void>, cleanup: () => void): () => void {
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    cleanup();
    streams.delete(end);
  };
  const end = () => {
    stop();
    call.end();
  };
  streams.add(end);
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
  return stop;
}

/** What ferryd still remembers after after_seq, then every event as it
 * happens, until the client cancels or the server closes. */
function watchEvents(call: ServerWritableStream<WatchInstanceEventsRequest, InstanceEvent>, { daemon, streams }: ServiceDeps): void {
  const after = Number(call.request.afterSeq) || 0;
  for (const e of daemon.events.since(after)) call.write(e);
  keepOpen(call, streams, daemon.events.watch((e) => call.write(e)));
}
