/**
 * The live control loop: every second, for every chain with a stage that
 * may change size (scale.min < scale.max), the chain's policy
 * (ChainAutoscaler) gets a sample built from the nodes' stats and, on its
 * tick (or at once when requests wait for a stage at zero), decides; every
 * changed count goes to ChainManager.scale, one change of a chain at a
 * time, and every decision that changes a count, switches rule or meets a
 * new bound is an `autoscale-decision` event with its reason.
 *
 * The nodes' room bounds what a policy may ask: when placement cannot fit
 * another instance, the stage's capacity is its count for a while
 * (boundVerdict says "bounded by the nodes' capacity"), and the failure is
 * an `autoscale-failed` event once, not every tick.
 */
import { formatChainRef } from '../../chain/tenant.js';
import type { Logger } from '../../log.js';
import { ChainError } from '../chains/errors.js';
import type { ChainManager } from '../chains/manager.js';
import type { ChainRecord } from '../chains/record.js';
import type { EventBus } from '../events.js';
import type { NodeRegistry } from '../nodes/registry.js';
import { ChainAutoscaler, decisionEvent, type ScaleDecision } from './autoscaler.js';
import type { ChainObservation, PolicyChoice } from './policy.js';
import { policies, type PolicyRegistry } from './registry.js';

export interface AutoscaleLoopOptions {
  /** The policy of chains whose YAML names none (registry.choiceFor). */
  defaultPolicy?: PolicyChoice;
  /** How often samples are taken: the nodes' stats interval. */
  sampleMs?: number;
  /** How long a stage stays capped at its count after placement could not fit more. */
  capacityHoldMs?: number;
  registry?: PolicyRegistry;
}

/** What the loop last decided for a stage (metrics, ferry get chain). */
export interface StageDecisionState {
  chain: string;
  tenant: string;
  stage: string;
  policy: string;
  rule: string;
  desired: number;
  current: number;
  atMs: number;
}

interface Running {
  generation: number;
  scaler: ChainAutoscaler;
  /** A change of this chain under way: decisions wait for it. */
  busy: boolean;
  /** Per stage: the count placement could hold, and until when that is believed. */
  capacity: Map<number, { count: number; untilMs: number }>;
  /** Per stage: the rule and bound of the last decision. */
  lastWhy: Map<number, string>;
}

const DEFAULT_SAMPLE_MS = 1000;
const DEFAULT_CAPACITY_HOLD_MS = 30_000;

/** A chain the loop has nothing to decide for: every stage's count is fixed. */
export const fixedSize = (r: ChainRecord) => r.ir.stages.every((s) => s.scale.min === s.scale.max);

