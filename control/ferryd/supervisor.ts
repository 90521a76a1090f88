/**
 * Keeps function instances alive.
 *
 * Wraps NodeDataPlane.spawn: an instance that crashes (non-zero exit, or a
 * signal we did not send) under RESTART_ALWAYS is started again after an
 * exponential back-off, under the same instance id, so the routes that name
 * it stay valid. Every exit, crash or not, goes to the exit hook so the
 * requests it interrupted can be failed at once, and every step is an
 * InstanceEvent.
 *
 * States: STARTING (spawned, not yet ready) -> RUNNING (it said it is ready:
 * routable) -> CRASHED -> RESTARTING (waiting out the back-off) or
 * CRASH_LOOP (the same, after several crashes in a row without a stable
 * run) -> STARTING; DRAINING while StopInstance drains it; EXITED when it
 * stopped (or exited 0 on its own); CRASHED stays when the policy is
 * RESTART_NEVER. An instance that exits before it is ready, or is not ready
 * within the start timeout, crashed: a module that throws at load is never
 * routed to and never reported as running.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { InstanceExit, InstanceSpec, NodeDataPlane, RunningInstance } from '../node/dataplane.js';
import type { InstanceEvent, InstanceEventKind, InstanceState, InstanceStatus, RestartPolicy } from './proto.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Ready this long, the next crash starts the back-off over. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 30_000, resetAfterMs: 30_000 };

/** How long an instance gets between SIGTERM and SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 2000;
/** How long a new instance may take to load its function and say so. */
export const DEFAULT_START_TIMEOUT_MS = 30_000;
/** Crashes in a row (no stable run between) that make a crash loop. */
export const CRASH_LOOP_AFTER = 3;

/** How much of stderr last_error keeps. */
const LAST_ERROR_CHARS = 1024;

export type ExitHook = (status: InstanceStatus, exit: InstanceExit, crashed: boolean) => void;

/** An event as the supervisor reports it (the daemon numbers and stamps it). */
/** kind: on the wire any string; what this ferryd sends is one of these. */
export type SupervisorEvent = Omit<InstanceEvent, 'seq' | 'timeMs' | 'kind'> & { kind: InstanceEventKind };

export interface SupervisorOptions {
  dataPlane: Pick<NodeDataPlane, 'spawn' | 'stop' | 'on'>;
  log: Logger;
  onExit?: ExitHook;
  backoff?: BackoffPolicy;
  stopGraceMs?: number;
  startTimeoutMs?: number;
}

interface Supervised {
  spec: InstanceSpec;
  restart: RestartPolicy;
  state: InstanceState;
  restarts: number;
  /** Crashes since it last ran stably. */
  streak: number;
  lastError: string;
  running?: RunningInstance;
  /** Set once we decided it should stop: its exit is then no crash. */
  stopping: boolean;
  stopped?: Promise<InstanceStatus>;
  backoffMs: number;
  readyAt: number;
  restartAt: number;
  timer?: NodeJS.Timeout;
  startTimer?: NodeJS.Timeout;
  /** Why we killed it (stuck, not ready in time), or why the spawn failed. */
  killedFor?: { kind: 'stuck-killed' | 'crashed'; reason: string };
}

/** Events: 'event' (SupervisorEvent), 'routable' (instanceId, chainId):
 * the instance became routable or stopped being so. */
export interface SupervisorEvents {
  event: [SupervisorEvent];
  routable: [instanceId: number, chainId: number];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly records = new Map<number, Supervised>();
  private readonly backoff: BackoffPolicy;
  private readonly graceMs: number;
  private readonly startTimeoutMs: number;
  private closing = false;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.graceMs = opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    opts.dataPlane.on('instance-ready', (id) => this.onReady(id));
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
      streak: 0,
      lastError: '',
      stopping: false,
      backoffMs: this.backoff.initialMs,
      readyAt: 0,
      restartAt: 0,
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

  /** May requests be routed to it: running, ready and not draining. */
  isRoutable(instanceId: number): boolean {
    const rec = this.records.get(instanceId);
    return rec?.state === 'RUNNING' && rec.running?.ready === true;
  }

  /** No restarts from now on; shows DRAINING until stop() finishes. */
  beginDrain(instanceId: number): void {
    const rec = this.records.get(instanceId);
    if (!rec || rec.stopping) return;
    rec.stopping = true;
    this.cancelTimers(rec);
    if (rec.running) {
      rec.state = 'DRAINING';
      this.emit('routable', rec.spec.instanceId, rec.spec.chainId);
    }
  }

