/**
 * What the store keeps of an applied chain: enough to redeploy it exactly
 * (same chain id, same instance ids) after the control plane or a node
 * restarts, and to answer GetChain.
 */
import type { ChainIR, StageIR } from '../../chain/ir.js';

export interface PlacedInstance {
  id: number;
  stage: number;
  node: string;
  weight: number;
  /** What it runs (versions.ts stageVersion): a re-apply rolls the
   * instances whose version is not their stage's now. Absent in records
   * from before versions were kept. */
  version?: string;
}

export interface ChainRecord {
  name: string;
  tenant: string;
  chainId: number;
  /** Bumps on every apply of the same name. */
  generation: number;
  yaml: string;
  file: string;
  appliedAtMs: number;
  ir: ChainIR;
  instances: PlacedInstance[];
  /** The gateway endpoint id of the chain on each node that serves it. */
  gateways: { node: string; id: number }[];
  /** While a re-apply rolls the chain (and after one that stopped
   * part-way): the IRs its instances of other versions were started from,
   * newest first. Their stages keep their routes and their edges stay
   * allowed until they are gone. */
  prior?: ChainIR[];
}

/** Records live at /chains/TENANT/NAME (before tenants were namespaces: /chains/NAME). */
export const CHAIN_PREFIX = '/chains/';
export const chainKey = (tenant: string, name: string) => `${CHAIN_PREFIX}${tenant}/${name}`;
export const tenantPrefix = (tenant: string) => `${CHAIN_PREFIX}${tenant}/`;

/** Nodes a chain runs on (instances or gateway), sorted. */
export function chainNodes(r: ChainRecord): string[] {
  return [...new Set([...r.instances.map((i) => i.node), ...r.gateways.map((g) => g.node)])].sort();
}

/** A stage an instance of the chain may run: of the IR, or of a prior one. */
export function stageOf(r: Pick<ChainRecord, 'ir' | 'prior'>, id: number): StageIR | undefined {
  return r.ir.stages[id] ?? r.prior?.find((p) => p.stages[id])?.stages[id];
}
