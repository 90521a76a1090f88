/**
 * The chain compiler: a schema-valid ChainSpec -> ChainIR, after the checks a
 * schema cannot express (names resolve, the stage graph is an acyclic graph
 * reachable from the entry, handlers exist, quantities parse, some node can
 * run each function). All problems are collected and thrown together as
 * ChainSpecErrors, each pointing at the YAML that causes it.
 */
import { existsSync } from 'node:fs';
import { checkBalance, POLICY_NAMES, type BalanceSpec } from '../balance/registry.js';
import { ChainSpecError, ChainSpecErrors, type ErrorSite, type PathSegment } from './errors.js';
import { resolveHandler, type FileExists } from './handler.js';
import { checkPlan } from '../node/pool/size-classes.js';
import type { Arch, ChainIR, StageIR } from './ir.js';
import { locatorOf, type SpecLocator } from './locate.js';
import { parseCpu } from './resources.js';
import { DEFAULTS, type ChainSpec, type FunctionSpec } from './schema.js';
import { suggestionTail } from './suggest.js';
import { policies } from '../controlplane/autoscale/registry.js';
import { DEFAULT_TENANT } from './tenant.js';

export { allowEdges, routeTables, STAGE_REPLY, type Placed } from './routes.js';

export interface CompileOptions {
  /** The YAML file the spec came from: handlers resolve relative to it. */
  file: string;
  /** Architectures of the nodes that exist; when given, every function
   * must be able to run on at least one of them. */
  nodeArchs?: readonly Arch[];
  /** Replaces the file system check for handlers (tests, remote specs). */
  fileExists?: FileExists;
  /** Positions for errors; by default the one the loader attached to `spec`. */
  locator?: SpecLocator;
  /** The tenant of a chain whose metadata names none (default: "default"). */
  defaultTenant?: string;
}

export function compileChain(spec: ChainSpec, opts: CompileOptions): ChainIR {
  const c = new Compilation(spec, opts);
  const ir = c.run();
  if (c.errors.length > 0) throw new ChainSpecErrors(c.errors);
  return ir;
}

const FN = ['spec', 'functions'] as const;

class Compilation {
  readonly errors: ChainSpecError[] = [];
  private readonly fns: FunctionSpec[];
  /** Name -> id of its first definition (later duplicates are errors). */
  private readonly ids = new Map<string, number>();
  private readonly locator: SpecLocator | undefined;

  constructor(
    private readonly spec: ChainSpec,
    private readonly opts: CompileOptions,
  ) {
    this.fns = spec.spec.functions;
    this.locator = opts.locator ?? locatorOf(spec);
  }

  run(): ChainIR {
    this.indexNames();
    const entry = this.ids.get(this.spec.spec.entry);
    if (entry === undefined) {
      const e = this.spec.spec.entry;
      this.fail(['spec', 'entry'], `entry "${e}" is not a function of this chain${suggestionTail(e, [...this.ids.keys()], 'functions')}`);
    }
    const stages = this.fns.map((fn, id) => this.stage(fn, id));
    this.checkRequestKeys(stages);
    this.checkAcyclic(stages);
    if (entry !== undefined) this.checkReachable(stages, entry);
    const limits = this.spec.spec.limits ?? {};
    const ir: ChainIR = {
      name: this.spec.metadata.name,
      tenant: this.spec.metadata.tenant ?? this.opts.defaultTenant ?? DEFAULT_TENANT,
      entry: entry ?? 0,
      maxBodyBytes: limits.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
      timeoutMs: limits.timeoutMs ?? DEFAULTS.timeoutMs,
      bodyTimeoutMs: limits.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs,
      poolBytes: limits.poolBytes ?? DEFAULTS.poolBytes,
      stages,
      source: { file: this.opts.file },
    };
    if (limits.sizeClasses) ir.sizeClasses = [...limits.sizeClasses];
    if (limits.holdRequests !== undefined) ir.holdRequests = limits.holdRequests;
    if (limits.holdTimeoutMs !== undefined) ir.holdTimeoutMs = limits.holdTimeoutMs;
    this.checkPool(ir);
    if (this.spec.spec.slo) ir.slo = { p99Ms: this.spec.spec.slo.p99Ms };
    this.scalePolicy(ir);
    return ir;
  }

