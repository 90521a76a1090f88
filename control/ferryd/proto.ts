/**
 * The NodeDaemon contract (control/proto/ferry/node/v1/node.proto) as
 * grpc-js sees it, with TypeScript shapes for its messages.
 *
 * Loader options are fixed here so both ends agree: camelCase fields,
 * uint64 as JS numbers (counters stay far below 2^53), enums as their
 * names, and every field present on what is received (defaults: true), so
 * handlers never meet `undefined` for a scalar. Message fields that were not
 * sent arrive as null.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

export const NODE_PROTO_PATH = join(repoRoot, 'control/proto/ferry/node/v1/node.proto');
export const NODE_SERVICE_NAME = 'ferry.node.v1.NodeDaemon';

export const LOADER_OPTIONS: Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

// ---- messages (as received: every field present) ----

export type RestartPolicy = 'RESTART_ALWAYS' | 'RESTART_NEVER';
export type InstanceState = 'STATE_UNKNOWN' | 'STARTING' | 'RUNNING' | 'DRAINING' | 'EXITED' | 'CRASHED' | 'RESTARTING' | 'CRASH_LOOP';

export type GetNodeInfoRequest = Record<string, never>;

export interface NodeInfo {
  name: string;
  archs: string[];
  cpus: number;
  memoryBytes: number;
  dataplaneMode: string;
  dataplaneDetail: string;
  gatewayAddress: string;
  peerAddress: string;
  version: string;
  sandbox: string;
  startedAtMs: number;
}

export interface SizeClass {
  size: number;
  count: number;
}

export interface CreatePoolRequest {
  chainId: number;
  chainName: string;
  tenant: string;
  classes: SizeClass[];
  quotaBytes: number;
  maxBodyBytes: number;
  lifetimeMs: number;
}

export interface CreatePoolResponse {
  poolBytes: number;
  classes: SizeClass[];
  quotaBytes: number;
}

export interface DeleteChainRequest {
  chainId: number;
}

export interface DeleteChainResponse {
  stoppedInstances: number;
}

export interface StageRef {
  name: string;
  id: number;
}

export interface StartInstanceRequest {
  chainId: number;
  instanceId: number;
  stage: number;
  stageName: string;
  runtime: string;
  handler: string;
  next: StageRef[];
  env: Record<string, string>;
  /** A number when the sender used a value this file does not know. */
  restart: RestartPolicy | number;
  tenant: string;
  /** null when not sent. */
  resources: Resources | null;
}

export interface Resources {
  cpuMilli: number;
  memoryMb: number;
  pids: number;
}

export interface InstanceStatus {
  instanceId: number;
  chainId: number;
  stage: number;
  stageName: string;
  pid: number;
  state: InstanceState;
  restarts: number;
  lastError: string;
  ready: boolean;
  restartInMs: number;
}

export interface StopInstanceRequest {
  instanceId: number;
  drainTimeoutMs: number;
}

export interface ListInstancesRequest {
  chainId: number;
}

export interface ListInstancesResponse {
  instances: InstanceStatus[];
}

export interface RouteTarget {
  instance: number;
  weight: number;
  /** '' (or this node's name): local; else the node the instance runs on. */
  node: string;
}

export interface StageRoute {
  stage: number;
  targets: RouteTarget[];
}

export interface AllowEdge {
  fromStage: number;
  toStage: number;
}

export interface GatewayConfig {
  chainName: string;
  entryStage: number;
  maxBodyBytes: number;
  timeoutMs: number;
  gatewayInstanceId: number;
  bodyTimeoutMs: number;
}

export interface RemoteGateway {
  instance: number;
  node: string;
}

export interface ProgramChainRequest {
  chainId: number;
  routes: StageRoute[];
  allow: AllowEdge[];
  /** null: the chain is not served by this node's gateway. */
  gateway: GatewayConfig | null;
  remoteGateways: RemoteGateway[];
}

export type ProgramChainResponse = Record<string, never>;

export interface StreamStatsRequest {
  intervalMs: number;
}

export interface InstanceStats {
  instanceId: number;
  chainId: number;
  stage: number;
  rxMsgs: number;
  rxBytes: number;
  txMsgs: number;
  txBytes: number;
  drops: Record<string, number>;
  pid: number;
  cpuTicks: number;
  rssBytes: number;
  state: InstanceState;
  completions: number;
  serviceTime: HistogramMsg;
  inFlight: number;
  ready: boolean;
}

/** A sparse cumulative histogram on the wire (control/metrics/histogram.ts). */
export interface HistogramMsg {
  buckets: number[];
  counts: number[];
  sumUs: number;
}

