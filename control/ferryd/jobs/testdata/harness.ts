/**
 * Deploys an aggregation job on a test ferryd exactly as the control plane
 * does (control/fl/DESIGN.md "Compiled form"): CreatePool with explicit
 * size classes from the model, one StartInstance per aggregator stage with
 * handler builtin:aggregator, ProgramChain with routes, allow-list, gateway
 * config and the job. And a small HTTP client of the job API.
 */
import { connect } from 'node:net';
import { encodeUpdate } from '../../../fl/wire.js';
import type { FerrydClient } from '../../client.js';
import type { RpcInput } from '../../proto.js';
import { STAGE_REPLY, untilReady } from '../../testdata/harness.js';

export interface TestJob {
  chainId: number;
  /** First instance id; stages take the next ones, the gateway the last. */
  base: number;
  name: string;
  tenant?: string;
  paramCount: number;
  /** The model's layers (round 0 is glorot-uniform per layer); default one flat, zero tensor. */
  layers?: { name: string; shape: number[] }[];
  leaves: number;
  rounds?: number;
  clients: number;
  quorum?: number;
  roundDeadlineMs?: number;
  stragglers?: 'drop' | 'late-merge';
  maxStaleness?: number;
  weighting?: 'num-examples' | 'uniform';
  seed?: number;
  /** Update buffers the pool may hold at once beyond the aggregators' (default 8). */
  inFlight?: number;
  timeoutMs?: number;
  bodyTimeoutMs?: number;
}

const roundUp64 = (n: number) => Math.ceil(n / 64) * 64;

export interface DeployedJob {
  topStage: number;
  gatewayId: number;
  modelBuffer: number;
  /** Model-sized buffers the pool may hold at once. */
  modelBuffers: number;
}

export async function deployJob(client: FerrydClient, j: TestJob): Promise<DeployedJob> {
  const L = j.leaves;
  const top = L;
  const gatewayId = j.base + L + 1;
  const modelBuffer = roundUp64(64 + 4 * j.paramCount);
  // Per leaf: accumulators for the rounds it may have open and the update
  // it folds; the top's accumulator; 2 kept models, plus the uploads.
  const modelBuffers = L * 3 + 2 + 2 + (j.inFlight ?? 8);
  await client.createPool({
    chainId: j.chainId,
    chainName: j.name,
    tenant: j.tenant ?? '',
    classes: [
      { size: 256, count: 64 },
      { size: modelBuffer, count: modelBuffers },
    ],
    quotaBytes: 256 * 64 + modelBuffer * modelBuffers,
  });
  for (let i = 0; i < L; i++)
    await client.startInstance({
      chainId: j.chainId,
      instanceId: j.base + i,
      stage: i,
      stageName: `leaf-${i}`,
      runtime: 'native',
      handler: 'builtin:aggregator',
      next: [{ name: 'top', id: top }],
    });
  await client.startInstance({ chainId: j.chainId, instanceId: j.base + L, stage: top, stageName: 'top', runtime: 'native', handler: 'builtin:aggregator', next: [] });
  await client.programChain(jobProgram(j, gatewayId));
  await untilReady(client, j.chainId);
  return { topStage: top, gatewayId, modelBuffer, modelBuffers };
}

export function jobProgram(j: TestJob, gatewayId: number): RpcInput<'ProgramChain'> {
  const L = j.leaves;
  const leaves = Array.from({ length: L }, (_, i) => i);
  return {
    chainId: j.chainId,
    routes: [...leaves, L].map((s) => ({ stage: s, targets: [{ instance: j.base + s, weight: 1 }] })),
    allow: [
      ...leaves.map((s) => ({ fromStage: STAGE_REPLY, toStage: s })),
      ...leaves.map((s) => ({ fromStage: s, toStage: L })),
      ...[...leaves, L].map((s) => ({ fromStage: s, toStage: STAGE_REPLY })),
    ],
    gateway: {
      chainName: j.name,
      entryStage: 0,
      maxBodyBytes: 0,
      timeoutMs: j.timeoutMs ?? 10_000,
      gatewayInstanceId: gatewayId,
      bodyTimeoutMs: j.bodyTimeoutMs ?? 10_000,
    },
    job: {
      name: j.name,
      tenant: j.tenant ?? '',
      paramCount: j.paramCount,
      layers: j.layers ?? [],
      initSeed: j.seed ?? 1,
      rounds: j.rounds ?? 3,
      clients: j.clients,
      quorum: j.quorum ?? j.clients,
      roundDeadlineMs: j.roundDeadlineMs ?? 10_000,
      stragglers: j.stragglers ?? 'drop',
      maxStaleness: j.maxStaleness ?? 1,
      weighting: j.weighting ?? 'num-examples',
      fanIn: Math.ceil(j.clients / L),
      localLeaves: leaves,
      groups: [{ parentStage: L, leaves }],
      topStage: L,
      home: true,
      homeNode: '',
    },
  };
}

/** The job's HTTP API at a gateway address. */
export function jobApi(gateway: string, name: string, tenant?: string) {
  const root = `http://${gateway}${tenant ? `/tenants/${tenant}` : ''}/jobs/${name}`;
  return {
    root,
    upload: (round: number, body: Uint8Array, init: RequestInit = {}) =>
      fetch(`${root}/rounds/${round}/updates`, { method: 'POST', body: body as unknown as BodyInit, headers: { 'content-type': 'application/octet-stream' }, ...init }),
    update: (round: number, clientId: string, numExamples: number, delta: Float32Array) =>
      fetch(`${root}/rounds/${round}/updates`, { method: 'POST', body: encodeUpdate({ round, clientId, numExamples }, delta) as unknown as BodyInit }),
    model: async (round: number, waitMs = 10_000): Promise<Float32Array> => {
      const r = await fetch(`${root}/rounds/${round}/model?waitMs=${waitMs}`);
      if (r.status !== 200) throw new Error(`GET round ${round}'s model: ${r.status} ${await r.text()}`);
      return new Float32Array(await r.arrayBuffer());
    },
    status: async () => (await (await fetch(root)).json()) as Record<string, unknown>,
  };
}

/** A deterministic delta for client c in round r. */
export function testDelta(paramCount: number, r: number, c: number): Float32Array {
  const d = new Float32Array(paramCount);
  for (let i = 0; i < paramCount; i++) d[i] = Math.sin(i * 0.37 + c * 1.3 + r * 0.71) * (0.01 + 0.001 * c);
  return d;
}

/** Sends the head and part of the body, then hangs up. */
export function disconnectMidUpload(gateway: string, path: string, body: Uint8Array): Promise<void> {
  const [host, port] = gateway.split(':');
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), host!, () => {
      s.write(`POST ${path} HTTP/1.1\r\nhost: ${gateway}\r\ncontent-length: ${body.byteLength}\r\n\r\n`);
      s.write(body.subarray(0, body.byteLength >> 1), () => setTimeout(() => (s.destroy(), resolve()), 20));
    });
    s.on('error', reject);
  });
}
