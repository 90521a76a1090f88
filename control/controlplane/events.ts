/** Everything that happens, for WatchEvents and logs. */
import { EventEmitter } from 'node:events';

export interface ClusterEvent {
  timeMs: number;
  /** instance-* kinds are ferryd's InstanceEvent kinds (started, ready,
   * exited, crashed, oom-killed, stuck-killed, start-failed, restarting,
   * crash-loop, stopped: InstanceEventKind in ferryd/proto.ts), passed on
   * as ferryd sends them: on the wire a kind is any string, and one a
   * newer ferryd adds still reaches WatchEvents. */
  kind:
    | 'chain-applied'
    | 'chain-deleted'
    /** Its nodes were gone, so it was placed again on the nodes there are. */
    | 'chain-replaced'
    /** A stored chain could not be made to run; the message says why. */
    | 'chain-restore-failed'
    | 'node-ready'
    | 'node-lost'
    /** A stored node came back under another name. */
    | 'node-renamed'
    /** A stage was given more or fewer instances (ChainManager.scale). */
    | 'scaled'
    /** An instance was replaced by a new one (ChainManager.replace). */
    | 'instance-replaced'
    /** The autoscaler could not give a stage the instances it decided on
     * (scale from zero included); the message says why. */
    | 'autoscale-failed'
    /** An autoscaling policy's decision for a stage: the rule that fired,
     * the counts and the inputs that mattered (autoscale/autoscaler.ts). */
    | 'autoscale-decision'
    /** Aggregation jobs (controlplane/jobs/): applied or restored, deleted,
     * a stored one that could not be restored. */
    | 'job-applied'
    | 'job-deleted'
    | 'job-restore-failed'
    /** Rounds, as the job's home node reports them (jobs/rounds.ts). */
    | 'round-closed'
    | 'round-failed'
    | 'job-done'
    | `instance-${string}`;
  /** The chain's name, or the job's for job and round events. */
  chain?: string;
  /** The chain's tenant (events without one are the cluster's: nodes). */
  tenant?: string;
  node?: string;
  instance?: number;
  stage?: string;
  exitCode?: number;
  signal?: string;
  message: string;
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly recent: ClusterEvent[] = [];

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(e: Omit<ClusterEvent, 'timeMs'>): void {
    const event = { timeMs: Date.now(), ...e };
    this.recent.push(event);
    if (this.recent.length > 1000) this.recent.shift();
    this.emitter.emit('event', event);
  }

  /** Subscribe; returns the unsubscribe function. */
  subscribe(fn: (e: ClusterEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  history(): ClusterEvent[] {
    return [...this.recent];
  }
}
