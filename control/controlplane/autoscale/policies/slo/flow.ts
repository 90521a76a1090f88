/**
 * How requests flow between a chain's stages: which share of what its
 * predecessors receive reaches each stage. A stage's instances can then be
 * sized for the demand on its way (its predecessors' planned rate times its
 * share) before it arrives: a branch at zero starts together with the
 * entry waking from zero, not one cold start after it, and a surge at the
 * entry is met at every stage at once. Per-stage policies such as Knative's
 * cannot do this: they see one revision at a time.
 *
 * A share is learnt as a stage's arrivals over what its predecessors
 * completed (passed on) in the same sample; a stage with several
 * predecessors gets one share of their sum, as that is all the per-stage
 * signals tell. Before any traffic, a share is the even split of each
 * predecessor's `next`.
 */
import type { ChainIR } from '../../../../chain/ir.js';

/** Weight of one sample in a share. */
const SMOOTHING = 0.1;
/** Predecessor completions below this (req/s) say too little about a share. */
const MIN_RATE = 5;

export class FlowShares {
  /** Stage ids, every stage after all its predecessors. */
  readonly order: number[];
  private readonly preds: number[][];
  private readonly shares: number[];

  constructor(chain: Pick<ChainIR, 'stages'>) {
    const n = chain.stages.length;
    this.preds = chain.stages.map(() => []);
    const prior = new Array<number>(n).fill(0);
    for (const s of chain.stages) {
      for (const t of s.next) {
        this.preds[t.id]?.push(s.id);
        prior[t.id] = (prior[t.id] ?? 0) + 1 / s.next.length;
      }
    }
    this.shares = prior.map((p, i) => ((this.preds[i]?.length ?? 0) > 0 ? p / (this.preds[i]?.length ?? 1) : 0));
    // Kahn's algorithm: the compiler guarantees a DAG.
    const indeg = this.preds.map((p) => p.length);
    const ready = chain.stages.filter((s) => indeg[s.id] === 0).map((s) => s.id);
    this.order = [];
    while (ready.length > 0) {
      const s = ready.shift() as number;
      this.order.push(s);
      for (const t of chain.stages[s]?.next ?? []) if (--indeg[t.id]! === 0) ready.push(t.id);
    }
  }

  /** Learns from one sample of every stage's arrival and completion rates. */
  update(arrivals: readonly number[], completions: readonly number[]): void {
    this.preds.forEach((ps, s) => {
      if (ps.length === 0) return;
      const upstream = ps.reduce((sum, p) => sum + (completions[p] ?? 0), 0);
      if (upstream < MIN_RATE) return;
      const sample = Math.min(1, (arrivals[s] ?? 0) / upstream);
      this.shares[s] = (this.shares[s] ?? 0) + SMOOTHING * (sample - (this.shares[s] ?? 0));
    });
  }

  share(stage: number): number {
    return this.shares[stage] ?? 0;
  }

  /** The rate on its way to a stage, from its predecessors' planned rates. */
  upstream(stage: number, planned: readonly number[]): number {
    return this.share(stage) * (this.preds[stage] ?? []).reduce((sum, p) => sum + (planned[p] ?? 0), 0);
  }
}