export interface GatewayStats {
  chainId: number;
  chain: string;
  tenant: string;
  /** "200", "504 timeout", ... -> count. */
  responses: Record<string, number>;
  latency: HistogramMsg;
}

export interface PoolClassStats {
  size: number;
  capacity: number;
  inUse: number;
  maxCount: number;
  misses: number;
}

export interface PoolStats {
  chainId: number;
  inUse: number;
  buffers: number;
  allocFailures: number;
  classes: PoolClassStats[];
  quotaBytes: number;
  capacityBytes: number;
  inUseBytes: number;
  tenant: string;
  expired: number;
}

export interface NodeStats {
  node: string;
  timeMs: number;
  loadavg: number[];
  cpuBusy: number;
  memoryTotalBytes: number;
  memoryAvailableBytes: number;
  instances: InstanceStats[];
  pools: PoolStats[];
  gateways: GatewayStats[];
}

export interface Peer {
  name: string;
  address: string;
}

export interface SetPeersRequest {
  peers: Peer[];
  infraIdBase: number;
  infraIdCount: number;
}

export interface SetPeersResponse {
  connected: string[];
}

export interface WatchInstanceEventsRequest {
  afterSeq: number;
}

export type InstanceEventKind =
  | 'started'
  | 'ready'
  | 'exited'
  | 'crashed'
  | 'oom-killed'
  | 'stuck-killed'
  | 'start-failed'
  | 'restarting'
  | 'crash-loop'
  | 'stopped';

export interface InstanceEvent {
  seq: number;
  timeMs: number;
  kind: InstanceEventKind;
  instanceId: number;
  chainId: number;
  stage: number;
  stageName: string;
  pid: number;
  exitCode: number;
  signal: string;
  restarts: number;
  backoffMs: number;
  message: string;
}

// ---- the service ----

/** Request and response of every RPC, keyed by the name in the .proto. */
export interface NodeDaemonRpcs {
  GetNodeInfo: [GetNodeInfoRequest, NodeInfo];
  CreatePool: [CreatePoolRequest, CreatePoolResponse];
  DeleteChain: [DeleteChainRequest, DeleteChainResponse];
  StartInstance: [StartInstanceRequest, InstanceStatus];
  StopInstance: [StopInstanceRequest, InstanceStatus];
  ListInstances: [ListInstancesRequest, ListInstancesResponse];
  ProgramChain: [ProgramChainRequest, ProgramChainResponse];
  StreamStats: [StreamStatsRequest, NodeStats];
  SetPeers: [SetPeersRequest, SetPeersResponse];
  WatchInstanceEvents: [WatchInstanceEventsRequest, InstanceEvent];
}
export type RpcName = keyof NodeDaemonRpcs;
export type RpcRequest<K extends RpcName> = NodeDaemonRpcs[K][0];
export type RpcResponse<K extends RpcName> = NodeDaemonRpcs[K][1];

const RPC_NAMES: RpcName[] = [
  'GetNodeInfo',
  'CreatePool',
  'DeleteChain',
  'StartInstance',
  'StopInstance',
  'ListInstances',
  'ProgramChain',
  'StreamStats',
  'SetPeers',
  'WatchInstanceEvents',
];

function loadService(): ServiceDefinition {
  const pkg = loadSync(NODE_PROTO_PATH, LOADER_OPTIONS);
  const def = pkg[NODE_SERVICE_NAME];
  if (!def || 'format' in def) throw new Error(`${NODE_PROTO_PATH} defines no service ${NODE_SERVICE_NAME}`);
  // The file and this module must agree; say so at start-up, not mid-call.
  for (const name of RPC_NAMES) if (!(name in def)) throw new Error(`${NODE_PROTO_PATH}: ${NODE_SERVICE_NAME} has no rpc ${name}`);
  return def as ServiceDefinition;
}

/** What grpc-js Server.addService takes. */
export const nodeDaemonService: ServiceDefinition = loadService();

/** A message as sent: any field may be left out, at any depth (proto3
 * defaults it). */
export type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [P in keyof T]?: DeepPartial<T[P]> } : T;

/** One RPC's wire codec, typed: requests may leave fields out (proto3
 * defaults them), responses arrive complete. */
export interface RpcCodec<K extends RpcName> {
  path: string;
  serialize(req: DeepPartial<RpcRequest<K>>): Buffer;
  deserialize(buf: Buffer): RpcResponse<K>;
}

export function rpcCodec<K extends RpcName>(name: K): RpcCodec<K> {
  const m = nodeDaemonService[name] as unknown as MethodDefinition<object, object>;
  return {
    path: m.path,
    serialize: (req) => m.requestSerialize(req),
    // The loader fills every field (defaults: true), which is the shape above.
    deserialize: (buf) => m.responseDeserialize(buf) as RpcResponse<K>,
  };
}
