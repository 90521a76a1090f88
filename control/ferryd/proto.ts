/**
 * The NodeDaemon contract (control/proto/ferry/node/v1/node.proto) as
 * grpc-js sees it. The message and enum types are generated from the .proto
 * file (scripts/gen-proto-types.sh, at every build, into control/proto/gen/,
 * which is not committed); this module re-exports them under the names the
 * code uses, and is what every importer imports.
 *
 * Loader options are fixed here so both ends agree: camelCase fields,
 * uint64 as JS numbers (counters stay far below 2^53), enums as their
 * names, and every field present on what is received (defaults: true), so
 * handlers never meet `undefined` for a scalar. Message fields that were not
 * sent arrive as null. The generator runs with the same options, so each
 * type below is the "__Output" type: a message as received.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import type { NodeDaemonDefinition } from '../proto/gen/ferry/node/v1/NodeDaemon.js';

export const NODE_PROTO_PATH = join(repoRoot, 'control/proto/ferry/node/v1/node.proto');
export const NODE_SERVICE_NAME = 'ferry.node.v1.NodeDaemon';

/** Keep in step with the generator's flags in scripts/gen-proto-types.sh. */
export const LOADER_OPTIONS: Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

// ---- messages (as received: every field present, unset messages null) ----

export type { GetNodeInfoRequest__Output as GetNodeInfoRequest } from '../proto/gen/ferry/node/v1/GetNodeInfoRequest.js';
export type { NodeInfo__Output as NodeInfo } from '../proto/gen/ferry/node/v1/NodeInfo.js';
export type { SizeClass__Output as SizeClass } from '../proto/gen/ferry/node/v1/SizeClass.js';
export type { CreatePoolRequest__Output as CreatePoolRequest } from '../proto/gen/ferry/node/v1/CreatePoolRequest.js';
export type { CreatePoolResponse__Output as CreatePoolResponse } from '../proto/gen/ferry/node/v1/CreatePoolResponse.js';
export type { DeleteChainRequest__Output as DeleteChainRequest } from '../proto/gen/ferry/node/v1/DeleteChainRequest.js';
export type { DeleteChainResponse__Output as DeleteChainResponse } from '../proto/gen/ferry/node/v1/DeleteChainResponse.js';
export type { StageRef__Output as StageRef } from '../proto/gen/ferry/node/v1/StageRef.js';
export type { StartInstanceRequest__Output as StartInstanceRequest } from '../proto/gen/ferry/node/v1/StartInstanceRequest.js';
export type { Resources__Output as Resources } from '../proto/gen/ferry/node/v1/Resources.js';
export type { InstanceStatus__Output as InstanceStatus } from '../proto/gen/ferry/node/v1/InstanceStatus.js';
export type { StopInstanceRequest__Output as StopInstanceRequest } from '../proto/gen/ferry/node/v1/StopInstanceRequest.js';
export type { ListInstancesRequest__Output as ListInstancesRequest } from '../proto/gen/ferry/node/v1/ListInstancesRequest.js';
export type { ListInstancesResponse__Output as ListInstancesResponse } from '../proto/gen/ferry/node/v1/ListInstancesResponse.js';
export type { RouteTarget__Output as RouteTarget } from '../proto/gen/ferry/node/v1/RouteTarget.js';
export type { BalancePolicy__Output as BalancePolicy } from '../proto/gen/ferry/node/v1/BalancePolicy.js';
export type { StageRoute__Output as StageRoute } from '../proto/gen/ferry/node/v1/StageRoute.js';
export type { AllowEdge__Output as AllowEdge } from '../proto/gen/ferry/node/v1/AllowEdge.js';
export type { GatewayConfig__Output as GatewayConfig } from '../proto/gen/ferry/node/v1/GatewayConfig.js';
export type { IdleStage__Output as IdleStage } from '../proto/gen/ferry/node/v1/IdleStage.js';
export type { RemoteGateway__Output as RemoteGateway } from '../proto/gen/ferry/node/v1/RemoteGateway.js';
export type { ProgramChainRequest__Output as ProgramChainRequest } from '../proto/gen/ferry/node/v1/ProgramChainRequest.js';
export type { JobConfig__Output as JobConfig } from '../proto/gen/ferry/node/v1/JobConfig.js';
export type { JobStats__Output as JobStats } from '../proto/gen/ferry/node/v1/JobStats.js';
export type { ProgramChainResponse__Output as ProgramChainResponse } from '../proto/gen/ferry/node/v1/ProgramChainResponse.js';
export type { StreamStatsRequest__Output as StreamStatsRequest } from '../proto/gen/ferry/node/v1/StreamStatsRequest.js';
export type { InstanceStats__Output as InstanceStats } from '../proto/gen/ferry/node/v1/InstanceStats.js';
export type { Histogram__Output as HistogramMsg } from '../proto/gen/ferry/node/v1/Histogram.js';
export type { GatewayStats__Output as GatewayStats } from '../proto/gen/ferry/node/v1/GatewayStats.js';
export type { PoolClassStats__Output as PoolClassStats } from '../proto/gen/ferry/node/v1/PoolClassStats.js';
export type { PoolStats__Output as PoolStats } from '../proto/gen/ferry/node/v1/PoolStats.js';
export type { NodeStats__Output as NodeStats } from '../proto/gen/ferry/node/v1/NodeStats.js';
export type { TargetWeight__Output as TargetWeight } from '../proto/gen/ferry/node/v1/TargetWeight.js';
export type { StageBalance__Output as StageBalance } from '../proto/gen/ferry/node/v1/StageBalance.js';
export type { Peer__Output as Peer } from '../proto/gen/ferry/node/v1/Peer.js';
export type { SetPeersRequest__Output as SetPeersRequest } from '../proto/gen/ferry/node/v1/SetPeersRequest.js';
export type { SetPeersResponse__Output as SetPeersResponse } from '../proto/gen/ferry/node/v1/SetPeersResponse.js';
export type { WatchInstanceEventsRequest__Output as WatchInstanceEventsRequest } from '../proto/gen/ferry/node/v1/WatchInstanceEventsRequest.js';
export type { InstanceEvent__Output as InstanceEvent } from '../proto/gen/ferry/node/v1/InstanceEvent.js';

