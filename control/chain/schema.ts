/**
 * The chain spec's shape: a JSON Schema (checked by ajv, strict mode) and the
 * TypeScript type of a document that passed it. Every object is closed
 * (additionalProperties: false) so a misspelt field is an error rather than
 * silently ignored; cross-field rules (entry exists, no cycles, min <= max,
 * CPU quantities, handler files) live in compile.ts.
 *
 * Leaf schemas may carry a `description`: the error mapper uses it as the
 * "expected ..." phrase, so it is written as a noun phrase for users.
 */
import type { Arch, RuntimeKind } from './ir.js';
import { CPU_EXPECTED } from './resources.js';

export const API_VERSION = 'ferry.dev/v1';
export const KIND = 'Chain';

/** Chain, tenant and function names: DNS-label-like so they can appear in
 * metric labels, pool names and Kubernetes objects unchanged. */
export const NAME_PATTERN = '^[a-z][a-z0-9-]{0,62}$';

/** Largest body any chain may accept: the largest pool size class (4 MiB,
 * DEFAULT_SIZE_CLASSES in control/node/dataplane.ts). A body must fit in one
 * buffer because payloads are never split across buffers. */
export const MAX_BODY_BYTES_LIMIT = 4 << 20;
/** At most this many instances per stage: a route entry holds 16 targets
 * (FERRY_MAX_REPLICAS in dataplane-native/include/ferry/abi.h). */
export const MAX_SCALE = 16;
/** Stage ids are 16-bit in the descriptor and 0xffff means "the gateway". */
export const MAX_FUNCTIONS = 0xffff;

/** Most a chain's pool may hold on one node (validate.ts MAX_POOL_QUOTA). */
export const MAX_POOL_BYTES = 2 ** 31;
/** Smallest pool quota a chain may ask for. */
export const MIN_POOL_BYTES = 1 << 20;

export const DEFAULTS = {
  maxBodyBytes: 1 << 20,
  timeoutMs: 10_000,
  /** A chain's pool quota on each node it runs on. */
  poolBytes: 64 << 20,
  bodyTimeoutMs: 10_000,
  archs: ['amd64', 'arm64'] as Arch[],
  resources: { cpuMilli: 250, memoryMb: 128 },
  scale: { min: 1, max: 1 },
} as const;

export interface FunctionSpec {
  name: string;
  runtime: RuntimeKind;
  handler: string;
  archs?: Arch[];
  resources?: { cpu?: string | number; memoryMb?: number; pids?: number };
  scale?: { min?: number; max?: number };
  next?: string[];
  data?: Record<string, string>;
  /** A policy's name, or { policy: NAME, key?: {...}, ...parameters }. */
  balance?: string | ({ policy?: unknown; key?: unknown } & Record<string, unknown>);
}

export interface ChainSpec {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  /** tenant: absent means "default" (chain/tenant.ts). */
  metadata: { name: string; tenant?: string };
  spec: {
    entry: string;
    slo?: { p99Ms: number };
    /** policy: a name, or { name, params }; checked in compile.ts against
     * the autoscaling registry. */
    scale?: { policy?: unknown };
    limits?: {
      maxBodyBytes?: number;
      timeoutMs?: number;
      bodyTimeoutMs?: number;
      poolBytes?: number;
      sizeClasses?: number[];
      holdRequests?: number;
      holdTimeoutMs?: number;
    };
    functions: FunctionSpec[];
  };
}

const name = {
  type: 'string',
  pattern: NAME_PATTERN,
  description: "a name of lowercase letters, digits and '-', starting with a letter, at most 63 characters",
} as const;

const functionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'runtime', 'handler'],
  properties: {
    name,
    runtime: { type: 'string', enum: ['node', 'native'] },
    handler: { type: 'string', minLength: 1, description: 'a path to the handler, relative to this file' },
    archs: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: ['amd64', 'arm64'] },
    },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // The quantity itself ("500m", 0.5, "2") is parsed in compile.ts,
        // which can say precisely what is wrong with it.
        cpu: { type: ['string', 'number'], description: CPU_EXPECTED },
        memoryMb: { type: 'integer', minimum: 1 },
        // Processes and threads the instance may have at once (its cgroup's
        // pids.max); absent: the node's default (64).
        pids: { type: 'integer', minimum: 1, maximum: 4194304 },
      },
    },
    scale: {
      type: 'object',
      additionalProperties: false,
      properties: {
        min: { type: 'integer', minimum: 0, maximum: MAX_SCALE },
        max: { type: 'integer', minimum: 1, maximum: MAX_SCALE },
      },
    },
    // Names are checked against the functions in compile.ts ("unknown stage").
    next: { type: 'array', uniqueItems: true, items: { type: 'string', description: 'a function name' } },
    data: {
      type: 'object',
      additionalProperties: { type: 'string', description: 'a string label value (quote numbers: "3")' },
    },
    // How the stage's traffic is split among its instances; the policy
    // and its parameters are checked in compile.ts (control/balance/),
    // which names the one that is wrong.
    balance: {
      type: ['string', 'object'],
      description: 'a balance policy: its name, or { policy: NAME, ...parameters }',
    },
  },
} as const;

/** What every document of the ferry.dev/v1 family has around its spec:
 * apiVersion, its kind, metadata { name, tenant }. */
export function documentSchema<K extends string, S extends object>(id: string, kind: K, spec: S) {
  return {
    $id: id,
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', const: API_VERSION },
      kind: { type: 'string', const: kind },
      metadata: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name, tenant: name },
      },
      spec,
    },
  } as const;
}

export const chainSchema = documentSchema('https://ferry.dev/schemas/chain-v1.json', KIND, {
  type: 'object',
  additionalProperties: false,
  required: ['entry', 'functions'],
  properties: {
    entry: { type: 'string', description: 'the name of the first function' },
    slo: {
      type: 'object',
      additionalProperties: false,
      required: ['p99Ms'],
      properties: { p99Ms: { type: 'number', exclusiveMinimum: 0 } },
    },
    scale: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // Its shape depends on the policy named, so compile.ts checks it
        // (control/controlplane/autoscale/registry.ts parse).
        policy: { type: ['string', 'object'], description: 'an autoscaling policy: a name (kpa, slo, manual) or { name, params }' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBodyBytes: { type: 'integer', minimum: 1, maximum: MAX_BODY_BYTES_LIMIT },
        timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
        bodyTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        // While a stage is scaled to zero: the most requests each
        // gateway holds for it, and how long each may wait.
        holdRequests: { type: 'integer', minimum: 1, maximum: 100_000 },
        holdTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        poolBytes: { type: 'integer', minimum: MIN_POOL_BYTES, maximum: MAX_POOL_BYTES },
        // Sizes are checked together (ascending, multiples of 64, the
        // largest holding a body) in compile.ts.
        sizeClasses: {
          type: 'array',
          minItems: 1,
          maxItems: 8,
          items: { type: 'integer', minimum: 64, maximum: 1 << 30, description: 'a buffer size in bytes, a multiple of 64' },
        },
      },
    },
    functions: { type: 'array', minItems: 1, maxItems: MAX_FUNCTIONS, items: functionSchema },
  },
} as const);
