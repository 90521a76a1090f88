/**
 * Test harness: a real ferryd in this process (own bpffs pin dir, ports
 * picked by the kernel) driven through the real gRPC client, and the small
 * chain the tests run on it:
 *
 *   gateway -> 0 "work" (node, testdata/worker.ts) -> 1 "count" (native,
 *   chains/wordcount count.so) -> reply
 */
import { join } from 'node:path';
import { RouterClass } from '../../dataplane/native.js';
import { createLogger } from '../../log.js';
import type { DataPlaneMode } from '../../node/router/router.js';
import { repoRoot } from '../../paths.js';
import { connectFerryd, type FerrydClient } from '../client.js';
import type { DeepPartial, ProgramChainRequest, StartInstanceRequest } from '../proto.js';
import { startFerryd, type Ferryd, type FerrydOptions } from '../server.js';

export const STAGE_REPLY = 0xffff;
export const WORKER = join(repoRoot, 'control/ferryd/testdata/worker.ts');
export const COUNT_SO = join(repoRoot, 'chains/wordcount/functions/count.so');

let seq = 0;
export function testPinDir(): string {
  return `/sys/fs/bpf/ferry-test-${process.pid}-ferryd-${seq++}`;
}

export interface TestFerryd {
  ferryd: Ferryd;
  client: FerrydClient;
  /** ferryd's log lines (JSON), for diagnosing a failure. */
  logs: string[];
  cleanup(): Promise<void>;
}

export async function startTestFerryd(mode: DataPlaneMode, name = 'test-node', extra: Partial<FerrydOptions> = {}): Promise<TestFerryd> {
  const pinDir = testPinDir();
  const logs: string[] = [];
  const log = createLogger({ test: true }, 'debug', (l) => logs.push(l));
  const ferryd = await startFerryd({
    name,
    grpcAddress: '127.0.0.1:0',
    gatewayAddress: '127.0.0.1:0',
    pinDir,
    mode,
    log,
    backoff: { initialMs: 50, maxMs: 500, resetAfterMs: 30_000 },
    stopGraceMs: 1000,
    ...extra,
  });
  const client = connectFerryd(ferryd.grpcAddress);
  return {
    ferryd,
    client,
    logs,
    cleanup: async () => {
      client.close();
      await ferryd.close();
      if (mode === 'ebpf') RouterClass.unpin(pinDir);
    },
  };
}

/** The two instances of the test chain. */
export function chainInstances(chainId: number, base: number, tag = 'zz'): Partial<StartInstanceRequest>[] {
  return [
    { chainId, instanceId: base, stage: 0, stageName: 'work', runtime: 'node', handler: WORKER, next: [{ name: 'count', id: 1 }], env: { TAG: tag } },
    { chainId, instanceId: base + 1, stage: 1, stageName: 'count', runtime: 'native', handler: COUNT_SO, next: [] },
  ];
}

export function chainProgram(chainId: number, base: number, gatewayId: number, name: string): DeepPartial<ProgramChainRequest> {
  return {
    chainId,
    routes: [
      { stage: 0, targets: [{ instance: base, weight: 1 }] },
      { stage: 1, targets: [{ instance: base + 1, weight: 1 }] },
    ],
    allow: [
      { fromStage: STAGE_REPLY, toStage: 0 },
      { fromStage: 0, toStage: 1 },
      { fromStage: 0, toStage: STAGE_REPLY },
      { fromStage: 1, toStage: STAGE_REPLY },
    ],
    gateway: { chainName: name, entryStage: 0, maxBodyBytes: 0, timeoutMs: 5000, gatewayInstanceId: gatewayId },
  };
}

/** Poll until check returns a value (not undefined), or fail saying what was awaited. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Is a process with this pid alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