// Enums. An enum value this file does not know arrives as its number
// (protobufjs keeps it), which the generated unions do not say: checks of a
// received enum (validate.ts) must still refuse anything else.
export type { RestartPolicy__Output as RestartPolicy } from '../proto/gen/ferry/node/v1/RestartPolicy.js';
export type { InstanceState__Output as InstanceState } from '../proto/gen/ferry/node/v1/InstanceState.js';

/** InstanceEvent.kind is a string on the wire; these are the kinds this
 * ferryd sends. A receiver may meet others (a newer ferryd's). */
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
  | 'stopped'
  /** Not an instance's: the gateway holds requests for an idle stage. */
  | 'demand'
  /** Not an instance's: an aggregation job's round closed under quorum
   * (its model carried forward), or its last round was sealed. */
  | 'round-failed'
  | 'job-done';

// ---- the service ----

/** The rpc names of a generated service definition, without the index
 * signature grpc-js's ServiceDefinition gives it. */
export type RpcNamesOf<D> = keyof { [K in keyof D as string extends K ? never : number extends K ? never : K]: D[K] } & string;

export type RpcName = RpcNamesOf<NodeDaemonDefinition>;
// Every rpc of the .proto, for the start-up check below: a Record so that an
// rpc added to the file and not here fails to compile.
const RPCS: Record<RpcName, true> = {
  GetNodeInfo: true,
  CreatePool: true,
  DeleteChain: true,
  StartInstance: true,
  StopInstance: true,
  ListInstances: true,
  ProgramChain: true,
  StreamStats: true,
  SetPeers: true,
  WatchInstanceEvents: true,
};
type Method<K extends RpcName> = NodeDaemonDefinition[K];
/** A request as received (what a handler gets): every field present. */
export type RpcRequest<K extends RpcName> = ReturnType<Method<K>['requestDeserialize']>;
/** A request as sent: any field may be left out, at any depth (proto3
 * defaults it); 64-bit fields may also be strings or Longs. */
export type RpcInput<K extends RpcName> = Parameters<Method<K>['requestSerialize']>[0];
/** A response as received (and as ferryd's handlers build it: complete). */
export type RpcResponse<K extends RpcName> = ReturnType<Method<K>['responseDeserialize']>;

function loadService(): ServiceDefinition {
  const pkg = loadSync(NODE_PROTO_PATH, LOADER_OPTIONS);
  const def = pkg[NODE_SERVICE_NAME];
  if (!def || 'format' in def) throw new Error(`${NODE_PROTO_PATH} defines no service ${NODE_SERVICE_NAME}`);
  // The file and this module must agree; say so at start-up, not mid-call.
  for (const name of Object.keys(RPCS)) if (!(name in def)) throw new Error(`${NODE_PROTO_PATH}: ${NODE_SERVICE_NAME} has no rpc ${name}`);
  return def as ServiceDefinition;
}

/** What grpc-js Server.addService takes. */
export const nodeDaemonService: ServiceDefinition = loadService();

/** One RPC's wire codec, typed: requests may leave fields out (proto3
 * defaults them), responses arrive complete. */
export interface RpcCodec<K extends RpcName> {
  path: string;
  serialize(req: RpcInput<K>): Buffer;
  deserialize(buf: Buffer): RpcResponse<K>;
}

export function rpcCodec<K extends RpcName>(name: K): RpcCodec<K> {
  const m = nodeDaemonService[name] as unknown as MethodDefinition<object, object>;
  return {
    path: m.path,
    serialize: (req) => m.requestSerialize(req),
    // The loader fills every field (defaults: true), which is the generated
    // __Output shape.
    deserialize: (buf) => m.responseDeserialize(buf) as RpcResponse<K>,
  };
}
