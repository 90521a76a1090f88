/**
 * Runs an example chain for its tests the way ferryd would on one node:
 * compiled by the real compiler, one instance per stage on a real
 * NodeDataPlane (eBPF router as root, relay otherwise), routes and
 * allow-lists from routeTables/allowEdges, requests injected through a
 * gateway endpoint. Each chain gets its own bpffs pin directory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compileChainFile } from '../control/chain/validate.js';
import { allowEdges, routeTables, type Placed } from '../control/chain/routes.js';
import type { ChainIR } from '../control/chain/ir.js';
import { Injector, type Reply } from '../control/gateway/injector.js';
import type { NodeDataPlane } from '../control/node/dataplane.js';
import { modes, openDataPlane } from '../test/helpers/dataplane.js';

const NODE = 'local';
const GATEWAY_ID = 1;
const decoder = new TextDecoder();

export interface ChainReply {
  status: string;
  error: boolean;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

export interface RunningChain {
  ir: ChainIR;
  dp: NodeDataPlane;
  /** Instance id serving each stage, by stage name. */
  instances: Record<string, number>;
  send(body: string | Uint8Array): Promise<ChainReply>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment for every instance (e.g. where a stage persists). */
  env?: Record<string, string>;
  chainId?: number;
}

function decode(r: Reply): ChainReply {
  const text = decoder.decode(r.body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, error: r.error, text, json };
}

export async function startChain(chainFile: string, opts: StartOptions = {}): Promise<RunningChain> {
  const [ir] = compileChainFile(chainFile);
  if (!ir) throw new Error(`${chainFile} defines no chain`);
  const chainId = opts.chainId ?? 40;
  const { dp, cleanup } = await openDataPlane(modes[0] ?? 'fallback');
  dp.createPool(chainId, ir.name);
  const placement = new Map<number, Placed[]>();
  const instances: Record<string, number> = {};
  for (const s of ir.stages) {
    const instanceId = 100 + s.id;
    dp.spawn({ instanceId, chainId, stage: s.id, stageName: s.name, runtime: s.runtime, handler: s.handler, next: s.next, env: opts.env });
    placement.set(s.id, [{ instance: instanceId, node: NODE, weight: 1 }]);
    instances[s.name] = instanceId;
  }
  for (const r of routeTables(ir, placement, NODE)) dp.setRoute(chainId, r.stage, r.targets);
  for (const [from, to] of allowEdges(ir)) dp.allow(chainId, from, to);
  const inj = new Injector(dp.openGateway(chainId, GATEWAY_ID));
  return {
    ir,
    dp,
    instances,
    send: async (body) => decode(await inj.request(ir.entry, body, { timeoutMs: 10_000 })),
    close: async () => {
      inj.close();
      await cleanup();
    },
  };
}

/** The chain's sample requests (requests/*.json), by file name without .json. */
export function sampleRequests(chainFile: string): Record<string, string> {
  const dir = join(dirname(chainFile), 'requests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  return Object.fromEntries(files.map((f) => [basename(f, '.json'), readFileSync(join(dir, f), 'utf8')]));
}
