/**
 * What bench:placement measures, each on the seeded cluster of cluster.ts:
 * how long one placement takes, how many hops of a chain cross nodes with
 * chain locality and with spreading, and how fairly three tenants share a
 * cluster they fill. The scheduler is the control plane's (framework,
 * plugins, config), called as the chain manager calls it.
 */
import { dominantShare, jainIndex } from '../../control/controlplane/placement/fairness.js';
import { PlacementError, type Assignment, type NodeView, type Resources, type Scheduler } from '../../control/controlplane/placement/framework.js';
import type { ChainIR } from '../../control/chain/ir.js';
import { generateNodes, sixStageChain, snapshot, type Shape } from './cluster.js';
import { seeded } from '../lib/random.js';

const oneEach = (ir: ChainIR) => new Map(ir.stages.map((s) => [s.id, 1]));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface Timing {
  p50Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
  /** The same in CPU time of this process: what the placement costs
   * without the time other processes had the core (a loaded machine). */
  cpuP50Us: number;
  cpuP99Us: number;
}

/** One placement of a 6-stage chain, `iterations` times per variant, the
 * variants interleaved (so they share the machine's noise), the nodes put
 * back after each; the first `warmup` rounds are not counted (JIT). */
export function timePlacements(variants: Record<string, Scheduler>, nodes: NodeView[], chain: ChainIR, iterations: number, warmup: number): Record<string, Timing> {
  const restore = snapshot(nodes);
  const wall = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]]));
  const cpu = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]]));
  for (let i = 0; i < warmup + iterations; i++) {
    for (const [name, scheduler] of Object.entries(variants)) {
      restore();
      const req = { chain, nodes, add: oneEach(chain), tenants: new Map<string, Resources>() };
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      scheduler.place(req);
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      const c = process.cpuUsage(c0);
      if (i < warmup) continue;
      wall[name]!.push(us);
      cpu[name]!.push(c.user + c.system);
    }
  }
  restore();
  return Object.fromEntries(
    Object.keys(variants).map((name) => {
      const w = [...wall[name]!].sort((a, b) => a - b);
      const c = [...cpu[name]!].sort((a, b) => a - b);
      const timing: Timing = {
        p50Us: round(percentile(w, 50)),
        p99Us: round(percentile(w, 99)),
        maxUs: round(w.at(-1)!),
        meanUs: round(w.reduce((a, b) => a + b, 0) / w.length),
        cpuP50Us: round(percentile(c, 50)),
        cpuP99Us: round(percentile(c, 99)),
      };
      return [name, timing];
    }),
  );
}

/** Hops of the chain that leave a node: edges s -> t where a node running s
 * has no instance of t (routes prefer local instances, so only those cross). */
export function crossNodeLinks(chain: ChainIR, placed: readonly Assignment[]): number {
  const nodesOf = (stage: number) => new Set(placed.filter((a) => a.stage === stage).map((a) => a.node));
  let links = 0;
  for (const s of chain.stages) for (const t of s.next) if ([...nodesOf(s.id)].some((n) => !nodesOf(t.id).has(n))) links++;
  return links;
}

export interface Locality {
  chainsPlaced: number;
  crossNodeLinksPerChain: number;
  /** Share of chains with every stage on one node. */
  onOneNode: number;
}

/** `chains` 6-stage chains placed one after another (usage adds up) on a
 * fresh copy of the cluster, per variant. */
export function placeMany(variants: Record<string, Scheduler>, makeNodes: () => NodeView[], seed: number, chains: number): Record<string, Locality> {
  return Object.fromEntries(
    Object.entries(variants).map(([name, scheduler]) => {
      const nodes = makeNodes();
      const rand = seeded(seed + 1);
      let placed = 0;
      let links = 0;
      let single = 0;
      for (let c = 0; c < chains; c++) {
        const ir = sixStageChain(rand, `c${c}`, 't');
        const restore = snapshot(nodes);
        try {
          const out = scheduler.place({ chain: ir, nodes, add: oneEach(ir) });
          placed++;
          const l = crossNodeLinks(ir, out);
          links += l;
          if (new Set(out.map((a) => a.node)).size === 1) single++;
        } catch (err) {
          if (!(err instanceof PlacementError)) throw err;
          restore();
        }
      }
      return [name, { chainsPlaced: placed, crossNodeLinksPerChain: round(links / Math.max(1, placed), 3), onOneNode: round(single / Math.max(1, placed), 3) }];
    }),
  );
}

