/**
 * A chain as the baselines serve it, read with ferry's own front end
 * (control/chain/validate.ts compileChainFile, what `ferry validate` runs):
 * stages with their handlers resolved beside chain.yaml, next edges,
 * entry, limits, and as many instances per stage as ferry runs (the
 * runner pins ferry to the same count).
 */
import { compileChainFile } from '../../../control/chain/validate.js';
import type { StageSpec } from '../host/stage-fn.js';

export interface StagePlan extends StageSpec {
  instances: number;
}

export interface ChainPlan {
  name: string;
  file: string;
  entry: string;
  maxBodyBytes: number;
  timeoutMs: number;
  stages: StagePlan[];
}

export function planChain(file: string): ChainPlan {
  const [ir, ...more] = compileChainFile(file);
  if (!ir) throw new Error(`${file} defines no chain`);
  if (more.length > 0) throw new Error(`${file} defines ${more.length + 1} chains: the baselines serve one chain per file`);
  const entry = ir.stages.find((s) => s.id === ir.entry);
  if (!entry) throw new Error(`${file}: entry stage ${ir.entry} is not a stage`);
  return {
    name: ir.name,
    file,
    entry: entry.name,
    maxBodyBytes: ir.maxBodyBytes,
    timeoutMs: ir.timeoutMs,
    stages: ir.stages.map((s) => ({
      chain: ir.name,
      id: s.id,
      name: s.name,
      runtime: s.runtime,
      handler: s.handler,
      next: s.next.map((n) => n.name),
      instances: Math.max(1, s.scale.min),
    })),
  };
}
