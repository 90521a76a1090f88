/** Where a running local ferry is: written by `ferry up`, read by every
 * other command. Lives in $FERRY_HOME (default ~/.ferry). */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The daemon under ferry's supervisor (control/supervisor), as the
 * supervisor last saw it. */
export interface DaemonState {
  /** 0 while none runs (between a crash and its restart). */
  pid: number;
  state: 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; ranMs: number; atMs: number };
  nextStartAtMs?: number;
}

export interface LocalState {
  /** The process `ferry down` stops: the supervisor, or the daemon itself
   * when it runs unsupervised (e.g. under systemd). */
  pid: number;
  admin: string;
  gateway: string;
  ferryd: string;
  /** Prometheus /metrics of the control plane and of the local ferryd ('' when off). */
  metrics?: string;
  ferrydMetrics?: string;
  /** Data plane mode of the local node: ebpf | fallback. */
  mode: string;
  startedAtMs: number;
  dataDir: string;
  log: string;
  /** Absent when the daemon runs unsupervised. */
  daemon?: DaemonState;
}

export function ferryHome(): string {
  return process.env.FERRY_HOME ?? join(homedir(), '.ferry');
}

const stateFile = () => join(ferryHome(), 'state.json');

export function readState(): LocalState | undefined {
  if (!existsSync(stateFile())) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile(), 'utf8')) as LocalState;
  } catch {
    return undefined;
  }
}

/** Replaced whole (write, then rename): a reader never sees half of it. */
export function writeState(s: LocalState): void {
  mkdirSync(ferryHome(), { recursive: true });
  const tmp = `${stateFile()}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, stateFile());
}

export function clearState(): void {
  rmSync(stateFile(), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
