/**
 * The chain run in this process, stage after stage, through the same
 * function host code as the baselines (host/stage-fn.ts) with no
 * transport at all: the reference their answers are checked against.
 */
import type { HttpAnswer } from '../host/answer.js';
import { loadStage, type StageFn } from '../host/stage-fn.js';
import type { ChainPlan } from './plan.js';

export interface ReferenceChain {
  /** requestId: ctx.requestId in every stage, as a baseline's ingress
   * takes it from x-request-id. */
  run(body: Uint8Array, requestId: bigint): Promise<HttpAnswer>;
}

export async function referenceChain(plan: ChainPlan): Promise<ReferenceChain> {
  const fns = new Map<string, { fn: StageFn; next: string[] }>();
  for (const s of plan.stages) fns.set(s.name, { fn: await loadStage(s), next: s.next });
  return {
    async run(body, requestId) {
      let stage = plan.entry;
      for (;;) {
        const { fn, next } = fns.get(stage)!;
        const r = await fn.run(body, requestId);
        if (r.kind === 'answer') return r.answer;
        stage = next[r.index]!;
        body = r.body;
      }
    },
  };
}
