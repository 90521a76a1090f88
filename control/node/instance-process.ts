/** Starting a function instance as a child process with its endpoint, pool
 * and control channel passed as file descriptors 3, 4 and 5. */
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { paths } from '../paths.js';

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
  env?: Record<string, string>;
}

export function spawnInstanceProcess(a: SpawnArgs): ChildProcess {
  const [cmd, ...args] = a.command;
  if (!cmd) throw new Error('empty instance command');
  return spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe', a.endpointFd, a.poolFd, a.controlFd],
    env: {
      ...process.env,
      ...a.env,
      FERRY_INSTANCE_ID: String(a.instanceId),
      FERRY_CHAIN_ID: String(a.chainId),
      FERRY_STAGE: String(a.stage),
      FERRY_STAGE_NAME: a.stageName,
      FERRY_NEXT: nextSpec(a.next),
      FERRY_ENDPOINT_FD: '3',
      FERRY_POOL_FD: '4',
      FERRY_CONTROL_FD: '5',
    },
  });
}
