/** Starting a function instance as a child process with its endpoint, pool
 * and control channel passed as file descriptors 3, 4 and 5 (and a Node
 * handler ferryd bundled on a pipe at 6), through the sandbox's launcher
 * when there is one, with an allow-listed environment. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { paths } from '../paths.js';
import { instanceEnv } from './sandbox/environment.js';
import type { FileNeed } from './sandbox/sandbox.js';

export interface StageRef {
  name: string;
  id: number;
}

export type Runtime = 'node' | 'native';

/** The child's fd a bundled handler arrives on (handler-bundle.ts). */
export const HANDLER_CODE_FD = 6;

/** The command that runs a function of the given runtime; bundled: a Node
 * handler that arrives bundled on a pipe, for the compiled runner. */
export function runtimeCommand(runtime: Runtime, handler: string, bundled = false): string[] {
  if (runtime === 'native') return [paths.nativeRunner, handler];
  if (bundled) return [process.execPath, paths.nodeRunnerJs, handler];
  return [process.execPath, '--import', pathToFileURL(paths.tsxLoader).href, paths.nodeRunner, handler];
}

/** The files a runtime needs to run a handler, as a sandboxed user sees them. */
export function runtimeFiles(runtime: Runtime, handler: string, bundled = false): FileNeed[] {
  const own: FileNeed = { path: handler, need: 'read' };
  if (runtime === 'native') return [{ path: paths.nativeRunner, need: 'exec' }, own];
  return [
    { path: process.execPath, need: 'exec' },
    ...(bundled
      ? [{ path: paths.nodeRunnerJs, need: 'read' as const }, { path: paths.sdkJs, need: 'read' as const }]
      : [{ path: paths.tsxLoader, need: 'read' as const }, { path: paths.nodeRunner, need: 'read' as const }]),
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
  /** A bundled handler, written to the child's fd 6 (HANDLER_CODE_FD). */
  handlerCode?: string;
}

export function spawnInstanceProcess(a: SpawnArgs): ChildProcess {
  if (!a.command[0]) throw new Error('empty instance command');
  // Child fd 3 + i is passed[i].
  const passed = [a.endpointFd, a.poolFd, a.controlFd];
  const childFds = passed.map((_, i) => 3 + i);
  const code = a.handlerCode !== undefined;
  if (code) childFds.push(HANDLER_CODE_FD);
  const [cmd, ...args] = [...(a.prefix?.(childFds) ?? []), ...a.command] as [string, ...string[]];
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe', ...passed, ...(code ? (['pipe'] as const) : [])],
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
        ...(code ? { FERRY_HANDLER_FD: String(HANDLER_CODE_FD) } : {}),
      },
      a.env,
    ),
  });
  if (a.handlerCode !== undefined) {
    const pipe = (child.stdio as unknown as (Writable | null)[])[HANDLER_CODE_FD];
    // A child that dies before reading it closes the pipe: its exit says why.
    pipe?.on('error', () => undefined);
    pipe?.end(a.handlerCode);
  }
  return child;
}
