/**
 * Placement as a pipeline of plugins, after the Kubernetes scheduler
 * framework: filters remove nodes that cannot run an instance, scorers rank
 * the rest, and the best node takes the instance. Plugins see the nodes as
 * they are being filled, so packing and locality decisions compound.
 */
import type { Arch, ChainIR, StageIR } from '../../chain/ir.js';

export interface NodeView {
  name: string;
  archs: Arch[];
  cpuMilli: number;
  memoryMb: number;
  /** What instances placed so far (this chain and others) take. */
  usedCpuMilli: number;
  usedMemoryMb: number;
  labels: Record<string, string>;
  /** Its ferryd has a peer listener, so hops can cross to and from it. */
  peered: boolean;
}

export interface PlacementContext {
  chain: ChainIR;
  stage: StageIR;
  /** Node of every instance of this chain placed so far, by stage id. */
  placed: Map<number, string[]>;
  /** Every node being placed on, as filled so far. */
  nodes: NodeView[];
}

export interface FilterPlugin {
  readonly name: string;
  /** undefined when the node fits; otherwise why not (shown to the user). */
  filter(ctx: PlacementContext, node: NodeView): string | undefined;
}

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /** 0..100, higher is better. */
  score(ctx: PlacementContext, node: NodeView): number;
}

export interface Assignment {
  stage: number;
  node: string;
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
    private readonly filters: FilterPlugin[],
    private readonly scorers: ScorePlugin[],
  ) {}

  /** Place `replicas[stage]` instances of each stage; nodes are updated in place. */
  place(chain: ChainIR, nodes: NodeView[], replicas: Map<number, number>): Assignment[] {
    const placed = new Map<number, string[]>();
    const out: Assignment[] = [];
    for (const stage of chain.stages) {
      for (let i = 0; i < (replicas.get(stage.id) ?? 0); i++) {
        const ctx: PlacementContext = { chain, stage, placed, nodes };
        const reasons: Record<string, string> = {};
        const fit = nodes.filter((n) => {
          for (const f of this.filters) {
            const why = f.filter(ctx, n);
            if (why) {
              reasons[n.name] = `${f.name}: ${why}`;
              return false;
            }
          }
          return true;
        });
        if (fit.length === 0) throw new PlacementError(stage.name, nodes.length ? reasons : { cluster: 'no nodes are ready' });
        let best = fit[0]!;
        let bestScore = -Infinity;
        for (const n of fit) {
          const s = this.scorers.reduce((sum, p) => sum + p.weight * p.score(ctx, n), 0);
          if (s > bestScore) [best, bestScore] = [n, s];
        }
        best.usedCpuMilli += stage.resources.cpuMilli;
        best.usedMemoryMb += stage.resources.memoryMb;
        placed.set(stage.id, [...(placed.get(stage.id) ?? []), best.name]);
        out.push({ stage: stage.id, node: best.name });
      }
    }
    return out;
  }
}
