/** Where a running local ferry is: written by `ferry up`, read by every
 * other command. Lives in $FERRY_HOME (default ~/.ferry). */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface LocalState {
  pid: number;
  admin: string;
  gateway: string;
  ferryd: string;
  /** Data plane mode of the local node: ebpf | fallback. */
  mode: string;
  startedAtMs: number;
  dataDir: string;
  log: string;
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

export function writeState(s: LocalState): void {
  mkdirSync(ferryHome(), { recursive: true });
  writeFileSync(stateFile(), JSON.stringify(s, null, 2));
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
