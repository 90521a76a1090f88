/**
 * The Admin contract (control/proto/ferry/admin/v1/admin.proto) as grpc-js
 * sees it. The message types are generated from the .proto file
 * (scripts/gen-proto-types.sh, at every build, into control/proto/gen/);
 * this module re-exports them under the names the code uses. Loader options
 * match ferryd's (control/ferryd/proto.ts): camelCase, uint64 as numbers,
 * every field present on what is received, messages not sent null.
 */
import { loadPackageDefinition, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { LOADER_OPTIONS, type RpcNamesOf } from '../../ferryd/proto.js';
import { repoRoot } from '../../paths.js';
import type { AdminDefinition } from '../../proto/gen/ferry/admin/v1/Admin.js';
import type { GetChainRequest__Output } from '../../proto/gen/ferry/admin/v1/GetChainRequest.js';

export const ADMIN_PROTO_PATH = join(repoRoot, 'control/proto/ferry/admin/v1/admin.proto');
export const ADMIN_SERVICE_NAME = 'ferry.admin.v1.Admin';
/** Trailing metadata of an INVALID_ARGUMENT ApplyChain: the spec errors as
 * JSON (an array of SpecError). */
export const SPEC_ERRORS_METADATA = 'ferry-spec-errors';

// ---- messages (as received: every field present) ----

export type { SpecError__Output as SpecError } from '../../proto/gen/ferry/admin/v1/SpecError.js';
export type { ApplyChainRequest__Output as ApplyChainRequest } from '../../proto/gen/ferry/admin/v1/ApplyChainRequest.js';
export type { DeleteChainRequest__Output as DeleteChainRequest } from '../../proto/gen/ferry/admin/v1/DeleteChainRequest.js';
export type { DeleteChainResponse__Output as DeleteChainResponse } from '../../proto/gen/ferry/admin/v1/DeleteChainResponse.js';
export type { ListChainsRequest__Output as ListChainsRequest } from '../../proto/gen/ferry/admin/v1/ListChainsRequest.js';
export type { ListChainsResponse__Output as ListChainsResponse } from '../../proto/gen/ferry/admin/v1/ListChainsResponse.js';
export type { GetChainRequest__Output as GetChainRequest } from '../../proto/gen/ferry/admin/v1/GetChainRequest.js';
export type { ScaleStageRequest__Output as ScaleStageRequest } from '../../proto/gen/ferry/admin/v1/ScaleStageRequest.js';
export type { ReplaceInstanceRequest__Output as ReplaceInstanceRequest } from '../../proto/gen/ferry/admin/v1/ReplaceInstanceRequest.js';
export type { InstanceInfo__Output as InstanceInfo } from '../../proto/gen/ferry/admin/v1/InstanceInfo.js';
export type { PoolClassStatus__Output as PoolClassStatus } from '../../proto/gen/ferry/admin/v1/PoolClassStatus.js';
export type { PoolStatus__Output as PoolStatus } from '../../proto/gen/ferry/admin/v1/PoolStatus.js';
export type { StageStatus__Output as StageStatus } from '../../proto/gen/ferry/admin/v1/StageStatus.js';
export type { ChainStatus__Output as ChainStatus } from '../../proto/gen/ferry/admin/v1/ChainStatus.js';
export type { ListNodesRequest__Output as ListNodesRequest } from '../../proto/gen/ferry/admin/v1/ListNodesRequest.js';
export type { NodeStatus__Output as NodeStatus } from '../../proto/gen/ferry/admin/v1/NodeStatus.js';
export type { RegisterNodeRequest__Output as RegisterNodeRequest } from '../../proto/gen/ferry/admin/v1/RegisterNodeRequest.js';
export type { ListNodesResponse__Output as ListNodesResponse } from '../../proto/gen/ferry/admin/v1/ListNodesResponse.js';
export type { WatchEventsRequest__Output as WatchEventsRequest } from '../../proto/gen/ferry/admin/v1/WatchEventsRequest.js';
export type { Event__Output as AdminEvent } from '../../proto/gen/ferry/admin/v1/Event.js';
export type { JobStatus__Output as JobStatus } from '../../proto/gen/ferry/admin/v1/JobStatus.js';
export type { AggregatorInfo__Output as AggregatorInfo } from '../../proto/gen/ferry/admin/v1/AggregatorInfo.js';

/** A request naming a chain (DeleteChain, GetChain, ScaleStage,
 * ReplaceInstance): tenant '' means the caller's own (or default). */
export type ChainNameRequest = Pick<GetChainRequest__Output, 'name' | 'tenant'>;

/** ChainStatus.state is a string on the wire; these are the states the
 * control plane reports. */
export type ChainState = 'RUNNING' | 'DEGRADED' | 'RESTORING' | 'FAILED';

// ---- the service ----

export type AdminRpcName = RpcNamesOf<AdminDefinition>;
type Method<K extends AdminRpcName> = AdminDefinition[K];
/** A request as the server receives it: every field present. */
export type AdminRequest<K extends AdminRpcName> = ReturnType<Method<K>['requestDeserialize']>;
/** A request as a client sends it: any field may be left out. */
export type AdminInput<K extends AdminRpcName> = Parameters<Method<K>['requestSerialize']>[0];
/** A response as received (and as the server builds it: complete). */
export type AdminResponse<K extends AdminRpcName> = ReturnType<Method<K>['responseDeserialize']>;

const pkg = loadPackageDefinition(loadSync(ADMIN_PROTO_PATH, LOADER_OPTIONS)) as unknown as {
  ferry: { admin: { v1: { Admin: ServiceClientConstructor } } };
};

/** The client constructor (for connectAdmin) and the definition (for Server.addService). */
export const AdminClientCtor: ServiceClientConstructor = pkg.ferry.admin.v1.Admin;
export const adminService: ServiceDefinition = AdminClientCtor.service;
