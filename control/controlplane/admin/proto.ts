/**
 * The Admin contract (control/proto/ferry/admin/v1/admin.proto) as grpc-js
 * sees it, with TypeScript shapes for its messages. Loader options match
 * ferryd's (control/ferryd/proto.ts): camelCase, uint64 as numbers, every
 * field present on what is received.
 */
import { loadPackageDefinition, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { LOADER_OPTIONS } from '../../ferryd/proto.js';
import { repoRoot } from '../../paths.js';

export const ADMIN_PROTO_PATH = join(repoRoot, 'control/proto/ferry/admin/v1/admin.proto');
export const ADMIN_SERVICE_NAME = 'ferry.admin.v1.Admin';
/** Trailing metadata of an INVALID_ARGUMENT ApplyChain: the spec errors as JSON. */
export const SPEC_ERRORS_METADATA = 'ferry-spec-errors';

export interface SpecError {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface ApplyChainRequest {
  yaml: string;
  file: string;
  /** Optional on the wire (proto3 fills in ''). */
  tenant?: string;
}

/** A request naming a chain: tenant '' means the caller's own (or default). */
export interface ChainNameRequest {
  name: string;
  tenant?: string;
}

export interface ScaleStageRequest extends ChainNameRequest {
  stage: string;
  instances: number;
}

export interface ReplaceInstanceRequest extends ChainNameRequest {
  instanceId: number;
}

export interface InstanceInfo {
  id: number;
  node: string;
  pid: number;
  state: string;
  restarts: number;
  weight: number;
  ready: boolean;
  lastError: string;
  restartInMs: number;
  version: string;
}

export interface PoolClassStatus {
  size: number;
  capacity: number;
  inUse: number;
  maxCount: number;
}

export interface PoolStatus {
  node: string;
  quotaBytes: number;
  capacityBytes: number;
  inUseBytes: number;
  allocFailures: number;
  expired: number;
  classes: PoolClassStatus[];
}

export interface StageStatus {
  name: string;
  id: number;
  runtime: string;
  next: string[];
  instances: InstanceInfo[];
  rxPerSec: number;
  rxMsgs: number;
  drops: number;
  serviceP50Ms: number;
  serviceP99Ms: number;
  inFlight: number;
  completionsPerSec: number;
}

export interface ChainStatus {
  name: string;
  tenant: string;
  chainId: number;
  entry: string;
  stages: StageStatus[];
  sourceFile: string;
  appliedAtMs: number;
  generation: number;
  endpoints: string[];
  state: ChainState;
  /** Why it is not RUNNING; '' when it is. */
  reason: string;
  pools: PoolStatus[];
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export type ChainState = 'RUNNING' | 'DEGRADED' | 'RESTORING' | 'FAILED';

export interface NodeStatus {
  name: string;
  address: string;
  gatewayAddress: string;
  archs: string[];
  cpus: number;
  memoryBytes: number;
  dataplaneMode: string;
  ready: boolean;
  cpuBusy: number;
  instances: number;
  labels: Record<string, string>;
  peerAddress: string;
  sandbox: string;
}

export interface AdminEvent {
  timeMs: number;
  kind: string;
  chain: string;
  node: string;
  instance: number;
  message: string;
  tenant: string;
  stage: string;
  exitCode: number;
  signal: string;
}

export interface AdminRpcs {
  ApplyChain: [ApplyChainRequest, ChainStatus];
  DeleteChain: [ChainNameRequest, { stoppedInstances: number }];
  ListChains: [{ tenant?: string }, { chains: ChainStatus[] }];
  GetChain: [ChainNameRequest, ChainStatus];
  ListNodes: [Record<string, never>, { nodes: NodeStatus[] }];
  RegisterNode: [{ address: string; labels: Record<string, string> }, NodeStatus];
  WatchEvents: [{ chain: string; tenant?: string }, AdminEvent];
  ScaleStage: [ScaleStageRequest, ChainStatus];
  ReplaceInstance: [ReplaceInstanceRequest, ChainStatus];
}
export type AdminRpcName = keyof AdminRpcs;

const pkg = loadPackageDefinition(loadSync(ADMIN_PROTO_PATH, LOADER_OPTIONS)) as unknown as {
  ferry: { admin: { v1: { Admin: ServiceClientConstructor } } };
};

/** The client constructor (for connectAdmin) and the definition (for Server.addService). */
export const AdminClientCtor: ServiceClientConstructor = pkg.ferry.admin.v1.Admin;
export const adminService: ServiceDefinition = AdminClientCtor.service;
