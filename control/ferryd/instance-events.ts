/**
 * The instance events of this ferryd, numbered: the last few hundred are
 * kept so a control plane that reconnects (or starts watching late) can
 * ask for what it missed by sequence number, and every new one goes to the
 * open WatchInstanceEvents streams as it happens.
 */
import type { InstanceEvent } from './proto.js';
import type { SupervisorEvent } from './supervisor.js';

const KEEP = 512;

export class InstanceEventLog {
  private seq = 0;
  private readonly kept: InstanceEvent[] = [];
  private readonly watchers = new Set<(e: InstanceEvent) => void>();

  record(e: SupervisorEvent): InstanceEvent {
    const event: InstanceEvent = { ...e, seq: ++this.seq, timeMs: Date.now() };
    this.kept.push(event);
    if (this.kept.length > KEEP) this.kept.shift();
    for (const w of this.watchers) w(event);
    return event;
  }

  /** Events kept with seq > afterSeq, oldest first. */
  since(afterSeq: number): InstanceEvent[] {
    return this.kept.filter((e) => e.seq > afterSeq);
  }

  /** Returns the function that stops watching. */
  watch(fn: (e: InstanceEvent) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  get lastSeq(): number {
    return this.seq;
  }
}
