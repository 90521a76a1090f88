/**
 * The AggregationJob document (control/fl/DESIGN.md "Document"): a JSON
 * Schema checked by ajv in strict mode, like the chain schema, and the
 * TypeScript type of a document that passed it. Every object is closed so
 * a misspelt field is an error. Rules across fields (exactly one of layers
 * and parameters, quorum <= clients, maxStaleness only with late-merge,
 * placement hints naming registered nodes) live in compile.ts.
 */
import { API_VERSION, documentSchema } from '../../chain/schema.js';
import type { Weighting } from '../reference.js';

export const JOB_KIND = 'AggregationJob';

/** param_count is a uint32 in the wire header; the pool must still hold a
 * handful of model buffers under its 2 GiB quota (compile.ts). */
export const MAX_PARAMETERS = 100_000_000;
export const MAX_ROUNDS = 100_000;
export const MAX_CLIENTS = 10_000;
export const MIN_DEADLINE_MS = 100;
export const MAX_DEADLINE_MS = 3_600_000;
export const MAX_FAN_IN = 1024;
export const MAX_STALENESS = 16;

/** Fields the document may leave out. */
export const JOB_DEFAULTS = {
  stragglers: 'drop',
  weighting: 'num-examples',
  maxStaleness: 1,
  fanIn: 16,
  roundDeadlineMs: 30_000,
  initSeed: 1,
} as const;

export type Stragglers = 'drop' | 'late-merge';
export type { Weighting };

export interface JobSpec {
  apiVersion: typeof API_VERSION;
  kind: typeof JOB_KIND;
  metadata: { name: string; tenant?: string };
  spec: {
    model: {
      dtype?: 'float32';
      layers?: { name: string; shape: number[] }[];
      parameters?: number;
      init?: { seed?: number };
    };
    rounds: number;
    clients: number;
    /** A count, or a percentage of clients ("80%"). Absent: every client. */
    quorum?: number | string;
    roundDeadlineMs?: number;
    stragglers?: Stragglers;
    maxStaleness?: number;
    weighting?: Weighting;
    hierarchy?: { fanIn?: number };
    placement?: { nodes?: string[]; top?: string };
  };
}

const nodeName = { type: 'string', minLength: 1, description: 'a node name (ferry get nodes)' } as const;

export const jobSchema = documentSchema('https://ferry.dev/schemas/aggregation-job-v1.json', JOB_KIND, {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'rounds', 'clients'],
  properties: {
    model: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dtype: { type: 'string', const: 'float32', description: '"float32" (the only dtype ferry aggregates)' },
        layers: {
          type: 'array',
          minItems: 1,
          maxItems: 4096,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'shape'],
            properties: {
              name: { type: 'string', minLength: 1, description: 'a layer name (e.g. fc1.weight)' },
              shape: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'integer', minimum: 1, maximum: MAX_PARAMETERS } },
            },
          },
        },
        parameters: { type: 'integer', minimum: 1, maximum: MAX_PARAMETERS },
        init: {
          type: 'object',
          additionalProperties: false,
          properties: { seed: { type: 'integer', minimum: 0, maximum: 4294967295 } },
        },
      },
    },
    rounds: { type: 'integer', minimum: 1, maximum: MAX_ROUNDS },
    clients: { type: 'integer', minimum: 1, maximum: MAX_CLIENTS },
    quorum: {
      type: ['integer', 'string'],
      minimum: 1,
      pattern: '^(100|[1-9][0-9]?)%$',
      description: 'a number of updates (1 .. clients) or a percentage of clients ("80%")',
    },
    roundDeadlineMs: { type: 'integer', minimum: MIN_DEADLINE_MS, maximum: MAX_DEADLINE_MS },
    stragglers: { type: 'string', enum: ['drop', 'late-merge'] },
    maxStaleness: { type: 'integer', minimum: 1, maximum: MAX_STALENESS },
    weighting: { type: 'string', enum: ['num-examples', 'uniform'] },
    hierarchy: {
      type: 'object',
      additionalProperties: false,
      properties: { fanIn: { type: 'integer', minimum: 2, maximum: MAX_FAN_IN } },
    },
    placement: {
      type: 'object',
      additionalProperties: false,
      properties: {
        nodes: { type: 'array', minItems: 1, uniqueItems: true, items: nodeName },
        top: nodeName,
      },
    },
  },
} as const);
