/**
 * Cold starts of every stage on the real ferryd: StartInstance (what a
 * scale-up sends) to the instance's `ready` event, then one request routed
 * to it alone, timed like a service sample. What the simulator needs is how
 * long a new instance is no use: ready time plus whatever its first
 * request costs beyond a warm one (a Node handler's first call compiles).
 */
import type { ChainIR } from '../../../control/chain/ir.js';
import type { InstanceEvent } from '../../../control/ferryd/proto.js';
import type { MeasuredNode } from './node.js';
import type { RequestProfile } from './service.js';

export interface ColdStartProfile {
  /** StartInstance to ready, ms. */
  readyMs: number[];
  /** The first request's time on the new instance, ms. */
  firstRequestMs: number[];
  /** readyMs + firstRequestMs - the stage's median warm service time:
   * how long after the ask a new instance serves like a warm one. */
  coldStartMs: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function measureColdStarts(node: MeasuredNode, ir: ChainIR, requests: RequestProfile[], inputs: Map<string, Uint8Array>, echoMs: number, rounds: number, log: (m: string) => void): Promise<Record<string, ColdStartProfile>> {
  const readyAt = new Map<number, number>();
  const waiting = new Map<number, () => void>();
  const events = node.client.watchInstanceEvents({ afterSeq: 0 });
  events.on('data', (e: InstanceEvent) => {
    if (e.kind !== 'ready') return;
    readyAt.set(e.instanceId, performance.now());
    waiting.get(e.instanceId)?.();
  });
  events.on('error', () => {}); // cancelled at the end
  const out: Record<string, ColdStartProfile> = {};
  let nextId = 5000;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const stage of ir.stages) {
        // A request that crosses the stage, and what reaches the stage on it.
        const req = requests.find((r) => r.stages.includes(stage.name))!;
        const input = inputs.get(`${req.name}/${stage.name}`)!;
        const k = req.stages.indexOf(stage.name);
        const next = req.stages[k + 1] !== undefined ? ir.stages.find((s) => s.name === req.stages[k + 1])!.id : undefined;
        const id = nextId++;
        const ready = new Promise<void>((resolve) => waiting.set(id, resolve));
        const t0 = performance.now();
        await node.startInstance(stage.id, id);
        await Promise.race([ready, new Promise((_, reject) => setTimeout(() => reject(new Error(`instance ${id} of ${stage.name} not ready in 60 s`)), 60_000))]);
        const readyMs = (readyAt.get(id) ?? performance.now()) - t0;
        node.route(stage.id, id);
        if (next !== undefined) node.route(next, 'capture');
        let firstMs: number;
        try {
          const t1 = performance.now();
          const r = await node.inj.request(stage.id, input, { timeoutMs: 10_000 });
          firstMs = performance.now() - t1;
          if (r.status !== 'ok') throw new Error(`first request on a new ${stage.name} failed: ${r.status}`);
        } finally {
          node.route(stage.id, node.instances[stage.id]!);
          if (next !== undefined) node.route(next, node.instances[next]!);
        }
        await node.client.stopInstance({ instanceId: id, drainTimeoutMs: 1000 });
        // The warm time of the same thing: the stage's sample (before the
        // echo's round trip was taken off it, when it had one).
        const warm = median(req.serviceMs[stage.name] ?? [0]) + (next !== undefined ? echoMs : 0);
        const p = (out[stage.name] ??= { readyMs: [], firstRequestMs: [], coldStartMs: [] });
        p.readyMs.push(round3(readyMs));
        p.firstRequestMs.push(round3(firstMs));
        p.coldStartMs.push(round3(readyMs + Math.max(0, firstMs - warm)));
      }
      log(`  cold starts: round ${round + 1}/${rounds}`);
    }
  } finally {
    events.cancel();
  }
  return out;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
