/**
 * What a re-apply must change on a running chain, worked out from the
 * stored record and the new IR alone (no I/O): which instances keep
 * running, which roll to the new version, which stages gain or lose
 * instances. Stages are matched by name and id together: an instance knows
 * its next stages by id, and routes are keyed by it.
 *
 * Some changes cannot be made under running instances; the plan then says
 * the chain is redeployed, and why.
 */
import type { ChainIR, StageIR } from '../../chain/ir.js';
import { stageOf, type ChainRecord, type PlacedInstance } from './record.js';
import { stageSpec } from './versions.js';

export type ApplyPlan =
  | { kind: 'redeploy'; reason: string }
  | {
      kind: 'incremental';
      /** Instances of another version than their stage's now: replaced one by one. */
      roll: PlacedInstance[];
      /** New instances wanted, per stage id (stages added, scale.min raised). */
      add: Map<number, number>;
      /** Instances to drain and stop (stages removed, scale.max lowered). */
      remove: PlacedInstance[];
      /** What changes, for people (events, logs); empty when nothing starts or stops. */
      changes: string[];
    };

/** How many instances a stage gets when it is first placed: scale.min, at
 * least one (scale from zero is the autoscaler's to decide). */
export const initialCount = (s: StageIR) => Math.max(1, s.scale.min);

/** The pool a chain's instances map cannot change under them. */
function poolChange(old: ChainIR, ir: ChainIR): string | undefined {
  if (JSON.stringify(old.sizeClasses ?? null) !== JSON.stringify(ir.sizeClasses ?? null)) return 'limits.sizeClasses changed';
  if (old.maxBodyBytes !== ir.maxBodyBytes) return 'limits.maxBodyBytes changed (it sets the size classes)';
  if (old.poolBytes !== ir.poolBytes) return 'limits.poolBytes changed';
  // Buffers live timeoutMs + grace; a shorter timeout is safe under the old lifetime.
  if (ir.timeoutMs > old.timeoutMs) return 'limits.timeoutMs grew (buffers of running requests would be taken back too early)';
  return undefined;
}

/** Stage ids that moved: a name at another id, or an id under another name. */
function movedStages(old: ChainIR, ir: ChainIR): string | undefined {
  for (const s of ir.stages) {
    const before = old.stages.find((o) => o.name === s.name);
    if (before && before.id !== s.id) return `function ${s.name} moved from position ${before.id + 1} to ${s.id + 1}`;
    const there = old.stages[s.id];
    if (there && there.name !== s.name && ir.stages.some((n) => n.name === there.name))
      return `function ${there.name} and ${s.name} changed places`;
    if (there && there.name !== s.name) return `function ${there.name} at position ${s.id + 1} was replaced by ${s.name}`;
  }
  return undefined;
}

/**
 * The n instances to stop first: those of another version (they would
 * roll anyway), then from the node holding most of the stage's instances
 * (keeps them spread), then the newest.
 */
export function pickToRemove(instances: readonly PlacedInstance[], n: number, current: (i: PlacedInstance) => boolean = () => true): PlacedInstance[] {
  const perNode = new Map<string, number>();
  for (const i of instances) perNode.set(i.node, (perNode.get(i.node) ?? 0) + 1);
  const stale = (i: PlacedInstance) => (current(i) ? 0 : 1);
  return [...instances]
    .sort((a, b) => stale(b) - stale(a) || perNode.get(b.node)! - perNode.get(a.node)! || b.id - a.id)
    .slice(0, Math.max(0, n));
}

export function planApply(old: ChainRecord, ir: ChainIR, versions: ReadonlyMap<number, string>): ApplyPlan {
  const pool = poolChange(old.ir, ir);
  if (pool) return { kind: 'redeploy', reason: `${pool}: a pool cannot change under running instances` };
  const moved = movedStages(old.ir, ir);
  if (moved) return { kind: 'redeploy', reason: `${moved}: stage ids follow the order of functions (add new ones at the end to roll without a redeploy)` };
  const roll: PlacedInstance[] = [];
  const add = new Map<number, number>();
  const remove: PlacedInstance[] = [];
  const changes: string[] = [];
  for (const s of ir.stages) {
    const before = old.ir.stages[s.id];
    const mine = old.instances.filter((i) => i.stage === s.id);
    if (!before) {
      add.set(s.id, initialCount(s));
      changes.push(`stage ${s.name} added (${initialCount(s)})`);
      continue;
    }
    const want = versions.get(s.id)!;
    // A record from before versions were kept: same spec, assume same file.
    const legacy = stageSpec(before) === stageSpec(s) ? want : undefined;
    const current = (i: PlacedInstance) => (i.version ?? legacy) === want;
    const target = Math.min(s.scale.max, Math.max(s.scale.min, mine.length));
    const dropped = pickToRemove(mine, mine.length - target, current);
    remove.push(...dropped);
    const stale = mine.filter((i) => !dropped.includes(i) && !current(i));
    roll.push(...stale);
    if (target > mine.length) add.set(s.id, target - mine.length);
    if (stale.length) changes.push(`stage ${s.name} rolls to version ${want} (${stale.length} instance${stale.length > 1 ? 's' : ''})`);
    if (target !== mine.length) changes.push(`stage ${s.name} scaled ${mine.length} -> ${target} (scale ${s.scale.min}..${s.scale.max})`);
  }
  // Stages past the new list's end, also those a roll that stopped part-way left behind.
  for (const id of [...new Set(old.instances.map((i) => i.stage))].filter((x) => x >= ir.stages.length).sort((a, b) => a - b)) {
    remove.push(...old.instances.filter((i) => i.stage === id));
    changes.push(`stage ${stageOf(old, id)?.name ?? id} removed`);
  }
  return { kind: 'incremental', roll, add, remove, changes };
}
