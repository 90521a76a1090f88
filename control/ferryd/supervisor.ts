/**
 * Keeps function instances alive.
 *
 * Wraps NodeDataPlane.spawn: an instance that crashes (non-zero exit, or a
 * signal we did not send) under RESTART_ALWAYS is started again after an
 * exponential backoff, under the same instance id, so the routes that name
 * it stay valid (requests sent to it meanwhile come back as instanceDied).
 * Every exit, crash or not, goes to the exit hook so the requests it
 * interrupted can be failed at once.
 *
 * States: RUNNING -> CRASHED -> RESTARTING (waiting out the backoff) ->
 * RUNNING; DRAINING while StopInstance drains it; EXITED when it stopped
 * (or exited 0 on its own); CRASHED stays when the policy is RESTART_NEVER.
 * There is no readiness signal from an instance: it counts as RUNNING once
 * its endpoint is registered, since descriptors sent before it reads wait
 * in its socket.
 */
import type { Logger } from '../log.js';
import type { InstanceExit, InstanceSpec, NodeDataPlane, RunningInstance } from '../node/dataplane.js';
import type { InstanceState, InstanceStatus, RestartPolicy } from './proto.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Up this long, the next crash starts the backoff over. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000, resetAfterMs: 30_000 };

/** How long an instance gets between SIGTERM and SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 2000;

/** How much of stderr last_error keeps. */
const LAST_ERROR_CHARS = 1024;

export type ExitHook = (status: InstanceStatus, exit: InstanceExit, crashed: boolean) => void;

export interface SupervisorOptions {
  /** Only spawn and stop are used. */
  dataPlane: Pick<NodeDataPlane, 'spawn' | 'stop'>;
  log: Logger;
  onExit?: ExitHook;
  backoff?: BackoffPolicy;
  stopGraceMs?: number;
}

interface Supervised {
  spec: InstanceSpec;
  restart: RestartPolicy;
  state: InstanceState;
  restarts: number;
  lastError: string;
  running?: RunningInstance;
  /** Set once we decided it should stop: its exit is then no crash. */
  stopping: boolean;
  stopped?: Promise<InstanceStatus>;
  backoffMs: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
  /** Why the last spawn failed before the process existed. */
  spawnError?: string;
}

