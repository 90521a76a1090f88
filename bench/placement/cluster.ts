/**
 * The simulated cluster and chains bench:placement places on, generated
 * from a seed so every run (and every variant within a run) sees the same.
 */
import type { ChainIR, StageIR } from '../../control/chain/ir.js';
import type { NodeView } from '../../control/controlplane/placement/framework.js';
import { pick, type Random } from '../lib/random.js';

export const NODE_GENERATOR =
  'n nodes from a seeded mulberry32: cpus 2/4/8/16/32, 2/4/8 GiB per cpu, 90% amd64, 7% arm64, 3% both; label zone=z0..z9; ' +
  'every node peered and serving a gateway; each already uses a uniform 0..prefill share of its cpu and memory (other chains)';

export function generateNodes(rand: Random, n: number, prefill: number): NodeView[] {
  return Array.from({ length: n }, (_, i) => {
    const cpus = pick(rand, [2, 4, 8, 16, 32]);
    const memoryMb = cpus * pick(rand, [2048, 4096, 8192]);
    const r = rand();
    const archs: NodeView['archs'] = r < 0.9 ? ['amd64'] : r < 0.97 ? ['arm64'] : ['amd64', 'arm64'];
    return {
      name: `n${String(i).padStart(4, '0')}`,
      archs,
      cpuMilli: cpus * 1000,
      memoryMb,
      usedCpuMilli: Math.floor(rand() * prefill * cpus * 1000),
      usedMemoryMb: Math.floor(rand() * prefill * memoryMb),
      labels: { zone: `z${i % 10}` },
      peered: true,
      gateway: true,
    };
  });
}

export interface Shape {
  cpuMilli: number;
  memoryMb: number;
}

/** s0 -> s1 -> ... -> s5, each stage `shape` or, without one, a random
 * 100..1000m and 64..512 MB. */
export function sixStageChain(rand: Random, name: string, tenant: string, shape?: Shape): ChainIR {
  const stages: StageIR[] = Array.from({ length: 6 }, (_, id) => ({
    id,
    name: `s${id}`,
    runtime: 'node',
    handler: `/bench/${name}/s${id}.ts`,
    archs: ['amd64', 'arm64'],
    resources: shape ?? { cpuMilli: 100 * (1 + Math.floor(rand() * 10)), memoryMb: 64 * (1 + Math.floor(rand() * 8)) },
    scale: { min: 1, max: 4 },
    next: id < 5 ? [{ name: `s${id + 1}`, id: id + 1 }] : [],
    data: {},
  }));
  return { name, tenant, entry: 0, maxBodyBytes: 1 << 20, timeoutMs: 10_000, bodyTimeoutMs: 10_000, poolBytes: 64 << 20, stages, source: { file: `/bench/${name}.yaml` } };
}

/** What the nodes use now, to put back after a trial placement. */
export function snapshot(nodes: readonly NodeView[]): () => void {
  const cpu = Float64Array.from(nodes, (n) => n.usedCpuMilli);
  const mem = Float64Array.from(nodes, (n) => n.usedMemoryMb);
  return () => {
    for (let i = 0; i < nodes.length; i++) {
      nodes[i]!.usedCpuMilli = cpu[i]!;
      nodes[i]!.usedMemoryMb = mem[i]!;
    }
  };
}
