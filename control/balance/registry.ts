/**
 * The balance policies by name, and the one check of a policy as a chain
 * YAML or a ProgramChain gives it (name, parameters, request key), shared by
 * the chain compiler (errors at file:line:col) and ferryd (INVALID_ARGUMENT).
 */
import { checkParams, type ParamProblem, type ParamSpecs, type PolicyParams } from './params.js';
import type { BalancePolicy } from './policy.js';
import { consistentHash, consistentHashParams } from './policies/consistent-hash.js';
import { epsilonGreedy, epsilonGreedyParams } from './policies/epsilon-greedy.js';
import { leastConnections, leastConnectionsParams } from './policies/least-connections.js';
import { leastLoad, leastLoadParams } from './policies/least-load.js';
import { linucb, linucbParams } from './policies/linucb.js';
import { mostFreeSlots, mostFreeSlotsParams } from './policies/most-free-slots.js';
import { random, randomParams } from './policies/random.js';
import { roundRobin, roundRobinParams } from './policies/round-robin.js';
import { ucb1, ucb1Params } from './policies/ucb1.js';

export interface PolicyEntry {
  params: ParamSpecs;
  create: (params: PolicyParams) => BalancePolicy;
  /** Needs the chain's request key (consistent hashing). */
  keyed?: boolean;
}

export const POLICIES: Readonly<Record<string, PolicyEntry>> = {
  'round-robin': { params: roundRobinParams, create: roundRobin },
  random: { params: randomParams, create: random },
  'least-connections': { params: leastConnectionsParams, create: leastConnections },
  'least-load': { params: leastLoadParams, create: leastLoad },
  'most-free-slots': { params: mostFreeSlotsParams, create: mostFreeSlots },
  'consistent-hash': { params: consistentHashParams, create: consistentHash, keyed: true },
  'epsilon-greedy': { params: epsilonGreedyParams, create: epsilonGreedy },
  ucb1: { params: ucb1Params, create: ucb1 },
  linucb: { params: linucbParams, create: linucb },
};

export const POLICY_NAMES: readonly string[] = Object.keys(POLICIES);

/** What a stage runs when neither its YAML nor the cluster says otherwise:
 * the base weights as they are, which is what ferry did before policies. */
export const DEFAULT_POLICY = 'random';

/** Where a request's key comes from: a request header, or a top-level field
 * of a JSON body (its string or number value). */
export type RequestKeySource = { header: string } | { field: string };

/** A stage's policy as validated: what ferryd builds it from. */
export interface BalanceSpec {
  policy: string;
  params: Record<string, number>;
  key?: RequestKeySource;
}

/** HTTP header names (RFC 9110 tokens), stored lowercase. */
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const FIELD = /^.{1,128}$/su;

export interface BalanceInput {
  policy: unknown;
  params?: Readonly<Record<string, unknown>>;
  key?: unknown;
}

/** The spec, or every problem with it (field: 'policy', a parameter's
 * name, 'key'). */
export function checkBalance(input: BalanceInput): { spec?: BalanceSpec; problems: ParamProblem[] } {
  const name = input.policy;
  if (typeof name !== 'string' || !(name in POLICIES)) {
    const shown = typeof name === 'string' ? `"${name}"` : JSON.stringify(name);
    return { problems: [{ field: 'policy', message: `unknown balance policy ${shown}; expected one of ${POLICY_NAMES.join(', ')}` }] };
  }
  const entry = POLICIES[name]!;
  const { params, problems } = checkParams(name, entry.params, input.params ?? {});
  let key: RequestKeySource | undefined;
  if (input.key !== undefined) {
    const k = input.key as Record<string, unknown> | null;
    const keys = k && typeof k === 'object' && !Array.isArray(k) ? Object.keys(k) : [];
    if (!entry.keyed) problems.push({ field: 'key', message: `policy ${name} takes no request key (only consistent-hash does)` });
    else if (keys.length !== 1 || (keys[0] !== 'header' && keys[0] !== 'field'))
      problems.push({ field: 'key', message: 'expected { header: NAME } or { field: NAME }: where the gateway reads the request key' });
    else if (keys[0] === 'header') {
      const h = k!.header;
      if (typeof h !== 'string' || !HEADER.test(h)) problems.push({ field: 'key', message: `expected an HTTP header name, found ${JSON.stringify(h)}` });
      else key = { header: h.toLowerCase() };
    } else {
      const f = k!.field;
      if (typeof f !== 'string' || !FIELD.test(f)) problems.push({ field: 'key', message: `expected a JSON field name (1 to 128 characters), found ${JSON.stringify(f)}` });
      else key = { field: f };
    }
  } else if (entry.keyed) {
    problems.push({ field: 'key', message: 'consistent-hash needs the request key: key: { header: NAME } or key: { field: NAME }' });
  }
  if (problems.length > 0) return { problems };
  return { spec: { policy: name, params, ...(key ? { key } : {}) }, problems };
}

/** A fresh policy (no learnt state) for a checked spec. */
export function createPolicy(spec: BalanceSpec): BalancePolicy {
  const entry = POLICIES[spec.policy];
  if (!entry) throw new Error(`unknown balance policy "${spec.policy}"`);
  return entry.create(spec.params);
}

/** Two specs build the same policy (a reconcile that changes neither keeps
 * what the policy learnt). */
export function sameBalance(a: BalanceSpec, b: BalanceSpec): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(s: BalanceSpec): unknown {
  return [s.policy, Object.entries(s.params).sort(([x], [y]) => (x < y ? -1 : 1)), s.key ?? null];
}

/** The spec of DEFAULT_POLICY. */
export function defaultBalance(policy = DEFAULT_POLICY): BalanceSpec {
  const { spec, problems } = checkBalance({ policy });
  if (!spec) throw new Error(problems.map((p) => p.message).join('; '));
  return spec;
}
