/**
 * Placement for the chain manager: the scheduler is given the cluster as it
 * is, every ready node with what all chains' instances take (this chain's
 * that stay included), and where this chain runs now, so a scale-up or a
 * re-apply reuses its nodes (chain locality) and counts their resources
 * once. Instances that are about to go (the one a replacement takes the
 * place of) are left out by the caller.
 */
import type { ChainIR } from '../../chain/ir.js';
import { formatChainRef } from '../../chain/tenant.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { Resources, Scheduler } from '../placement/framework.js';
import type { IdAllocator } from './ids.js';
import { ChainError } from './errors.js';
import { stageOf, type ChainRecord, type PlacedInstance } from './record.js';

/** A chain's instances with the IRs they were started from. */
export type Running = Pick<ChainRecord, 'ir' | 'instances' | 'prior'>;


export class Placer {
  constructor(
    private readonly nodes: NodeRegistry,
    private readonly scheduler: Scheduler,
  ) {}

  /**
   * New instances: `add[stage]` of each stage of `ir`, with ids from `ids`
   * and each stage's version. `staying` is this chain as it will run
   * besides them; `others` every other chain.
   */
  place(ir: ChainIR, add: ReadonlyMap<number, number>, staying: Running, others: readonly Running[], ids: IdAllocator, versions: ReadonlyMap<number, string>): PlacedInstance[] {
    if ([...add.values()].every((n) => n === 0)) return [];
    const nodes = this.nodes.views();
    if (nodes.length === 0) throw new ChainError('unavailable', 'no node is ready; start ferryd or check `ferry get nodes`');
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const tenants = new Map<string, Resources>();
    const take = (r: Running, tenant: string) => {
      for (const i of r.instances) {
        const res = stageOf(r, i.stage)?.resources;
        if (!res) continue;
        const n = byName.get(i.node);
        if (n) [n.usedCpuMilli, n.usedMemoryMb] = [n.usedCpuMilli + res.cpuMilli, n.usedMemoryMb + res.memoryMb];
        const t = tenants.get(tenant) ?? { cpuMilli: 0, memoryMb: 0 };
        tenants.set(tenant, { cpuMilli: t.cpuMilli + res.cpuMilli, memoryMb: t.memoryMb + res.memoryMb });
      }
    };
    for (const r of others) take(r, r.ir.tenant);
    take(staying, ir.tenant);
    let assignments;
    try {
      assignments = this.scheduler.place({ chain: ir, nodes, add, running: staying.instances.filter((i) => byName.has(i.node)), tenants });
    } catch (err) {
      throw new ChainError('unplaceable', `chain ${formatChainRef(ir)}: ${(err as Error).message}`);
    }
    return assignments.map((a) => ({ id: ids.take(), stage: a.stage, node: a.node, weight: 1, version: versions.get(a.stage) }));
  }
}
