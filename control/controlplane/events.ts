/** Everything that happens, for WatchEvents and logs. */
import { EventEmitter } from 'node:events';

export interface ClusterEvent {
  timeMs: number;
  kind:
    | 'chain-applied'
    | 'chain-deleted'
    | 'instance-started'
    | 'instance-stopped'
    | 'instance-crashed'
    | 'instance-restarted'
    | 'node-ready'
    | 'node-lost';
  chain?: string;
  /** The chain's tenant (events without one are the cluster's: nodes). */
  tenant?: string;
  node?: string;
  instance?: number;
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
