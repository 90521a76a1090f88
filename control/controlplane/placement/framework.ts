/**
 * Placement as a pipeline of plugins, after the Kubernetes scheduler
 * framework (kubernetes/kubernetes pkg/scheduler/framework): for each
 * instance, filter plugins drop the nodes that cannot run it, score plugins
 * rate the rest, each plugin's scores are normalised to 0..100 (its
 * NormalizeScore, by default plugins/helper DefaultNormalizeScore: divide by
 * the highest), multiplied by the plugin's configured weight and summed;
 * the best node takes the instance. Plugins see the nodes as they are being
 * filled, so packing and locality decisions compound.
 *
 * Which plugins run and their weights come from configuration (config.ts),
 * the plugins themselves from a registry (registry.ts): nothing here names
 * one.
 */
import type { Arch, ChainIR, StageIR } from '../../chain/ir.js';

export interface Resources {
  cpuMilli: number;
  memoryMb: number;
}

export interface NodeView {
  name: string;
  archs: Arch[];
  cpuMilli: number;
  memoryMb: number;
  /** What instances placed so far (this chain's and others') take. */
  usedCpuMilli: number;
  usedMemoryMb: number;
  labels: Record<string, string>;
  /** Its ferryd has a peer listener, so hops can cross to and from it. */
  peered: boolean;
  /** Its ferryd serves HTTP: requests (and FL updates) arrive there. */
  gateway: boolean;
}

export interface PlacementContext {
  chain: ChainIR;
  stage: StageIR;
  /** Node of every instance of this chain, by stage id: those already
   * running and those placed so far by this call. */
  placed: ReadonlyMap<number, readonly string[]>;
  /** Every node being placed on, as filled so far. */
  nodes: readonly NodeView[];
  /** A node by name. */
  node(name: string): NodeView | undefined;
  /** What each tenant's instances take across the cluster, this call's included. */
  tenants: ReadonlyMap<string, Resources>;
  /** All the nodes' capacity together. */
  capacity: Resources;
}

/** Filters answer for one node: undefined when it fits, else why not
 * (shown to the user). prepare runs once per instance placed (the
 * framework's PreFilter), so per-instance work is not repeated per node;
 * it returns undefined when every node fits for this instance (PreFilter's
 * Skip), and the filter is then not run. */
export interface FilterPlugin {
  readonly name: string;
  prepare(ctx: PlacementContext): ((node: NodeView) => string | undefined) | undefined;
}

/** Scores are raw (>= 0, higher is better) until normalised. prepare runs
 * once per instance placed (PreScore); it returns undefined when every node
 * would score alike for this instance (PreScore's Skip), and the plugin is
 * then not run: a constant adds the same to every node after normalising. */
export interface ScorePlugin {
  readonly name: string;
  prepare(ctx: PlacementContext): ((node: NodeView) => number) | undefined;
  /** Map the feasible nodes' raw scores onto 0..100 in place; absent:
   * normalizeByMax. */
  normalize?(scores: Float64Array): void;
}

export interface WeightedScore {
  plugin: ScorePlugin;
  /** 1..100 (config.ts); a plugin with weight 0 is not run. */
  weight: number;
}

export interface Assignment {
  stage: number;
  node: string;
}

export interface PlacementRequest {
  chain: ChainIR;
  /** Ready nodes, their usage including every instance that stays
   * (other chains' and this chain's `running`). Updated in place. */
  nodes: NodeView[];
  /** New instances wanted, per stage id. */
  add: ReadonlyMap<number, number>;
  /** Where this chain's instances that stay run: locality counts them. */
  running?: readonly Assignment[];
  /** Per tenant, what its instances take now (fairness); updated in place. */
  tenants?: Map<string, Resources>;
}

/** The highest score becomes 100, the others in proportion; all 0 stays 0
 * (Kubernetes' DefaultNormalizeScore with maxPriority 100, not reversed). */
export function normalizeByMax(scores: Float64Array): void {
  let max = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
  if (max <= 0) {
    scores.fill(0);
    return;
  }
  const k = 100 / max;
  for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! > 0 ? scores[i]! * k : 0;
}

export class PlacementError extends Error {
  constructor(
    readonly stage: string,
    readonly reasons: Record<string, string>,
  ) {
    super(
      `no node can run stage "${stage}": ` +
        Object.entries(reasons)
          .map(([n, r]) => `${n}: ${r}`)
          .join('; ') +
        ' (free capacity with `ferry delete` of another chain, lower its resources in the YAML, or add a node with `ferry node add`)',
    );
    this.name = 'PlacementError';
  }
}