export interface TenantSpec {
  name: string;
  /** Every stage of its chains. */
  shape: Shape;
  /** Chains it submits per round when arrival order decides. */
  perRound: number;
}

export const TENANTS: TenantSpec[] = [
  { name: 'alpha', shape: { cpuMilli: 1000, memoryMb: 512 }, perRound: 3 },
  { name: 'beta', shape: { cpuMilli: 250, memoryMb: 2048 }, perRound: 1 },
  { name: 'gamma', shape: { cpuMilli: 500, memoryMb: 1024 }, perRound: 1 },
];

export interface TenantOutcome {
  chains: number;
  dominantShare: number;
  /** Mean free dominant share of the nodes its instances went to, as they were then. */
  nodeHeadroom: number;
}

export interface Fairness {
  tenants: Record<string, TenantOutcome>;
  /** Jain's index of the tenants' dominant shares: 1 is equal. */
  jainIndex: number;
  /** Smallest dominant share over the largest. */
  minOverMax: number;
}

export type Order = 'arrival' | 'drf';

const headroom = (n: { cpuMilli: number; memoryMb: number }, cpu: number, mem: number) => 1 - Math.max(cpu / n.cpuMilli, mem / n.memoryMb);

/**
 * The three tenants fill an empty cluster until none of their next chains
 * fits. `arrival`: chains come in rounds (alpha submits three per round,
 * the others one); `drf`: the next chain is always the one of the tenant
 * with the smallest dominant share (DRF progressive filling, the order Mu
 * places in).
 */
export function fillCluster(scheduler: Scheduler, nodes: NodeView[], order: Order): Fairness {
  const capacity = nodes.reduce((c, n) => ({ cpuMilli: c.cpuMilli + n.cpuMilli, memoryMb: c.memoryMb + n.memoryMb }), { cpuMilli: 0, memoryMb: 0 });
  const tenants = new Map<string, Resources>(TENANTS.map((t) => [t.name, { cpuMilli: 0, memoryMb: 0 }]));
  const outcome = new Map(TENANTS.map((t) => [t.name, { chains: 0, headroom: [] as number[] }]));
  const full = new Set<string>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const share = (t: string) => dominantShare(tenants.get(t)!, capacity);
  const rounds = TENANTS.flatMap((t) => Array.from({ length: t.perRound }, () => t));
  let turn = 0;
  while (full.size < TENANTS.length) {
    const open = TENANTS.filter((t) => !full.has(t.name));
    const t = order === 'drf' ? open.reduce((a, b) => (share(b.name) < share(a.name) ? b : a)) : rounds[turn++ % rounds.length]!;
    if (full.has(t.name)) continue;
    const out = outcome.get(t.name)!;
    const ir = sixStageChain(seeded(0), `${t.name}-${out.chains}`, t.name, t.shape);
    const restore = snapshot(nodes);
    const before = new Map(nodes.map((n) => [n.name, [n.usedCpuMilli, n.usedMemoryMb] as const]));
    const had = { ...tenants.get(t.name)! };
    try {
      for (const a of scheduler.place({ chain: ir, nodes, add: oneEach(ir), tenants })) {
        const [cpu, mem] = before.get(a.node)!;
        out.headroom.push(headroom(byName.get(a.node)!, cpu, mem));
      }
      out.chains++;
    } catch (err) {
      if (!(err instanceof PlacementError)) throw err;
      restore();
      tenants.set(t.name, had);
      full.add(t.name);
    }
  }
  const shares = TENANTS.map((t) => share(t.name));
  return {
    tenants: Object.fromEntries(
      TENANTS.map((t) => {
        const o = outcome.get(t.name)!;
        return [t.name, { chains: o.chains, dominantShare: round(share(t.name), 3), nodeHeadroom: round(o.headroom.reduce((a, b) => a + b, 0) / Math.max(1, o.headroom.length), 3) }];
      }),
    ),
    jainIndex: round(jainIndex(shares), 3),
    minOverMax: round(Math.min(...shares) / Math.max(...shares), 3),
  };
}

export { generateNodes };