  /**
   * Kill an instance that holds requests past their deadline and did not
   * answer a liveness probe: its exit is a crash with this reason, and it is
   * restarted like any crash.
   */
  killStuck(instanceId: number, reason: string): boolean {
    const rec = this.records.get(instanceId);
    if (!rec?.running || rec.stopping) return false;
    rec.killedFor = { kind: 'stuck-killed', reason };
    this.opts.log.warn('killing a stuck instance', { instance: instanceId, reason });
    rec.running.child.kill('SIGKILL');
    return true;
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
    this.cancelTimers(rec);
    if (rec.running) await this.opts.dataPlane.stop(rec.spec.instanceId, this.graceMs);
    if (wasLive) rec.state = 'EXITED';
    rec.running = undefined;
    if (this.records.get(rec.spec.instanceId) === rec) this.records.delete(rec.spec.instanceId);
    if (wasLive) this.report(rec, 'stopped', `instance ${rec.spec.instanceId} (${rec.spec.stageName}) stopped`);
    return view(rec);
  }

  private launch(rec: Supervised): void {
    let running: RunningInstance;
    try {
      running = this.opts.dataPlane.spawn(rec.spec);
    } catch (err) {
      this.report(rec, 'start-failed', `instance ${rec.spec.instanceId} (${rec.spec.stageName}) could not start: ${(err as Error).message}`);
      throw err;
    }
    rec.running = running;
    rec.state = 'STARTING';
    rec.killedFor = undefined;
    this.report(rec, 'started', `instance ${rec.spec.instanceId} (${rec.spec.stageName}) started, pid ${running.pid}`, { pid: running.pid });
    running.child.on('error', (err) => {
      this.opts.log.warn('instance process error', { instance: rec.spec.instanceId, error: err.message });
      if (running.pid < 0 || running.child.pid === undefined) {
        // The process never existed (e.g. ENOENT), and Node emits no 'exit'
        // then; the data plane cleans up on 'exit', so give it one.
        rec.killedFor = { kind: 'crashed', reason: `could not start: ${err.message}` };
        running.child.emit('exit', 127, null);
      }
    });
    if (running.ready) this.onReady(rec.spec.instanceId);
    else {
      rec.startTimer = setTimeout(() => {
        rec.startTimer = undefined;
        if (rec.running !== running || running.ready || rec.stopping) return;
        rec.killedFor = { kind: 'crashed', reason: `not ready within ${this.startTimeoutMs} ms of starting` };
        running.child.kill('SIGKILL');
      }, this.startTimeoutMs);
      rec.startTimer.unref();
    }
    void running.exited.then((exit) => this.onExited(rec, running, exit));
  }

  private onReady(instanceId: number): void {
    const rec = this.records.get(instanceId);
    if (!rec?.running?.ready || rec.state !== 'STARTING') return;
    if (rec.startTimer) clearTimeout(rec.startTimer);
    rec.startTimer = undefined;
    rec.state = 'RUNNING';
    rec.readyAt = Date.now();
    this.report(rec, 'ready', `instance ${instanceId} (${rec.spec.stageName}) is ready`, { pid: rec.running.pid });
    this.emit('routable', instanceId, rec.spec.chainId);
  }

  private onExited(rec: Supervised, running: RunningInstance, exit: InstanceExit): void {
    if (rec.running !== running) return;
    rec.running = undefined;
    this.cancelTimers(rec);
    const crashed = rec.killedFor !== undefined || (!rec.stopping && (exit.code !== 0 || exit.signal !== null || !exit.wasReady));
    const wasRoutable = rec.state === 'RUNNING' || rec.state === 'DRAINING';
    if (crashed) {
      rec.state = 'CRASHED';
      rec.lastError = describeCrash(exit, rec.killedFor?.reason ?? running.stderr(), rec.killedFor !== undefined, rec.spec.resources?.memoryMb);
      if (rec.readyAt && Date.now() - rec.readyAt >= this.backoff.resetAfterMs) {
        rec.streak = 0;
        rec.backoffMs = this.backoff.initialMs;
      }
      rec.streak++;
      const kind = exit.oomKilled ? 'oom-killed' : (rec.killedFor?.kind ?? 'crashed');
      this.report(rec, kind, `instance ${rec.spec.instanceId} (${rec.spec.stageName}) ${rec.lastError}`, exitFields(exit, running.pid));
    } else if (rec.state !== 'CRASHED') {
      rec.state = 'EXITED';
      this.report(rec, 'exited', `instance ${rec.spec.instanceId} (${rec.spec.stageName}) exited`, exitFields(exit, running.pid));
    }
    rec.readyAt = 0;
    if (wasRoutable) this.emit('routable', rec.spec.instanceId, rec.spec.chainId);
    try {
      this.opts.onExit?.(view(rec), exit, crashed);
    } catch (err) {
      this.opts.log.warn('exit hook failed', { instance: rec.spec.instanceId, error: (err as Error).message });
    }
    if (crashed && rec.restart === 'RESTART_ALWAYS' && !this.closing && !rec.stopping) this.scheduleRestart(rec);
  }