export class Supervisor {
  private readonly records = new Map<number, Supervised>();
  private readonly backoff: BackoffPolicy;
  private readonly graceMs: number;
  private closing = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.graceMs = opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
  }

  /** Spawn an instance and watch it. Throws when the id is taken by a live
   * instance or the spawn fails; a dead record under the id is replaced. */
  start(spec: InstanceSpec, restart: RestartPolicy): InstanceStatus {
    if (this.closing) throw new Error('ferryd is shutting down');
    const old = this.records.get(spec.instanceId);
    if (old && isLive(old)) throw new Error(`instance ${spec.instanceId} already exists (${old.state})`);
    const rec: Supervised = {
      spec,
      restart,
      state: 'STARTING',
      restarts: 0,
      lastError: '',
      stopping: false,
      backoffMs: this.backoff.initialMs,
      startedAt: Date.now(),
    };
    this.launch(rec); // throws before the record is kept
    this.records.set(spec.instanceId, rec);
    return view(rec);
  }

  has(instanceId: number): boolean {
    return this.records.has(instanceId);
  }

  status(instanceId: number): InstanceStatus | undefined {
    const rec = this.records.get(instanceId);
    return rec && view(rec);
  }

  /** Every instance known here, or one chain's, by id. */
  list(chainId?: number): InstanceStatus[] {
    return [...this.records.values()]
      .filter((r) => chainId === undefined || r.spec.chainId === chainId)
      .sort((a, b) => a.spec.instanceId - b.spec.instanceId)
      .map(view);
  }

  spec(instanceId: number): InstanceSpec | undefined {
    return this.records.get(instanceId)?.spec;
  }

  isDraining(instanceId: number): boolean {
    return this.records.get(instanceId)?.state === 'DRAINING';
  }

  /** No restarts from now on; shows DRAINING until stop() finishes. */
  beginDrain(instanceId: number): void {
    const rec = this.records.get(instanceId);
    if (!rec || rec.stopping) return;
    rec.stopping = true;
    this.cancelRestart(rec);
    if (rec.running) rec.state = 'DRAINING';
  }

  /** Stop it (SIGTERM, SIGKILL after the grace period) and forget it.
   * Resolves with its last status; undefined when no such instance. */
  stop(instanceId: number): Promise<InstanceStatus> | undefined {
    const rec = this.records.get(instanceId);
    if (!rec) return undefined;
    rec.stopped ??= this.stopRecord(rec);
    return rec.stopped;
  }

  /** Stop everything (no restarts), e.g. on shutdown. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.records.keys()].map((id) => this.stop(id)));
  }

  private async stopRecord(rec: Supervised): Promise<InstanceStatus> {
    const wasLive = isLive(rec);
    rec.stopping = true;
    this.cancelRestart(rec);
    if (rec.running) await this.opts.dataPlane.stop(rec.spec.instanceId, this.graceMs);
    if (wasLive) rec.state = 'EXITED';
    rec.running = undefined;
    if (this.records.get(rec.spec.instanceId) === rec) this.records.delete(rec.spec.instanceId);
    return view(rec);
  }

  private launch(rec: Supervised): void {
    const running = this.opts.dataPlane.spawn(rec.spec);
    rec.running = running;
    rec.state = 'RUNNING';
    rec.startedAt = Date.now();
    rec.spawnError = undefined;
    running.child.on('error', (err) => {
      this.opts.log.warn('instance process error', { instance: rec.spec.instanceId, error: err.message });
      if (running.pid < 0 || running.child.pid === undefined) {
        // The process never existed (e.g. ENOENT), and Node emits no 'exit'
        // then; the data plane cleans up on 'exit', so give it one.
        rec.spawnError = `could not start: ${err.message}`;
        running.child.emit('exit', 127, null);
      }
    });
    void running.exited.then((exit) => this.onExited(rec, running, exit));
  }

  private onExited(rec: Supervised, running: RunningInstance, exit: InstanceExit): void {
    if (rec.running !== running) return;
    rec.running = undefined;
    const crashed = !rec.stopping && (exit.code !== 0 || exit.signal !== null);
    if (crashed) {
      rec.state = 'CRASHED';
      rec.lastError = describeCrash(exit, rec.spawnError ?? running.stderr(), rec.spec.resources?.memoryMb);
    } else if (rec.state !== 'CRASHED') {
      rec.state = 'EXITED';
    }
    try {
      this.opts.onExit?.(view(rec), exit, crashed);
    } catch (err) {
      this.opts.log.warn('exit hook failed', { instance: rec.spec.instanceId, error: (err as Error).message });
    }
    if (crashed && rec.restart === 'RESTART_ALWAYS' && !this.closing) this.scheduleRestart(rec);
  }

  private scheduleRestart(rec: Supervised): void {
    if (Date.now() - rec.startedAt >= this.backoff.resetAfterMs) rec.backoffMs = this.backoff.initialMs;
    const delay = rec.backoffMs;
    rec.backoffMs = Math.min(rec.backoffMs * 2, this.backoff.maxMs);
    rec.state = 'RESTARTING';
    this.opts.log.info('restarting instance', { instance: rec.spec.instanceId, inMs: delay, restarts: rec.restarts });
    rec.timer = setTimeout(() => {
      rec.timer = undefined;
      if (rec.stopping || this.closing) return;
      try {
        this.launch(rec);
        rec.restarts++;
      } catch (err) {
        // Not even a process: count it as one more crash, keep trying.
        rec.state = 'CRASHED';
        rec.lastError = `restart failed: ${(err as Error).message}`;
        this.opts.log.warn('instance restart failed', { instance: rec.spec.instanceId, error: rec.lastError });
        this.scheduleRestart(rec);
      }
    }, delay);
  }

  private cancelRestart(rec: Supervised): void {
    if (rec.timer) clearTimeout(rec.timer);
    rec.timer = undefined;
  }
}

/** Running, or about to be (a pending restart counts). */
function isLive(rec: Supervised): boolean {
  return rec.state !== 'EXITED' && rec.state !== 'CRASHED';
}

function view(rec: Supervised): InstanceStatus {
  return {
    instanceId: rec.spec.instanceId,
    chainId: rec.spec.chainId,
    stage: rec.spec.stage,
    stageName: rec.spec.stageName,
    pid: rec.running?.pid ?? 0,
    state: rec.state,
    restarts: rec.restarts,
    lastError: rec.lastError,
  };
}

/** "killed: out of memory (limit 128 MiB)" / "killed by SIGKILL" /
 * "exited with code 3", then the tail of stderr. */
export function describeCrash(exit: InstanceExit, stderr: string, memoryMb?: number): string {
  const how = exit.oomKilled
    ? `killed: out of memory${memoryMb ? ` (limit ${memoryMb} MiB)` : ''}`
    : exit.signal
      ? `killed by ${exit.signal}`
      : `exited with code ${exit.code}`;
  const tail = stderr.trim().slice(-LAST_ERROR_CHARS);
  return tail ? `${how}: ${tail}` : how;
}
