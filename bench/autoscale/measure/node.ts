/**
 * A real ferryd in this process for the measurements: its own CA (a temp
 * directory, never $FERRY_HOME), its own bpffs pin directory, eBPF as root
 * and the relay otherwise, instances sandboxed wherever ferryd can (the
 * default), driven over its gRPC API with the control plane's credential
 * exactly as the control plane deploys a chain (chains/deploy.ts), plus a
 * gateway endpoint in this process to inject requests at any stage, and
 * for every stage a second instance running a native echo
 * (bench/hop/functions/echo.so): routing a stage to its echo captures what
 * the stage before it sent, back at the gateway (a gateway endpoint takes
 * replies only, and an instance only requests for its own stage).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalPki } from '../../../control/auth/local-pki.js';
import type { ChainIR } from '../../../control/chain/ir.js';
import { STAGE_REPLY } from '../../../control/dataplane/descriptor.js';
import { RouterClass } from '../../../control/dataplane/native.js';
import { connectFerryd, type FerrydClient } from '../../../control/ferryd/client.js';
import { startFerryd, type Ferryd } from '../../../control/ferryd/server.js';
import { Injector } from '../../../control/gateway/injector.js';
import { createLogger } from '../../../control/log.js';
import { repoRoot } from '../../../control/paths.js';

export const CHAIN_ID = 77;
const GATEWAY_ID = 7;
const NODE = 'bench';
const ECHO = join(repoRoot, 'bench/hop/functions/echo.so');
/** Instance ids: the chain's, capture echoes, and those started later. */
const FIRST_ID = 1000;
const FIRST_ECHO_ID = 2000;

export interface MeasuredNode {
  chainId: number;
  ferryd: Ferryd;
  client: FerrydClient;
  inj: Injector;
  /** The instance serving each stage, by stage id. */
  instances: number[];
  startInstance(stage: number, instanceId: number): Promise<void>;
  /** Point a stage's route at one instance, or at its capture echo. */
  route(stage: number, target: number | 'capture'): void;
  untilReady(ids: number[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function deployChain(ir: ChainIR): Promise<MeasuredNode> {
  const home = mkdtempSync(join(tmpdir(), 'ferry-bench-autoscale-'));
  const pki = new LocalPki(home);
  await pki.ensure();
  const pinDir = `/sys/fs/bpf/ferry-bench-autoscale-${process.pid}`;
  const root = process.getuid?.() === 0;
  const ferryd = await startFerryd({
    name: NODE,
    tls: await pki.credential({ kind: 'node', name: NODE }),
    grpcAddress: '127.0.0.1:0',
    pinDir,
    mode: root ? 'ebpf' : 'fallback',
    log: createLogger({ bench: 'autoscale' }, 'warn'),
  });
  const client = connectFerryd(ferryd.grpcAddress, await pki.credential({ kind: 'controlplane' }), NODE);
  await client.createPool({
    chainId: CHAIN_ID,
    chainName: ir.name,
    tenant: ir.tenant,
    classes: (ir.sizeClasses ?? []).map((size) => ({ size, count: 0 })),
    quotaBytes: ir.poolBytes,
    maxBodyBytes: ir.maxBodyBytes,
    lifetimeMs: ir.timeoutMs + 5000,
  });
  const dp = ferryd.dataPlane;
  const start = async (stage: number, instanceId: number, echo: boolean) => {
    const s = ir.stages[stage]!;
    await client.startInstance({
      chainId: CHAIN_ID,
      instanceId,
      stage: s.id,
      stageName: echo ? `${s.name}-capture` : s.name,
      runtime: echo ? 'native' : s.runtime,
      handler: echo ? ECHO : s.handler,
      next: echo ? [] : s.next,
      env: {},
      restart: 'RESTART_ALWAYS',
      tenant: ir.tenant,
      resources: s.resources,
    });
  };
  const startInstance = (stage: number, instanceId: number) => start(stage, instanceId, false);
  const untilReady = async (ids: number[], timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { instances } = await client.listInstances({ chainId: CHAIN_ID });
      if (ids.every((id) => instances.find((i) => i.instanceId === id)?.ready)) return;
      if (Date.now() > deadline) throw new Error(`instances ${ids.join(', ')} not ready after ${timeoutMs} ms: ${JSON.stringify(instances.map((i) => [i.instanceId, i.state, i.lastError]))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const instances = ir.stages.map((s) => FIRST_ID + s.id);
  const echoes = ir.stages.map((s) => FIRST_ECHO_ID + s.id);
  for (const s of ir.stages) {
    await start(s.id, instances[s.id]!, false);
    await start(s.id, echoes[s.id]!, true);
  }
  await untilReady([...instances, ...echoes]);
  // The gateway may send to every stage (to time each alone) and every
  // stage (and so its echo) may answer the gateway.
  for (const s of ir.stages) {
    dp.allow(CHAIN_ID, STAGE_REPLY, s.id);
    dp.allow(CHAIN_ID, s.id, STAGE_REPLY);
    for (const n of s.next) dp.allow(CHAIN_ID, s.id, n.id);
    dp.setRoute(CHAIN_ID, s.id, [{ instance: instances[s.id]!, weight: 1 }]);
  }
  const inj = new Injector(dp.openGateway(CHAIN_ID, GATEWAY_ID));
  return {
    chainId: CHAIN_ID,
    ferryd,
    client,
    inj,
    instances,
    startInstance,
    untilReady,
    route: (stage, target) => dp.setRoute(CHAIN_ID, stage, [{ instance: target === 'capture' ? echoes[stage]! : target, weight: 1 }]),
    close: async () => {
      inj.close();
      client.close();
      await ferryd.close();
      if (root) RouterClass.unpin(pinDir);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
