/**
 * The Admin API's doors, against a real control plane with a real local
 * ferryd and real instances, over real mutual TLS: who gets in at all,
 * what a tenant's credential can reach (its own chains only; another
 * tenant's chain is NOT_FOUND, the same as one that does not exist), two
 * tenants with a chain of the same name side by side, and records stored
 * by the previous version (cluster-wide names) moved under their tenant.
 */
import { ChannelCredentials, credentials } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgedCredential, testCredential, type Forgery } from '../../../test/helpers/pki.js';
import { CHANNEL_OPTIONS } from '../../auth/grpc.js';
import type { Identity } from '../../auth/identity.js';
import { createCa, issue } from '../../auth/ca.js';
import { toCredential } from '../../auth/credential.js';
import { startFerryd } from '../../ferryd/server.js';
import { controlPlaneTls, nodeTls, testPinDir } from '../../ferryd/testdata/harness.js';
import { createLogger } from '../../log.js';
import { repoRoot } from '../../paths.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';
import { rejection } from '../../../test/helpers/admin.js';
import { AdminClient } from './client.js';
import { AdminClientCtor, type AdminEvent } from './proto.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ferry-tenants-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-tenants`;
const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');
const greetYaml = readFileSync(greetFile, 'utf8');
const greetOf = (tenant: string) => greetYaml.replace('metadata: { name: greet }', `metadata: { name: greet, tenant: ${tenant} }`);

let cp: ControlPlane;
const clients: AdminClient[] = [];

async function as(id: Identity): Promise<AdminClient> {
  const c = new AdminClient(cp.adminAddress, await testCredential(id));
  clients.push(c);
  return c;
}


