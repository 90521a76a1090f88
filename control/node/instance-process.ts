/** Starting a function instance as a child process with its endpoint, pool
 * and control channel passed as file descriptors 3, 4 and 5, through the
 * sandbox's launcher when there is one, with an allow-listed environment. */
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { paths } from '../paths.js';
import { instanceEnv } from './sandbox/environment.js';
import type { FileNeed } from './sandbox/sandbox.js';

export interface StageRef {
  name: string;
  id: number;
}

export type Runtime = 'node' | 'native';

/** The command that runs a function of the given runtime. */
export function runtimeCommand(runtime: Runtime, handler: string): string[] {
  if (runtime === 'native') return [paths.nativeRunner, handler];
  return [process.execPath, '--import', pathToFileURL(paths.tsxLoader).href, paths.nodeRunner, handler];
}

/** The files a runtime needs to run a handler, as a sandboxed user sees them. */
export function runtimeFiles(runtime: Runtime, handler: string): FileNeed[] {
  const own: FileNeed = { path: handler, need: 'read' };
  if (runtime === 'native') return [{ path: paths.nativeRunner, need: 'exec' }, own];
  return [
    { path: process.execPath, need: 'exec' },
    { path: paths.tsxLoader, need: 'read' },
    { path: paths.nodeRunner, need: 'read' },
    { path: paths.addon, need: 'read' },
    own,
  ];
}

export function nextSpec(next: StageRef[]): string {
  return next.map((s) => `${s.name}=${s.id}`).join(',');
}

export interface SpawnArgs {
  command: string[];
  instanceId: number;
  chainId: number;
  stage: number;
  stageName: string;
  next: StageRef[];
  endpointFd: number;
  poolFd: number;
  controlFd: number;
  /** The caller's variables (see sandbox/environment.ts for the rest). */
  env?: Record<string, string>;
  /** What goes before the command, given the fds the child inherits on
   * purpose (the sandbox launcher keeps those and closes every other). */
  prefix?: (passFds: number[]) => string[];
}

export function spawnInstanceProcess(a: SpawnArgs): ChildProcess {
  if (!a.command[0]) throw new Error('empty instance command');
  // Child fd 3 + i is passed[i].
  const passed = [a.endpointFd, a.poolFd, a.controlFd];
  const [cmd, ...args] = [...(a.prefix?.(passed.map((_, i) => 3 + i)) ?? []), ...a.command] as [string, ...string[]];
  return spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe', ...passed],
    env: instanceEnv(
      {
        FERRY_INSTANCE_ID: String(a.instanceId),
        FERRY_CHAIN_ID: String(a.chainId),
        FERRY_STAGE: String(a.stage),
        FERRY_STAGE_NAME: a.stageName,
        FERRY_NEXT: nextSpec(a.next),
        FERRY_ENDPOINT_FD: '3',
        FERRY_POOL_FD: '4',
        FERRY_CONTROL_FD: '5',
      },
      a.env,
    ),
  });
}
