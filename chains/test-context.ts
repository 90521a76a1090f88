/**
 * Runs an example chain for its tests the way ferryd would on one node:
 * compiled by the real compiler, one instance per stage on a real
 * NodeDataPlane (eBPF router as root, relay otherwise), routes and
 * allow-lists from routeTables/allowEdges, requests injected through a
 * gateway endpoint. Each chain gets its own bpffs pin directory.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { compileChainFile } from '../control/chain/validate.js';
import { allowEdges, routeTables, type Placed } from '../control/chain/routes.js';
import type { ChainIR } from '../control/chain/ir.js';
import { FLAG_RESPONSE } from '../control/dataplane/descriptor.js';
import { answerOf } from '../control/gateway/answer.js';
import { GatewayError } from '../control/gateway/errors.js';
import { Injector, type Reply } from '../control/gateway/injector.js';
import type { NodeDataPlane } from '../control/node/dataplane.js';
import { modes, openDataPlane } from '../test/helpers/dataplane.js';

const NODE = 'local';
const GATEWAY_ID = 1;
const decoder = new TextDecoder();

/** What an HTTP caller of the chain gets: the gateway's own rendering
 * (control/gateway/answer.ts), without the HTTP. */
export interface HttpOutcome {
  status: number;
  /** For an error: ferry's {code, message}. */
  code?: string;
  message?: string;
}

export interface ChainReply {
  status: string;
  error: boolean;
  http: HttpOutcome;
  /** The body (a function's answer without its trailer), or the error text. */
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  /** The reply came back in the very buffer the request was written into:
   * no stage copied the payload into a new one. */
  sameBuffer: boolean;
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
  let http: HttpOutcome;
  let text: string;
  try {
    const a = answerOf(r, 'chain');
    http = { status: a.status };
    text = decoder.decode(a.body);
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    http = { status: err.statusCode, code: err.code, message: err.message };
    text = (r.flags & FLAG_RESPONSE) !== 0 ? err.message : decoder.decode(r.body);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, error: r.error, http, text, json, sameBuffer: r.offset === r.sent.offset && r.generation === r.sent.generation };
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

export { sampleRequests } from './samples.js';

export interface ChainUnderTest {
  readonly chain: RunningChain;
  /** Sends a body (a string as is, anything else as JSON). */
  send(body: unknown): Promise<ChainReply>;
  /** The reply's JSON (any: tests look deep into it), failing the test unless the chain answered ok. */
  ok(body: unknown): Promise<any>;
  /** The error text, failing the test unless a function failed the request (500). */
  fails(body: unknown): Promise<string>;
  /** The HTTP error a function refused the request with, failing the test unless it is a 4xx. */
  rejects(body: unknown): Promise<HttpOutcome>;
}

/** Starts the chain before the file's tests and stops it after them. */
export function chainUnderTest(chainFile: string, opts: StartOptions | (() => StartOptions) = {}): ChainUnderTest {
  let running: RunningChain | undefined;
  beforeAll(async () => {
    running = await startChain(chainFile, typeof opts === 'function' ? opts() : opts);
  });
  afterAll(async () => {
    await running?.close();
  });
  const t: ChainUnderTest = {
    get chain() {
      if (!running) throw new Error('the chain is not running (used outside a test?)');
      return running;
    },
    send: (body) => t.chain.send(typeof body === 'string' ? body : JSON.stringify(body)),
    async ok(body) {
      const r = await t.send(body);
      expect(r.status, r.text).toBe('ok');
      return r.json;
    },
    async fails(body) {
      const r = await t.send(body);
      expect(r.status, r.text).toBe('functionError');
      expect(r.error).toBe(true);
      return r.text;
    },
    async rejects(body) {
      const r = await t.send(body);
      expect(r.http.status, r.text).toBeGreaterThanOrEqual(400);
      expect(r.http.status, r.text).toBeLessThan(500);
      return r.http;
    },
  };
  return t;
}
