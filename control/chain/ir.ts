/**
 * The compiled form of a chain: what the compiler produces from YAML and
 * what placement, ferryd and the gateway consume. Stage ids are dense
 * (0..n-1, in file order) and are the `stage` field of descriptors.
 */
import type { BalanceSpec } from '../balance/registry.js';
import type { JobIR } from '../fl/job/ir.js';

export type RuntimeKind = 'node' | 'native';
export type Arch = 'amd64' | 'arm64';

export interface StageIR {
  id: number;
  name: string;
  runtime: RuntimeKind;
  /** Absolute path: a module for node, a shared object for native. */
  handler: string;
  archs: Arch[];
  /** pids absent: the node's default. */
  resources: { cpuMilli: number; memoryMb: number; pids?: number };
  scale: { min: number; max: number };
  /** Allowed next stages, by name and id; empty = replies to the caller. */
  next: { name: string; id: number }[];
  /** Optional data-affinity labels (e.g. { bucket: 'frames' }). */
  data: Record<string, string>;
  /** How its traffic is split among its instances; absent: the cluster's
   * default (control/balance/). */
  balance?: BalanceSpec;
}

export interface ChainIR {
  name: string;
  tenant: string;
  /** Entry stage id. */
  entry: number;
  /** Every stage the gateway may inject into, when more than the entry
   * (an aggregation job's leaves); absent: the entry alone. */
  entries?: number[];
  slo?: { p99Ms: number };
  /** The autoscaling policy the chain chose (spec.scale.policy), its
   * parameters as written; absent: the cluster's default
   * (controlplane/autoscale/registry.ts choiceFor). */
  scalePolicy?: { name: string; params: Record<string, number> };
  /** Largest request body the gateway accepts for this chain. */
  maxBodyBytes: number;
  /** Per-stage timeout the gateway applies to a whole request. */
  timeoutMs: number;
  /** How long a client may take to send a whole body. */
  bodyTimeoutMs: number;
  /** While a stage is scaled to zero, the most requests each gateway holds
   * for it and how long each may wait; absent: ferryd's defaults (1000,
   * timeoutMs). */
  holdRequests?: number;
  holdTimeoutMs?: number;
  /** The chain's pool quota on each node it runs on. */
  poolBytes: number;
  /** Buffer sizes asked for; absent: derived from maxBodyBytes. */
  sizeClasses?: number[];
  stages: StageIR[];
  /** Where it came from, for messages. */
  source: { file: string };
  /** Present: the chain is an aggregation job's aggregator tree
   * (control/fl/job/compile.ts), deployed with a JobConfig per node. */
  job?: JobIR;
}

/** Edges the router must allow, as [fromStage, toStage]; STAGE_REPLY
 * (0xffff) stands for the gateway on either side. */
export type AllowEdge = [number, number];

/** One stage's route on one node: the instances and their weights. A
 * target with a node lives on that other node (ferryd forwards to it through
 * its peer link); without one it is local. */
export interface StageRoute {
  stage: number;
  targets: { instance: number; weight: number; node?: string }[];
}
