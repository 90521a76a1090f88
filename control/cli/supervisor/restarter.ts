/**
 * Keeps one child process running: a crash (non-zero exit or a signal) is
 * followed by a restart after an exponential back-off, which starts over
 * once the child has stayed up for a while; a clean exit (0) ends the
 * supervision. stop() passes SIGTERM on and resolves when the child is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { BackoffPolicy } from '../../ferryd/supervisor.js';
import type { Logger } from '../../log.js';

export const DAEMON_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

export interface RestarterOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  backoff?: BackoffPolicy;
  log: Logger;
}

export class Restarter {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private stopping = false;
  private readonly backoff: BackoffPolicy;
  /** Settles when supervision ends (a clean exit or stop()). */
  readonly done: Promise<void>;
  private finish!: () => void;
  restarts = 0;

  constructor(private readonly opts: RestarterOptions) {
    this.backoff = opts.backoff ?? DAEMON_BACKOFF;
    this.delayMs = this.backoff.initialMs;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  start(): void {
    const startedAt = Date.now();
    const child = spawn(this.opts.command, this.opts.args, { stdio: 'inherit', env: this.opts.env });
    this.child = child;
    this.opts.log.info('started', { pid: child.pid, restarts: this.restarts });
    child.on('error', (err) => this.opts.log.error('could not start', { error: err.message }));
    child.on('exit', (code, signal) => {
      this.child = undefined;
      if (this.stopping || code === 0) {
        this.opts.log.info('exited', { code, signal });
        this.finish();
        return;
      }
      if (Date.now() - startedAt >= this.backoff.resetAfterMs) this.delayMs = this.backoff.initialMs;
      const delay = this.delayMs;
      this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
      this.opts.log.warn('ferry exited; restarting', { code, signal, inMs: delay, restarts: this.restarts });
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.restarts++;
        this.start();
      }, delay);
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.child) this.child.kill(signal);
    else this.finish();
    return this.done;
  }
}
