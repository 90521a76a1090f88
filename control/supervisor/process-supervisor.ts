/**
 * Keeps one daemon process running: starts it in a process group of its
 * own, restarts it with exponential back-off when it exits unexpectedly
 * (a non-zero code or a signal it was not sent by us), and stops it on
 * request. Whatever the daemon started is in its process group (function
 * instances are its children), so when the daemon dies, the supervisor
 * kills the rest of the group before starting a new one: no orphan keeps
 * holding ports, pools or BPF sockets.
 *
 * States: starting -> running (the daemon said it serves) -> backoff (it
 * died; waiting out the delay) -> starting ...; stopping -> stopped.
 * A daemon that exits before it ever served on the first start is a
 * configuration error (a port in use, a bad flag): the supervisor gives up
 * at once rather than retry what cannot work. A daemon that exits 0 by
 * itself chose to stop (someone sent it SIGTERM): so does the supervisor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { isDaemonReady, type DaemonReady } from './daemon-link.js';

export type SupervisorState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long it ran. */
  ranMs: number;
  atMs: number;
}

export interface ProcessSupervisorOptions {
  command: string;
  /** Read at every start: a restart may pin what the last run bound. */
  args: () => string[];
  /** stdout and stderr of the daemon (an fd, or 'inherit'). */
  output: number | 'inherit';
  env?: NodeJS.ProcessEnv;
  backoff: BackoffPolicy;
  /** SIGTERM-to-SIGKILL grace when stopping the daemon. */
  stopGraceMs: number;
  log: Logger;
  /** Every change of state (state.json follows it). */
  onChange?: (s: SupervisorView) => void;
}

export interface SupervisorView {
  state: SupervisorState;
  /** Of the daemon now running; 0 while none runs. */
  daemonPid: number;
  restarts: number;
  ready?: DaemonReady;
  lastExit?: DaemonExit;
  /** When the daemon starts again, during back-off. */
  nextStartAtMs?: number;
}

export class ProcessSupervisor {
  private readonly backoff: Backoff;
  private child?: ChildProcess;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private everReady = false;
  private view: SupervisorView = { state: 'stopped', daemonPid: 0, restarts: 0 };
  private stopping?: Promise<void>;
  private finish!: (code: number) => void;
  /** Resolves with the supervisor's exit status once it stopped for good:
   * 0 when asked to stop or the daemon stopped cleanly, 1 when it gave up. */
  readonly done: Promise<number>;

  constructor(private readonly opts: ProcessSupervisorOptions) {
    this.backoff = new Backoff(opts.backoff);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  get status(): SupervisorView {
    return { ...this.view };
  }

  start(): void {
    if (this.view.state !== 'stopped' || this.stopping) throw new Error('the supervisor runs already');
    this.launch();
  }

  /** Stop the daemon (SIGTERM, SIGKILL after the grace) and everything in
   * its process group; no restart after. */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const child = this.child;
    this.update({ state: 'stopping', nextStartAtMs: undefined });
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.opts.log.warn('daemon did not stop in time; killing it', { pid: child.pid, graceMs: this.opts.stopGraceMs });
        killGroup(child.pid!, 'SIGKILL');
      }, this.opts.stopGraceMs);
      await exited;
      clearTimeout(timer);
    }
    this.end(0, 'stopped');
  }

  private launch(): void {
    const args = this.opts.args();
    // detached: a new session and process group, led by the daemon, which
    // its instances join; a terminal's Ctrl-C reaches the supervisor only.
    const child = spawn(this.opts.command, args, {
      detached: true,
      stdio: ['ignore', this.opts.output, this.opts.output, 'ipc'],
      env: this.opts.env ?? process.env,
    });
    this.child = child;
    this.startedAt = Date.now();
    this.update({ state: 'starting', daemonPid: child.pid ?? 0, nextStartAtMs: undefined });
    this.opts.log.info('daemon starting', { pid: child.pid, restarts: this.view.restarts });
    child.on('message', (m) => {
      if (!isDaemonReady(m) || this.child !== child || this.view.state !== 'starting') return;
      this.everReady = true;
      this.update({ state: 'running', ready: m });
      this.opts.log.info('daemon ready', { pid: child.pid, admin: m.admin, gateway: m.gateway, restarts: this.view.restarts });
    });
    child.on('error', (err) => {
      this.opts.log.error('daemon process error', { error: err.message });
      // A process that never existed emits no 'exit'.
      if (child.pid === undefined) this.onExit(child, 127, null);
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    const exit: DaemonExit = { code, signal, ranMs: Date.now() - this.startedAt, atMs: Date.now() };
    // What the daemon left behind (its instances, when it was killed)
    // must not outlive it: they hold its ports, pools and sockets.
    const leftovers = child.pid ? killGroup(child.pid, 'SIGKILL') : false;
    this.update({ daemonPid: 0, lastExit: exit });
    if (this.stopping) return; // stopNow() finishes
    const fields = { pid: child.pid, code, signal, ranMs: exit.ranMs, killedLeftovers: leftovers };
    if (code === 0 && signal === null) {
      this.opts.log.info('daemon stopped by itself; the supervisor stops too', fields);
      this.end(0, 'stopped');
      return;
    }
    if (!this.everReady) {
      this.opts.log.error('daemon failed on its first start; not restarting (see its error above)', fields);
      this.end(1, 'stopped');
      return;
    }
    const delay = this.backoff.after(exit.ranMs);
    this.opts.log.warn('daemon exited unexpectedly; restarting', { ...fields, inMs: delay, restarts: this.view.restarts + 1 });
    this.update({ state: 'backoff', nextStartAtMs: Date.now() + delay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopping) return;
      this.update({ restarts: this.view.restarts + 1 });
      this.launch();
    }, delay);
  }

  private end(code: number, state: SupervisorState): void {
    this.update({ state });
    this.finish(code);
  }

  private update(patch: Partial<SupervisorView>): void {
    this.view = { ...this.view, ...patch };
    try {
      this.opts.onChange?.(this.status);
    } catch (err) {
      this.opts.log.warn('state hook failed', { error: (err as Error).message });
    }
  }
}

/** Signal a whole process group; false when it has no member left. */
function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
