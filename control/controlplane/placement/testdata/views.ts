/** Chains, nodes and placement contexts for the placement unit tests. */
import type { ChainIR, StageIR } from '../../../chain/ir.js';
import type { NodeView, PlacementContext, Resources } from '../framework.js';

export function stage(id: number, name: string, over: Partial<StageIR> = {}): StageIR {
  return {
    id,
    name,
    runtime: 'node',
    handler: `/x/${name}.ts`,
    archs: ['amd64', 'arm64'],
    resources: { cpuMilli: 500, memoryMb: 128 },
    scale: { min: 1, max: 4 },
    next: [],
    data: {},
    ...over,
  };
}

export function chain(stages: StageIR[], over: Partial<ChainIR> = {}): ChainIR {
  return {
    name: 'c',
    tenant: 't',
    entry: 0,
    maxBodyBytes: 1 << 20,
    timeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    poolBytes: 64 << 20,
    stages,
    source: { file: '/x/c.yaml' },
    ...over,
  };
}

/** a -> b -> c, 500m and 128 MB each. */
export function line(names = ['a', 'b', 'c'], over: Partial<ChainIR> = {}): ChainIR {
  return chain(
    names.map((n, i) => stage(i, n, i + 1 < names.length ? { next: [{ name: names[i + 1]!, id: i + 1 }] } : {})),
    over,
  );
}

export function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, archs: ['amd64'], cpuMilli: 4000, memoryMb: 8192, usedCpuMilli: 0, usedMemoryMb: 0, labels: {}, peered: true, gateway: true, ...over };
}

/** The context of placing `stageId` of `ir` on `nodes`, with what is placed already. */
export function context(
  ir: ChainIR,
  stageId: number,
  nodes: NodeView[],
  over: { placed?: Record<number, string[]>; tenants?: Record<string, Resources> } = {},
): PlacementContext {
  return {
    chain: ir,
    stage: ir.stages[stageId]!,
    placed: new Map(Object.entries(over.placed ?? {}).map(([k, v]) => [Number(k), v])),
    nodes,
    node: (name) => nodes.find((n) => n.name === name),
    tenants: new Map(Object.entries(over.tenants ?? {})),
    capacity: nodes.reduce((c, n) => ({ cpuMilli: c.cpuMilli + n.cpuMilli, memoryMb: c.memoryMb + n.memoryMb }), { cpuMilli: 0, memoryMb: 0 }),
  };
}