async function post(path: string, name: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${cp.gatewayAddress}${path}`, { method: 'POST', body: JSON.stringify({ name }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function start(): Promise<ControlPlane> {
  return startControlPlane({
    dataDir,
    adminAddress: '127.0.0.1:0',
    tls: controlPlaneTls,
    localNode: { name: 'solo', tls: await nodeTls('solo'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', pinDir },
    log: createLogger({ test: 'tenants' }, 'error'),
  });
}

describe('Admin API over mutual TLS, with tenants as namespaces', () => {
  let operator: AdminClient;
  let acme: AdminClient;
  let beta: AdminClient;

  beforeAll(async () => {
    cp = await start();
    operator = await as({ kind: 'operator' });
    acme = await as({ kind: 'tenant', name: 'acme' });
    beta = await as({ kind: 'tenant', name: 'beta' });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await cp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  /** After every refusal the control plane must still serve. */
  async function stillServes(): Promise<void> {
    expect((await operator.call('ListNodes', {})).nodes.map((n) => n.name)).toEqual(['solo']);
  }

  it('refuses a plaintext client and one without a certificate', async () => {
    for (const creds of [credentials.createInsecure(), ChannelCredentials.createSsl(Buffer.from(controlPlaneTls.ca), null, null, { checkServerIdentity: () => undefined })]) {
      const raw = new AdminClientCtor(cp.adminAddress, creds, CHANNEL_OPTIONS) as unknown as { ListNodes(r: object, o: object, cb: (e: { code: number } | null) => void): void; close(): void };
      const code = await new Promise<number>((resolve) => raw.ListNodes({}, { deadline: Date.now() + 10_000 }, (e) => resolve(e?.code ?? 0)));
      raw.close();
      expect(code).toBe(14); // UNAVAILABLE: no TLS session with this server
    }
    await stillServes();
  });

  it.each<Forgery>(['self-signed', 'foreign-ca', 'expired'])('refuses an operator certificate that is %s', async (forgery) => {
    const forged = new AdminClient(cp.adminAddress, await forgedCredential(forgery, { kind: 'operator' }));
    clients.push(forged);
    expect((await rejection(forged.call('ListNodes', {}, 10_000))).code).toBe('UNAVAILABLE');
    await stillServes();
  });

  it.each<Identity>([{ kind: 'node', name: 'solo' }, { kind: 'controlplane' }])(
    'answers a %j certificate PERMISSION_DENIED on every call',
    async (id) => {
      const c = await as(id);
      const err = await rejection(c.call('ListChains', {}));
      expect(err.code).toBe('PERMISSION_DENIED');
      expect(err.message).toMatch(/may not call this; it needs the operator's credential or a tenant's/);
      await stillServes();
    },
  );

  it('keeps node registration and the node list to the operator', async () => {
    for (const call of [acme.call('RegisterNode', { address: '127.0.0.1:1', labels: {} }), acme.call('ListNodes', {})]) {
      const err = await rejection(call);
      expect(err.code).toBe('PERMISSION_DENIED');
      expect(err.message).toContain("tenant acme may not call this; it needs the operator's credential");
    }
  });

  it("refuses to register a ferryd whose node certificate is not from the cluster's CA", async () => {
    const otherCa = await createCa('another cluster');
    const rogue = await startFerryd({
      tls: toCredential(otherCa.cert, await issue(otherCa, { kind: 'node', name: 'rogue' }), 'rogue'),
      grpcAddress: '127.0.0.1:0',
      pinDir: testPinDir(),
      mode: 'fallback',
      log: createLogger({}, 'error', () => undefined),
    });
    try {
      const err = await rejection(operator.call('RegisterNode', { address: rogue.grpcAddress, labels: {} }));
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(new RegExp(`no ferryd answers at ${rogue.grpcAddress}: .*certificate`));
      expect((await operator.call('ListNodes', {})).nodes.map((n) => n.name)).toEqual(['solo']);
    } finally {
      await rogue.close();
    }
  });

  it('lets two tenants each apply a chain named greet, and serves both', async () => {
    const a = await acme.call('ApplyChain', { yaml: greetYaml, file: greetFile });
    const b = await beta.call('ApplyChain', { yaml: greetYaml, file: greetFile });
    expect([a.tenant, a.name, b.tenant, b.name]).toEqual(['acme', 'greet', 'beta', 'greet']);
    // Ids are cluster-wide: the data plane (pools, routes, allow-lists,
    // counters) is keyed by them, so the two can never be confused there.
    expect(a.chainId).not.toBe(b.chainId);
    const ids = (s: typeof a) => s.stages.flatMap((st) => st.instances.map((i) => i.id));
    expect(ids(a).filter((id) => ids(b).includes(id))).toEqual([]);
    expect(a.endpoints).toEqual([`http://${cp.gatewayAddress}/tenants/acme/chains/greet`]);

    expect(await post('/tenants/acme/chains/greet', 'Ann')).toEqual({ status: 200, body: expect.objectContaining({ greeting: 'hello, ann', tenant: 'acme' }) });
    expect(await post('/tenants/beta/chains/greet', 'Bob')).toEqual({ status: 200, body: expect.objectContaining({ greeting: 'hello, bob', tenant: 'beta' }) });
    // /chains/NAME is tenant default's: neither of these, and its 404 lists no other tenant's chain.
    const bare = await post('/chains/greet', 'x');
    expect(bare.status).toBe(404);
    expect(JSON.stringify(bare.body)).not.toMatch(/acme|beta/);
    expect((bare.body as { error: { code: string } }).error.code).toBe('unknownChain');
  });

  it("lets a tenant neither see, get, delete nor apply over another tenant's chain", async () => {
    expect((await beta.call('ListChains', {})).chains.map((c) => `${c.tenant}/${c.name}`)).toEqual(['beta/greet']);
    expect((await beta.call('ListChains', { tenant: 'acme' })).chains).toEqual([]);

    const get = await rejection(beta.call('GetChain', { name: 'greet', tenant: 'acme' }));
    expect(get.code).toBe('NOT_FOUND');
    expect(get.message).toBe('no chain named "greet" in tenant acme');
    const del = await rejection(beta.call('DeleteChain', { name: 'greet', tenant: 'acme' }));
    expect(del.code).toBe('NOT_FOUND');
    // A lookup's NOT_FOUND lists the caller's own chains only.
    const miss = await rejection(beta.call('GetChain', { name: 'nope' }));
    expect(miss.message).toBe('no chain named "nope" in tenant beta; its chains: greet');

    const scale = await rejection(beta.call('ScaleStage', { name: 'greet', tenant: 'acme', stage: 'greet', instances: 1 }));
    expect(scale.code).toBe('NOT_FOUND');
    const acmeGreet = (await acme.call('GetChain', { name: 'greet' })).stages[1]!.instances[0]!.id;
    const replace = await rejection(beta.call('ReplaceInstance', { name: 'greet', tenant: 'acme', instanceId: acmeGreet }));
    expect(replace.message).toBe('no chain named "greet" in tenant acme');

    const over = await rejection(beta.call('ApplyChain', { yaml: greetOf('acme'), file: greetFile }));
    expect(over.code).toBe('PERMISSION_DENIED');
    expect(over.message).toContain("tenant beta's credential cannot apply chains of tenant acme");
    const overByField = await rejection(beta.call('ApplyChain', { yaml: greetYaml, file: greetFile, tenant: 'acme' }));
    expect(overByField.code).toBe('PERMISSION_DENIED');

    const still = await acme.call('GetChain', { name: 'greet' });
    expect(still.generation).toBe(1);
    expect((await post('/tenants/acme/chains/greet', 'Ann')).status).toBe(200);
  });

  it('lets a tenant scale and replace the instances of its own chain', async () => {
    const before = await beta.call('GetChain', { name: 'greet' });
    const old = before.stages[1]!.instances[0]!;
    const after = await beta.call('ReplaceInstance', { name: 'greet', instanceId: old.id });
    expect(after.stages[1]!.instances.map((i) => i.id)).not.toContain(old.id);
    const same = await beta.call('ScaleStage', { name: 'greet', stage: 'greet', instances: 1 });
    expect(same.stages[1]!.instances).toEqual(after.stages[1]!.instances);
    expect((await post('/tenants/beta/chains/greet', 'Bob')).status).toBe(200);
  });

  it("shows a tenant's watcher its own chains' events only", async () => {
    const seen: AdminEvent[] = [];
    const stream = beta.watchEvents();
    stream.on('data', (e: AdminEvent) => seen.push(e));
    stream.on('error', () => undefined);
    const spy: AdminEvent[] = [];
    const other = beta.watchEvents('greet', 'acme');
    other.on('data', (e: AdminEvent) => spy.push(e));
    other.on('error', () => undefined);

    await acme.call('ApplyChain', { yaml: greetYaml, file: greetFile });
    await beta.call('ApplyChain', { yaml: greetYaml, file: greetFile });
    for (let i = 0; i < 100 && !seen.some((e) => e.kind === 'chain-applied' && e.message.includes('generation 2')); i++) await new Promise((r) => setTimeout(r, 20));
    stream.cancel();
    other.cancel();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((e) => e.tenant === 'beta')).toBe(true);
    expect(spy).toEqual([]);
  });

  it('lets the operator see and reach every tenant', async () => {
    const all = (await operator.call('ListChains', {})).chains.map((c) => `${c.tenant}/${c.name}`).sort();
    expect(all).toEqual(['acme/greet', 'beta/greet']);
    expect((await operator.call('GetChain', { name: 'greet', tenant: 'beta' })).tenant).toBe('beta');
    const noDefault = await rejection(operator.call('GetChain', { name: 'greet' }));
    expect(noDefault.message).toBe('no chain named "greet" in tenant default; it has no chains');
    const mismatch = await rejection(operator.call('ApplyChain', { yaml: greetOf('acme'), file: greetFile, tenant: 'beta' }));
    expect(mismatch.code).toBe('INVALID_ARGUMENT');
  });

  it("will not start with another party's certificate", async () => {
    await expect(
      startControlPlane({ dataDir: join(dataDir, 'other'), adminAddress: '127.0.0.1:0', tls: await nodeTls('solo'), log: createLogger({}, 'error', () => undefined) }),
    ).rejects.toThrow("the control plane needs the control plane's certificate (ferry://controlplane), not node solo's");
  });

  it('moves records stored under cluster-wide names (the previous version) under their tenant on start', async () => {
    const before = await operator.call('GetChain', { name: 'greet', tenant: 'acme' });
    await cp.close();
    const storeFile = join(dataDir, 'store.json');
    const store = JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, unknown>;
    store['/chains/greet'] = store['/chains/acme/greet'];
    delete store['/chains/acme/greet'];
    writeFileSync(storeFile, JSON.stringify(store));

    cp = await start();
    const c = await as({ kind: 'tenant', name: 'acme' });
    const after = await c.call('GetChain', { name: 'greet' });
    expect([after.chainId, after.generation]).toEqual([before.chainId, before.generation]);
    const moved = JSON.parse(readFileSync(storeFile, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(moved).filter((k) => k.startsWith('/chains/')).sort()).toEqual(['/chains/acme/greet', '/chains/beta/greet']);
    const r = await fetch(`http://${cp.gatewayAddress}/tenants/acme/chains/greet`, { method: 'POST', body: '{"name":"back"}' });
    expect(r.status).toBe(200);
  }, 60_000);
});