  /** spec.scale.policy names a policy that exists, with parameters it takes. */
  private scalePolicy(ir: ChainIR): void {
    const raw = this.spec.spec.scale?.policy;
    if (raw === undefined) return;
    const { choice, problems } = policies.parse(raw, ir.slo !== undefined);
    const at = ['spec', 'scale', 'policy'];
    for (const p of problems) this.errors.push(new ChainSpecError(this.locator?.site([...at, ...p.path], p.at) ?? this.site([...at, ...p.path]), [...at, ...p.path], p.message));
    if (choice) ir.scalePolicy = choice;
  }

  /** The pool the limits describe must be one ferryd can make. */
  private checkPool(ir: ChainIR): void {
    const problem = checkPlan({ maxBodyBytes: ir.maxBodyBytes, quotaBytes: ir.poolBytes, sizes: ir.sizeClasses });
    if (!problem) return;
    const field = ir.sizeClasses ? 'sizeClasses' : this.spec.spec.limits?.poolBytes !== undefined ? 'poolBytes' : 'maxBodyBytes';
    this.fail(['spec', 'limits', field], problem);
  }

  private indexNames(): void {
    this.fns.forEach((fn, id) => {
      const first = this.ids.get(fn.name);
      if (first === undefined) {
        this.ids.set(fn.name, id);
        return;
      }
      const where = this.site([...FN, first, 'name']);
      const at = where.line > 0 ? `line ${where.line}` : `spec.functions[${first}]`;
      this.fail([...FN, id, 'name'], `duplicate function name "${fn.name}" (first defined at ${at})`);
    });
  }

  private stage(fn: FunctionSpec, id: number): StageIR {
    const at = (...rest: PathSegment[]): PathSegment[] => [...FN, id, ...rest];
    const next: StageIR['next'] = [];
    (fn.next ?? []).forEach((target, j) => {
      const tid = this.ids.get(target);
      if (tid === undefined) this.fail(at('next', j), `unknown stage "${target}"${suggestionTail(target, [...this.ids.keys()])}`);
      else next.push({ name: target, id: tid });
    });

    let cpuMilli: number = DEFAULTS.resources.cpuMilli;
    if (fn.resources?.cpu !== undefined) {
      const cpu = parseCpu(fn.resources.cpu);
      if (cpu.ok) cpuMilli = cpu.milli;
      else this.fail(at('resources', 'cpu'), cpu.message);
    }

    // With only one bound written, the other follows it: {min: 3} means
    // exactly 3, {max: 8} means 1..8, {min: 0} means 0..1.
    const min = fn.scale?.min ?? Math.min(DEFAULTS.scale.min, fn.scale?.max ?? DEFAULTS.scale.min);
    const max = fn.scale?.max ?? Math.max(DEFAULTS.scale.max, min);
    if (min > max) this.fail(at('scale', 'min'), `expected min <= max, found min ${min} > max ${max}`);

    const handler = resolveHandler(fn.runtime, fn.handler, this.opts.file, this.opts.fileExists ?? existsSync);
    if (!handler.ok) this.fail(at('handler'), handler.message);

    const archs = [...(fn.archs ?? DEFAULTS.archs)];
    const nodeArchs = this.opts.nodeArchs;
    if (nodeArchs && !archs.some((a) => nodeArchs.includes(a))) {
      const have = nodeArchs.length > 0 ? `nodes offer: ${[...new Set(nodeArchs)].join(', ')}` : 'no nodes are registered';
      this.fail(at('archs'), `no node can run this function: it supports ${archs.join(', ')}; ${have}`);
    }

    const balance = fn.balance === undefined ? undefined : this.balance(fn.balance, at);

    return {
      id,
      name: fn.name,
      runtime: fn.runtime,
      handler: handler.ok ? handler.path : fn.handler,
      archs,
      resources: {
        cpuMilli,
        memoryMb: fn.resources?.memoryMb ?? DEFAULTS.resources.memoryMb,
        ...(fn.resources?.pids !== undefined ? { pids: fn.resources.pids } : {}),
      },
      scale: { min, max },
      next,
      data: { ...(fn.data ?? {}) },
      ...(balance ? { balance } : {}),
    };
  }

  /** `balance: NAME` or `balance: { policy: NAME, key?: ..., ...parameters }`,
   * each problem at the field that causes it. */
  private balance(given: NonNullable<FunctionSpec['balance']>, at: (...rest: PathSegment[]) => PathSegment[]): BalanceSpec | undefined {
    const short = typeof given === 'string';
    const { policy, key, ...params } = short ? { policy: given } : given;
    if (!short && policy === undefined) {
      this.fail(at('balance'), `a balance policy needs its name: { policy: NAME, ... } with NAME one of ${POLICY_NAMES.join(', ')}`);
      return undefined;
    }
    const { spec, problems } = checkBalance({ policy, params, key });
    for (const p of problems) {
      const path = p.field === 'policy' ? (short ? at('balance') : at('balance', 'policy')) : at('balance', p.field);
      const message =
        p.field === 'policy' && typeof policy === 'string'
          ? `unknown balance policy "${policy}"${suggestionTail(policy, POLICY_NAMES)}`
          : p.message;
      this.fail(path, message);
    }
    return spec;
  }