export class Scheduler {
  constructor(
    readonly filters: readonly FilterPlugin[],
    readonly scores: readonly WeightedScore[],
  ) {}

  /** Place `add[stage]` new instances of each stage, in stage order. */
  place(req: PlacementRequest): Assignment[] {
    const { chain, nodes } = req;
    const placed = new Map<number, string[]>();
    for (const a of req.running ?? []) placed.set(a.stage, [...(placed.get(a.stage) ?? []), a.node]);
    // Plugins look up the few nodes the chain runs on: found once each, not
    // an index of every node per call.
    const found = new Map<string, NodeView | undefined>();
    const node = (name: string) => {
      if (!found.has(name)) found.set(name, nodes.find((n) => n.name === name));
      return found.get(name);
    };
    const tenants = req.tenants ?? new Map<string, Resources>();
    const capacity = { cpuMilli: 0, memoryMb: 0 };
    for (const n of nodes) {
      capacity.cpuMilli += n.cpuMilli;
      capacity.memoryMb += n.memoryMb;
    }
    const out: Assignment[] = [];
    // Scratch space for every instance of this call: nothing per node is allocated.
    const scratch: Scratch = { fit: [], raw: new Float64Array(nodes.length), total: new Float64Array(nodes.length) };
    for (const stage of chain.stages) {
      for (let i = 0; i < (req.add.get(stage.id) ?? 0); i++) {
        const ctx: PlacementContext = { chain, stage, placed, nodes, node, tenants, capacity };
        const best = this.best(ctx, this.feasible(ctx, scratch.fit), scratch);
        best.usedCpuMilli += stage.resources.cpuMilli;
        best.usedMemoryMb += stage.resources.memoryMb;
        const t = tenants.get(chain.tenant) ?? { cpuMilli: 0, memoryMb: 0 };
        tenants.set(chain.tenant, { cpuMilli: t.cpuMilli + stage.resources.cpuMilli, memoryMb: t.memoryMb + stage.resources.memoryMb });
        placed.set(stage.id, [...(placed.get(stage.id) ?? []), best.name]);
        out.push({ stage: stage.id, node: best.name });
      }
    }
    return out;
  }

  /** The nodes every filter lets through (into `fit`); none: a
   * PlacementError saying, per node, the first filter that refused it. */
  private feasible(ctx: PlacementContext, fit: NodeView[]): NodeView[] {
    const run = this.filters.map((f) => ({ name: f.name, check: f.prepare(ctx) })).filter((f) => f.check !== undefined);
    const checks = run.map((f) => f.check!);
    fit.length = 0;
    nodes: for (const n of ctx.nodes) {
      for (let j = 0; j < checks.length; j++) if (checks[j]!(n) !== undefined) continue nodes;
      fit.push(n);
    }
    if (fit.length > 0) return fit;
    if (ctx.nodes.length === 0) throw new PlacementError(ctx.stage.name, { cluster: 'no nodes are ready' });
    const reasons: Record<string, string> = {};
    for (const n of ctx.nodes) {
      const j = checks.findIndex((check) => check(n) !== undefined);
      reasons[n.name] = `${run[j]!.name}: ${checks[j]!(n)}`;
    }
    throw new PlacementError(ctx.stage.name, reasons);
  }

  /** The feasible node with the highest weighted sum of normalised
   * scores; ties go to the first (nodes come sorted by name). */
  private best(ctx: PlacementContext, fit: NodeView[], scratch: Scratch): NodeView {
    if (fit.length === 1) return fit[0]!;
    const total = scratch.total.subarray(0, fit.length).fill(0);
    const raw = scratch.raw.subarray(0, fit.length);
    for (const { plugin, weight } of this.scores) {
      if (weight === 0) continue;
      const score = plugin.prepare(ctx);
      if (!score) continue;
      let max = 0;
      for (let i = 0; i < fit.length; i++) {
        const x = score(fit[i]!);
        raw[i] = x;
        if (x > max) max = x;
      }
      if (plugin.normalize) {
        plugin.normalize(raw);
        for (let i = 0; i < fit.length; i++) total[i] = total[i]! + weight * raw[i]!;
      } else if (max > 0) {
        // normalizeByMax and the weight in one pass.
        const k = (weight * 100) / max;
        for (let i = 0; i < fit.length; i++) if (raw[i]! > 0) total[i] = total[i]! + k * raw[i]!;
      }
    }
    let best = 0;
    for (let i = 1; i < fit.length; i++) if (total[i]! > total[best]!) best = i;
    return fit[best]!;
  }
}

interface Scratch {
  fit: NodeView[];
  raw: Float64Array;
  total: Float64Array;
}
