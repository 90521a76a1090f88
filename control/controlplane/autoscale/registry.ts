/**
 * Policies by name, and what a chain's `spec.scale.policy` may say: a name
 * ("kpa") or { name, params }, each parameter checked against the policy's
 * own schema so `ferry validate` can point at the one that is wrong.
 *
 * Which policy a chain runs: its own choice; else the cluster's default
 * (the control plane's configuration) when the chain can use it; else the
 * built-in default, `slo` for a chain that states an SLO (it has something
 * to aim at) and `kpa` for one that does not.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { ChainIR } from '../../chain/ir.js';
import type { PathSegment } from '../../chain/errors.js';
import { schemaProblems } from '../../chain/schema-errors.js';
import { suggestionTail } from '../../chain/suggest.js';
import { kpaPlugin } from './policies/kpa/kpa.js';
import { manualPlugin } from './policies/manual/manual.js';
import { sloPlugin } from './policies/slo/slo.js';
import type { AutoscalePolicy, PolicyChoice, PolicyParams, PolicyPlugin } from './policy.js';

/** A problem with a choice, at a path inside `spec.scale.policy`. */
export interface ChoiceProblem {
  path: PathSegment[];
  at: 'key' | 'value';
  message: string;
}

export class PolicyRegistry {
  private readonly plugins = new Map<string, PolicyPlugin>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = new Ajv({ allErrors: true, strict: true, verbose: true });

  constructor(plugins: readonly PolicyPlugin[]) {
    for (const p of plugins) {
      if (this.plugins.has(p.name)) throw new Error(`two autoscaling policies are called "${p.name}"`);
      this.plugins.set(p.name, p);
    }
  }

  names(): string[] {
    return [...this.plugins.keys()];
  }

  get(name: string): PolicyPlugin | undefined {
    return this.plugins.get(name);
  }

  /**
   * Reads `spec.scale.policy` as written (a name or a map) into a choice,
   * or says what is wrong with it. hasSlo: the chain states slo.p99Ms.
   */
  parse(raw: unknown, hasSlo: boolean): { choice?: PolicyChoice; problems: ChoiceProblem[] } {
    const problems: ChoiceProblem[] = [];
    let name: unknown = raw;
    let params: unknown = {};
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      const map = raw as Record<string, unknown>;
      for (const key of Object.keys(map)) {
        if (key !== 'name' && key !== 'params') problems.push({ path: [key], at: 'key', message: `unknown field "${key}"${suggestionTail(key, ['name', 'params'])}` });
      }
      if (!('name' in map)) problems.push({ path: [], at: 'value', message: `missing required field "name" (one of: ${this.names().join(', ')})` });
      name = map['name'];
      params = map['params'] ?? {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) {
        problems.push({ path: ['params'], at: 'value', message: 'expected a map of parameter names to numbers' });
        params = {};
      }
    }
    const at: PathSegment[] = raw === name ? [] : ['name'];
    if (typeof name !== 'string') {
      if (name !== undefined) problems.push({ path: at, at: 'value', message: `expected a policy name (${this.names().join(', ')}) or { name, params }` });
      return { problems };
    }
    const plugin = this.plugins.get(name);
    if (!plugin) {
      problems.push({ path: at, at: 'value', message: `unknown autoscaling policy "${name}"${suggestionTail(name, this.names())}` });
      return { problems };
    }
    if (plugin.needsSlo && !hasSlo) {
      problems.push({ path: at, at: 'value', message: `policy "${name}" scales against the chain's SLO, and this chain has none: add spec.slo: { p99Ms: N }, or choose ${this.names().filter((n) => !this.plugins.get(n)?.needsSlo).join(' or ')}` });
    }
    const paramProblems = this.checkParams(plugin, params);
    problems.push(...paramProblems);
    if (problems.length > 0) return { problems };
    return { choice: { name, params: { ...(params as PolicyParams) } }, problems };
  }

  private checkParams(plugin: PolicyPlugin, params: unknown): ChoiceProblem[] {
    let validate = this.validators.get(plugin.name);
    if (!validate) {
      validate = this.ajv.compile(plugin.params);
      this.validators.set(plugin.name, validate);
    }
    if (!validate(params)) {
      return schemaProblems(validate.errors ?? [], params).map((p) => ({
        ...p,
        path: ['params', ...p.path],
        message: p.message.replace(/^unknown field/, `unknown parameter of policy ${plugin.name}:`),
      }));
    }
    const merged = { ...plugin.defaults, ...(params as PolicyParams) };
    return (plugin.check?.(merged) ?? []).map((c) => ({ path: ['params', c.param], at: 'value', message: c.message }));
  }

  /** The policy a compiled chain runs; see the top of this file. */
  choiceFor(chain: Pick<ChainIR, 'scalePolicy' | 'slo'>, clusterDefault?: PolicyChoice): PolicyChoice {
    if (chain.scalePolicy) return chain.scalePolicy;
    const usable = (c: PolicyChoice | undefined) => c !== undefined && (chain.slo !== undefined || !this.plugins.get(c.name)?.needsSlo);
    if (usable(clusterDefault)) return clusterDefault as PolicyChoice;
    return { name: chain.slo ? 'slo' : 'kpa', params: {} };
  }

  /** A policy instance for the chain, its parameters over the plugin's defaults. */
  create(chain: ChainIR, choice: PolicyChoice = this.choiceFor(chain)): AutoscalePolicy {
    const plugin = this.plugins.get(choice.name);
    if (!plugin) throw new Error(`unknown autoscaling policy "${choice.name}"${suggestionTail(choice.name, this.names())}`);
    return plugin.create(chain, { ...plugin.defaults, ...choice.params });
  }
}

/** Every policy ferry has. */
export const policies = new PolicyRegistry([kpaPlugin, sloPlugin, manualPlugin]);
