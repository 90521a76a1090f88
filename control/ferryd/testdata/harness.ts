/**
 * Test harness: a real ferryd in this process (own bpffs pin dir, ports
 * picked by the kernel) driven through the real gRPC client, and the small
 * chain the tests run on it:
 *
 *   gateway -> 0 "work" (node, testdata/worker.ts) -> 1 "count" (native,
 *   chains/wordcount count.so) -> reply
 *
 * gRPC is mutual TLS as everywhere: a test CA (test/helpers/pki.ts) gives
 * ferryd its node certificate and connectFerryd the control plane's, so
 * tests need do nothing about it.
 */
import { join } from 'node:path';
import { RouterClass } from '../../dataplane/native.js';
import { createLogger } from '../../log.js';
import type { DataPlaneMode } from '../../node/router/router.js';
import { repoRoot } from '../../paths.js';
import { testCredential } from '../../../test/helpers/pki.js';
import { connectFerryd as connectWith, type FerrydClient } from '../client.js';
import type { RpcInput } from '../proto.js';
import { startFerryd, type Ferryd, type FerrydOptions } from '../server.js';

export const STAGE_REPLY = 0xffff;
export const WORKER = join(repoRoot, 'control/ferryd/testdata/worker.ts');
export const COUNT_SO = join(repoRoot, 'chains/wordcount/functions/count.so');

/** The control plane's test credential: what drives ferryd in tests. */
export const controlPlaneTls = await testCredential({ kind: 'controlplane' });

/** A client of the ferryd at address, as the control plane (node: the name its certificate must have). */
export function connectFerryd(address: string, node?: string): FerrydClient {
  return connectWith(address, controlPlaneTls, node);
}

/** A node's test credential (for startFerryd's tls). */
export const nodeTls = (name: string) => testCredential({ kind: 'node', name });

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
    tls: await nodeTls(name),
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
export function chainInstances(chainId: number, base: number, tag = 'zz'): RpcInput<'StartInstance'>[] {
  return [
    { chainId, instanceId: base, stage: 0, stageName: 'work', runtime: 'node', handler: WORKER, next: [{ name: 'count', id: 1 }], env: { TAG: tag } },
    { chainId, instanceId: base + 1, stage: 1, stageName: 'count', runtime: 'native', handler: COUNT_SO, next: [] },
  ];
}

export function chainProgram(chainId: number, base: number, gatewayId: number, name: string): RpcInput<'ProgramChain'> {
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

/** The test chain served as name: pool, both instances, routes, gateway. */
export async function deployTestChain(client: FerrydClient, chainId: number, base: number, gatewayId: number, name: string): Promise<void> {
  await client.createPool({ chainId, chainName: name });
  for (const req of chainInstances(chainId, base)) await client.startInstance(req);
  await client.programChain(chainProgram(chainId, base, gatewayId, name));
  await untilReady(client, chainId);
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

/** Wait until every instance of the chain (or those listed) said it is
 * ready: requests are routed only to ready instances. */
export async function untilReady(client: FerrydClient, chainId: number, ids?: number[]): Promise<void> {
  await waitFor(`chain ${chainId}'s instances to be ready`, async () => {
    const { instances } = await client.listInstances({ chainId });
    const mine = instances.filter((i) => !ids || ids.includes(i.instanceId));
    return mine.length > 0 && mine.every((i) => i.ready) ? true : undefined;
  });
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