export class AutoscaleLoop {
  private readonly running = new Map<number, Running>();
  /** The last decision per chain id, per stage id. */
  private readonly latest = new Map<number, Map<number, StageDecisionState>>();
  /** Decisions by policy and rule. */
  private readonly counts = new Map<string, { policy: string; rule: string; count: number }>();
  private timer: NodeJS.Timeout | undefined;
  private passing = false;
  private readonly registry: PolicyRegistry;

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly chains: ChainManager,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly opts: AutoscaleLoopOptions = {},
  ) {
    this.registry = opts.registry ?? policies;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.pass(), this.opts.sampleMs ?? DEFAULT_SAMPLE_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every stage's last decision, for metrics and status. */
  decisions(): StageDecisionState[] {
    return [...this.latest.values()].flatMap((stages) => [...stages.values()]);
  }

  /** Decisions made so far, by policy and rule (changed or not). */
  decisionCounts(): { policy: string; rule: string; count: number }[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  /** One sample of every chain, and the decisions due. Exposed for tests. */
  async pass(nowMs = Date.now()): Promise<void> {
    if (this.passing) return;
    this.passing = true;
    try {
      // Read, not changed: the stored records themselves, no copy per chain per second.
      const records = await this.chains.peekList();
      const alive = new Set(records.filter((r) => !fixedSize(r)).map((r) => r.chainId));
      for (const id of this.running.keys()) if (!alive.has(id)) this.running.delete(id);
      // What was decided for a chain deleted or now fixed in size is no longer a figure.
      for (const id of this.latest.keys()) if (!alive.has(id)) this.latest.delete(id);
      for (const r of records) {
        try {
          this.step(r, nowMs);
        } catch (err) {
          // One chain's policy failing must not stop the others' scaling.
          this.log.warn('autoscaling a chain failed; retried next second', { chain: formatChainRef(r), error: (err as Error).message });
        }
      }
    } catch (err) {
      this.log.warn('autoscale pass failed; next one in a second', { error: (err as Error).message });
    } finally {
      this.passing = false;
    }
  }

  private step(r: ChainRecord, nowMs: number): void {
    if (fixedSize(r)) return;
    const run = this.runningFor(r);
    const o = this.observe(r, run, nowMs);
    const poked = run.scaler.observe(o);
    const decisions = poked.length > 0 ? poked : run.scaler.tick(nowMs);
    if (decisions.length === 0) return;
    // While a change is under way the record still shows the counts from
    // before it: the same change asked again is not a new decision.
    const acting = !run.busy;
    for (const d of decisions) this.record(r, run, d, acting);
    const changes = decisions.filter((d) => d.changed);
    if (changes.length === 0 || !acting) return;
    run.busy = true;
    void this.apply(r, run, changes).finally(() => (run.busy = false));
  }

  /** The chain's policy, made afresh when the chain was re-applied (its
   * stages or policy may differ; what the old one learnt may not hold). */
  private runningFor(r: ChainRecord): Running {
    const had = this.running.get(r.chainId);
    if (had && had.generation === r.generation) return had;
    const choice = this.registry.choiceFor(r.ir, this.opts.defaultPolicy);
    const run: Running = {
      generation: r.generation,
      scaler: new ChainAutoscaler(r.ir, this.registry.create(r.ir, choice)),
      busy: false,
      capacity: new Map(),
      lastWhy: new Map(),
    };
    this.running.set(r.chainId, run);
    this.log.info('autoscaling chain', { chain: formatChainRef(r), policy: choice.name, params: choice.params });
    return run;
  }

  private observe(r: ChainRecord, run: Running, nowMs: number): ChainObservation {
    const placed = r.instances.map((i) => ({ id: i.id, node: i.node, stage: i.stage }));
    const traffic = this.nodes.signals.chain(r.chainId);
    return {
      nowMs,
      stages: r.ir.stages.map((s) => {
        const current = r.instances.filter((i) => i.stage === s.id).length;
        const cap = run.capacity.get(s.id);
        if (cap && cap.untilMs <= nowMs) run.capacity.delete(s.id);
        return {
          signals: this.nodes.signals.stage(r.chainId, s.id, placed),
          current,
          // The gateways hold a chain's requests while any of its stages
          // has no instance: each such stage is what they wait for.
          ...(current === 0 && traffic ? { held: { requests: traffic.held, arrivalsPerSec: traffic.heldPerSec } } : {}),
          ...(cap && cap.untilMs > nowMs ? { capacity: cap.count } : {}),
        };
      }),
    };
  }

  private record(r: ChainRecord, run: Running, d: ScaleDecision, acting: boolean): void {
    const key = `${d.policy}\0${d.rule}`;
    const c = this.counts.get(key) ?? { policy: d.policy, rule: d.rule, count: 0 };
    c.count++;
    this.counts.set(key, c);
    const stages = this.latest.get(r.chainId) ?? new Map<number, StageDecisionState>();
    this.latest.set(r.chainId, stages);
    stages.set(d.stage, {
      chain: r.name,
      tenant: r.tenant,
      stage: d.stageName,
      policy: d.policy,
      rule: d.rule,
      desired: d.desired,
      current: d.current,
      atMs: d.nowMs,
    });
    // A count kept by the same rule under the same bound is not news.
    const why = `${d.rule}\0${d.inputs['bound'] ?? ''}`;
    const news = run.lastWhy.get(d.stage) !== why;
    run.lastWhy.set(d.stage, why);
    if ((d.changed && acting) || news) this.events.emit(decisionEvent(d, r.ir));
  }

  private async apply(r: ChainRecord, run: Running, changes: ScaleDecision[]): Promise<void> {
    for (const d of changes) {
      const why = `${d.policy} ${d.rule}`;
      try {
        await this.chains.scale(r, d.stageName, d.desired, why);
        run.capacity.delete(d.stage);
      } catch (err) {
        const e = err as Error;
        if (e instanceof ChainError && e.kind === 'not-found') return; // deleted meanwhile
        const unplaceable = e instanceof ChainError && e.kind === 'unplaceable' && d.desired > d.current;
        // The nodes hold fewer than asked: as many as they do, found from
        // the top (a scale is all or nothing), then that is the stage's
        // capacity for a while, as boundVerdict reports it.
        let held = d.current;
        if (unplaceable) {
          for (let n = d.desired - 1; n > d.current; n--) {
            const ok = await this.chains.scale(r, d.stageName, n, `${why}, bounded by the nodes' capacity`).then(() => true, () => false);
            if (ok) {
              held = n;
              break;
            }
          }
        }
        const was = run.capacity.get(d.stage);
        const holdMs = this.opts.capacityHoldMs ?? DEFAULT_CAPACITY_HOLD_MS;
        if (unplaceable) run.capacity.set(d.stage, { count: held, untilMs: Date.now() + holdMs });
        // Once per cap (a failure of another kind is retried next tick and said each time).
        if (unplaceable && was?.count === held) continue;
        this.log.warn('autoscale change failed', { chain: formatChainRef(r), stage: d.stageName, desired: d.desired, error: e.message });
        this.events.emit({
          kind: 'autoscale-failed',
          chain: r.name,
          tenant: r.tenant,
          stage: d.stageName,
          message:
            `stage ${d.stageName} of chain ${formatChainRef(r)}: ${d.policy} asked ${d.current} -> ${d.desired}: ${e.message}` +
            (unplaceable ? `; the nodes hold ${held}, the most it gets for ${Math.round(holdMs / 1000)} s` : ''),
        });
      }
    }
  }
}