  /** The gateway reads one request key per chain: every consistent-hash
   * stage must name the same. */
  private checkRequestKeys(stages: StageIR[]): void {
    const first = stages.find((s) => s.balance?.key);
    for (const s of stages) {
      const k = s.balance?.key;
      if (!k || !first || s === first || JSON.stringify(k) === JSON.stringify(first.balance!.key)) continue;
      const src = (x: NonNullable<BalanceSpec['key']>) => ('header' in x ? `header ${x.header}` : `field ${x.field}`);
      this.fail([...FN, s.id, 'balance', 'key'], `the gateway reads one request key per chain: stage "${first.name}" hashes on the ${src(first.balance!.key!)}, this one on the ${src(k)}`);
    }
  }

  /** A chain is a DAG: a request may not revisit a stage. Each back edge is
   * reported once, at the `next` entry that closes the cycle. Iterative DFS,
   * since a chain may be long enough to overflow a recursive one. */
  private checkAcyclic(stages: StageIR[]): void {
    const state = new Uint8Array(stages.length); // 0 new, 1 on the path, 2 done
    const pathPos = new Int32Array(stages.length).fill(-1);
    for (let root = 0; root < stages.length; root++) {
      if (state[root] !== 0 || !this.isPrimary(root)) continue;
      const stack: { v: number; edge: number }[] = [{ v: root, edge: 0 }];
      state[root] = 1;
      pathPos[root] = 0;
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as { v: number; edge: number };
        const stage = stages[top.v] as StageIR;
        if (top.edge >= stage.next.length) {
          state[top.v] = 2;
          pathPos[top.v] = -1;
          stack.pop();
          continue;
        }
        const j = top.edge++;
        const to = (stage.next[j] as { id: number }).id;
        if (state[to] === 1) {
          const cycle = stack.slice(pathPos[to]).map((f) => (stages[f.v] as StageIR).name);
          cycle.push((stages[to] as StageIR).name);
          const nextIndex = this.nextIndex(top.v, j);
          this.fail([...FN, top.v, 'next', nextIndex], `cycle: ${cycle.join(' -> ')} (a chain must be acyclic; a stage with no next replies to the caller)`);
        } else if (state[to] === 0) {
          state[to] = 1;
          pathPos[to] = stack.length;
          stack.push({ v: to, edge: 0 });
        }
      }
    }
  }

  /** Every stage must be reachable from the entry, or it would be placed and
   * scaled but never run. */
  private checkReachable(stages: StageIR[], entry: number): void {
    const seen = new Uint8Array(stages.length);
    const queue = [entry];
    seen[entry] = 1;
    for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
      for (const n of (stages[q] as StageIR).next) {
        if (!seen[n.id]) {
          seen[n.id] = 1;
          queue.push(n.id);
        }
      }
    }
    const entryName = this.spec.spec.entry;
    stages.forEach((s, id) => {
      if (!seen[id] && this.isPrimary(id)) {
        this.fail([...FN, id], `stage "${s.name}" is unreachable from entry "${entryName}" (no reachable stage lists it in next)`);
      }
    });
  }

  /** The `next` index in the spec of the j-th resolved next (unknown names
   * were dropped from the resolved list). */
  private nextIndex(id: number, j: number): number {
    const written = (this.fns[id] as FunctionSpec).next ?? [];
    let seen = -1;
    for (let k = 0; k < written.length; k++) {
      if (this.ids.has(written[k] as string) && ++seen === j) return k;
    }
    return j;
  }

  /** False for a duplicate definition: it is already an error, and graph
   * errors about it would only be noise. */
  private isPrimary(id: number): boolean {
    return this.ids.get((this.fns[id] as FunctionSpec).name) === id;
  }

  private site(path: readonly PathSegment[]): ErrorSite {
    return this.locator?.site(path) ?? { file: this.opts.file, line: 0, column: 0 };
  }

  private fail(path: readonly PathSegment[], message: string): void {
    this.errors.push(new ChainSpecError(this.site(path), path, message));
  }
}
