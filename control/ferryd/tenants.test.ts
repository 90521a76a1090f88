/**
 * Two tenants' chains of the same name on one real ferryd: each has its own
 * pool, instances, routes and allow-list (all keyed by cluster-unique chain
 * and instance ids), its own gateway path, and cannot be routed into the
 * other's instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes } from '../../test/helpers/dataplane.js';
import { chainInstances, chainProgram, startTestFerryd, type TestFerryd } from './testdata/harness.js';

const mode = modes[0]!;
const ACME = { chainId: 51, base: 510, gw: 519, tag: 'a' };
const BETA = { chainId: 52, base: 520, gw: 529, tag: 'b c d' };

describe(`one chain name in two tenants on one ferryd (${mode} mode)`, () => {
  let t: TestFerryd;
  const url = (path: string) => `http://${t.ferryd.gatewayAddress}${path}`;
  const post = async (path: string) => {
    const r = await fetch(url(path), { method: 'POST', body: 'x' });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    t = await startTestFerryd(mode, 'tenants-node');
    for (const [tenant, c] of [['acme', ACME], ['beta', BETA]] as const) {
      await t.client.createPool({ chainId: c.chainId, chainName: 'wc', tenant });
      for (const i of chainInstances(c.chainId, c.base, c.tag)) await t.client.startInstance(i);
      await t.client.programChain(chainProgram(c.chainId, c.base, c.gw, 'wc'));
    }
  });
  afterAll(() => t.cleanup());

  it("serves each tenant's chain at its own path, through its own instances", async () => {
    // The worker appends its tenant's $TAG; the native stage counts words.
    expect(await post('/tenants/acme/chains/wc')).toMatchObject({ status: 200, body: { words: 2 } });
    expect(await post('/tenants/beta/chains/wc')).toMatchObject({ status: 200, body: { words: 4 } });
  });

  it("keeps /chains/NAME for tenant default, and lists only the asked tenant's chains", async () => {
    const bare = await post('/chains/wc');
    expect(bare.status).toBe(404);
    // It names no chain at all, so none of another tenant's.
    expect((bare.body.error as { message: string }).message).not.toMatch(/acme|beta|served:/);
    const listed = (await (await fetch(url('/tenants/acme/chains'))).json()) as { chains: { name: string; tenant: string; chainId: number }[] };
    expect(listed.chains.map((c) => [c.tenant, c.name, c.chainId])).toEqual([['acme', 'wc', ACME.chainId]]);
    expect(((await (await fetch(url('/chains'))).json()) as { chains: unknown[] }).chains).toEqual([]);
  });

  it("refuses a route from one tenant's chain into the other's instance", async () => {
    const prog = chainProgram(BETA.chainId, BETA.base, BETA.gw, 'wc');
    const routes = [{ stage: 0, targets: [{ instance: ACME.base, weight: 1 }] }, prog.routes![1]!];
    await expect(t.client.programChain({ ...prog, routes })).rejects.toThrow(
      new RegExp(`INVALID_ARGUMENT: routes\\[0\\]\\.targets\\[0\\]\\.instance: instance ${ACME.base} belongs to chain ${ACME.chainId}, not ${BETA.chainId}`),
    );
    expect(await post('/tenants/beta/chains/wc')).toMatchObject({ status: 200, body: { words: 4 } });
  });
});
