/**
 * Round events from what home nodes report: each stats sample carries the
 * job's JobStats (node.proto); a change of its round or state between two
 * samples is a round that ended (round-closed with its aggregation and
 * round times, or round-failed when failed_rounds grew: fewer than quorum
 * updates by the deadline, or an aggregation that failed) or the job
 * finishing (job-done). A home node sends a sample a
 * second, so rounds shorter than that are reported together: one event
 * per round that ended, with the last one's times.
 */
import type { JobStats } from '../../ferryd/proto.js';
import { homeNode } from '../../fl/job/config.js';
import type { EventBus } from '../events.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { JobRecord } from './record.js';

interface Seen {
  round: number;
  state: string;
  failedRounds: number;
}

export type RoundEvent = { kind: 'round-closed' | 'round-failed' | 'job-done'; message: string };

/** The events between two samples of one job's stats. */
export function roundEvents(job: Pick<JobRecord['ir']['job'], 'name' | 'quorum' | 'rounds'>, before: Seen | undefined, now: JobStats): RoundEvent[] {
  const out: RoundEvent[] = [];
  const from = before?.round ?? now.round;
  // Rounds that failed since the last sample: the last ones to end (a
  // sample a second rarely spans more than one).
  let failures = Math.max(0, now.failedRounds - (before?.failedRounds ?? now.failedRounds));
  const ms = (x: number) => x.toFixed(x >= 100 ? 0 : 1);
  for (let r = from; r < now.round; r++) {
    const last = r === now.round - 1;
    if (now.round - r <= failures) {
      failures--;
      const why = last && now.lastRoundUpdates < job.quorum ? `${now.lastRoundUpdates} of the ${job.quorum} updates it needed by the deadline` : 'no new model';
      out.push({ kind: 'round-failed', message: `job ${job.name}: round ${r} failed (${why}); round ${r + 1} starts from round ${r}'s model` });
    } else {
      const times = last ? `: aggregation ${ms(now.lastAggregationMs)} ms, round ${ms(now.lastRoundMs)} ms, ${now.lastRoundUpdates} updates` : '';
      out.push({ kind: 'round-closed', message: `job ${job.name}: round ${r} closed${times}` });
    }
  }
  if (now.state === 'done' && before?.state !== 'done')
    out.push({ kind: 'job-done', message: `job ${job.name}: all ${job.rounds} rounds done (${now.accepted} updates folded, ${now.lateMerged} late-merged)` });
  return out;
}

/** Turns every home node's samples into events on the bus. */
export class RoundWatcher {
  private readonly seen = new Map<string, Seen>();
  private records: JobRecord[] = [];
  private readonly onStats = (node: string) => this.sample(node);

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly events: EventBus,
  ) {
    nodes.fromNodes.on('stats', this.onStats);
  }

  /** The jobs to watch (after every apply, delete and restore). */
  track(records: JobRecord[]): void {
    this.records = records;
    const keep = new Set(records.map((r) => `${r.tenant}/${r.name}/${r.chainId}`));
    for (const k of this.seen.keys()) if (!keep.has(k)) this.seen.delete(k);
  }

  close(): void {
    this.nodes.fromNodes.off('stats', this.onStats);
  }

  /** A job (re)deployed just now starts at round 0: rounds that end before
   * its first sample are still reported. A job restored after a restart
   * is not seeded: its first sample is where reporting starts. */
  started(r: JobRecord): void {
    this.seen.set(`${r.tenant}/${r.name}/${r.chainId}`, { round: 0, state: 'open', failedRounds: 0 });
  }

  private sample(node: string): void {
    const stats = this.nodes.get(node)?.stats?.jobs ?? [];
    if (stats.length === 0) return;
    for (const r of this.records) {
      if (homeNode(r.ir.job, r.instances) !== node) continue;
      const now = stats.find((j) => j.name === r.name && (j.tenant || 'default') === r.tenant);
      if (!now) continue;
      const key = `${r.tenant}/${r.name}/${r.chainId}`;
      for (const e of roundEvents(r.ir.job, this.seen.get(key), now)) this.events.emit({ ...e, chain: r.name, tenant: r.tenant, node });
      this.seen.set(key, { round: now.round, state: now.state, failedRounds: now.failedRounds });
    }
  }
}