  private scheduleRestart(rec: Supervised): void {
    const delay = rec.backoffMs;
    rec.backoffMs = Math.min(rec.backoffMs * 2, this.backoff.maxMs);
    rec.restartAt = Date.now() + delay;
    const looping = rec.streak >= CRASH_LOOP_AFTER;
    rec.state = looping ? 'CRASH_LOOP' : 'RESTARTING';
    this.report(
      rec,
      looping ? 'crash-loop' : 'restarting',
      looping
        ? `instance ${rec.spec.instanceId} (${rec.spec.stageName}) crashed ${rec.streak} times in a row; next start in ${delay} ms. Last error: ${rec.lastError}`
        : `instance ${rec.spec.instanceId} (${rec.spec.stageName}) restarts in ${delay} ms`,
      { backoffMs: delay },
    );
    rec.timer = setTimeout(() => {
      rec.timer = undefined;
      if (rec.stopping || this.closing) return;
      try {
        rec.restarts++;
        this.launch(rec);
      } catch (err) {
        // Not even a process: count it as one more crash, keep trying.
        rec.state = 'CRASHED';
        rec.streak++;
        rec.lastError = `restart failed: ${(err as Error).message}`;
        this.opts.log.warn('instance restart failed', { instance: rec.spec.instanceId, error: rec.lastError });
        this.scheduleRestart(rec);
      }
    }, delay);
  }

  private cancelTimers(rec: Supervised): void {
    if (rec.timer) clearTimeout(rec.timer);
    if (rec.startTimer) clearTimeout(rec.startTimer);
    rec.timer = undefined;
    rec.startTimer = undefined;
  }

  private report(rec: Supervised, kind: SupervisorEvent['kind'], message: string, extra: Partial<SupervisorEvent> = {}): void {
    const e: SupervisorEvent = {
      kind,
      instanceId: rec.spec.instanceId,
      chainId: rec.spec.chainId,
      stage: rec.spec.stage,
      stageName: rec.spec.stageName,
      pid: 0,
      exitCode: 0,
      signal: '',
      restarts: rec.restarts,
      backoffMs: 0,
      message,
      ...extra,
    };
    this.emit('event', e);
  }
}

/** Running, or about to be (a pending restart counts). */
function isLive(rec: Supervised): boolean {
  return rec.state !== 'EXITED' && rec.state !== 'CRASHED';
}

function view(rec: Supervised): InstanceStatus {
  const waiting = rec.state === 'RESTARTING' || rec.state === 'CRASH_LOOP';
  return {
    instanceId: rec.spec.instanceId,
    chainId: rec.spec.chainId,
    stage: rec.spec.stage,
    stageName: rec.spec.stageName,
    pid: rec.running?.pid ?? 0,
    state: rec.state,
    restarts: rec.restarts,
    lastError: rec.lastError,
    ready: rec.state === 'RUNNING' && rec.running?.ready === true,
    restartInMs: waiting ? Math.max(0, rec.restartAt - Date.now()) : 0,
  };
}

function exitFields(exit: InstanceExit, pid: number): Partial<SupervisorEvent> {
  return { pid, exitCode: exit.code ?? -1, signal: exit.signal ?? '' };
}

/** "killed: out of memory (limit 128 MiB)" / "killed by SIGKILL" /
 * "exited with code 3" / "... before it was ready", then why (our reason,
 * or the tail of stderr). */
export function describeCrash(exit: InstanceExit, detail: string, ours = false, memoryMb?: number): string {
  let how = exit.oomKilled
    ? `killed: out of memory${memoryMb ? ` (limit ${memoryMb} MiB)` : ''}`
    : exit.signal
      ? `killed by ${exit.signal}`
      : `exited with code ${exit.code}`;
  if (!exit.oomKilled && !exit.wasReady && !ours) how += ' before it was ready';
  const tail = detail.trim().slice(-LAST_ERROR_CHARS);
  return tail ? `${how}: ${tail}` : how;
}
