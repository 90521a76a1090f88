/**
 * manual: the autoscaler leaves the stage's count to people (`ferry scale`)
 * and to scale from zero (the activator gives a stage at zero one instance
 * when its requests wait). Chosen with `spec.scale.policy: manual` by a
 * chain whose operator sizes it by hand; with kpa or slo running, a manual
 * scale is undone at their next tick, as a Kubernetes HPA undoes one.
 */
import type { ChainIR } from '../../../../chain/ir.js';
import type { AutoscalePolicy, ChainObservation, PolicyPlugin, StageVerdict } from '../../policy.js';

export const manualPlugin: PolicyPlugin<Record<string, never>> = {
  name: 'manual',
  summary: 'keeps each stage at the count it was given (ferry scale), within scale.min..max',
  needsSlo: false,
  defaults: {},
  params: { type: 'object', additionalProperties: false, properties: {} },
  create: (chain) => new Manual(chain),
};

class Manual implements AutoscalePolicy {
  readonly name = 'manual';
  readonly tickMs = 2000;
  private counts: number[] = [];

  constructor(private readonly chain: ChainIR) {}

  observe(o: ChainObservation): void {
    this.counts = o.stages.map((s) => s.current);
  }

  decide(): StageVerdict[] {
    return this.chain.stages.map((s) => {
      const current = this.counts[s.id] ?? 0;
      return { stage: s.id, desired: current, rule: 'manual', message: `kept at ${current} (scale.policy manual)`, inputs: { current } };
    });
  }
}
