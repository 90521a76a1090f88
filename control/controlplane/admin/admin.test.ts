/**
 * The Admin gRPC API against a real control plane with a real local ferryd
 * (in this process) and real function instances.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import { repoRoot } from '../../paths.js';
import { testCredential } from '../../../test/helpers/pki.js';
import { controlPlaneTls, nodeTls } from '../../ferryd/testdata/harness.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';
import { rejection } from '../../../test/helpers/admin.js';
import { AdminClient } from './client.js';
import type { AdminEvent } from './proto.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ferry-admin-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-admin`;
const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');
const badFile = join(repoRoot, 'control/cli/testdata/bad-next.yaml');
const log = createLogger({ test: 'admin' }, 'warn');

let cp: ControlPlane;
let admin: AdminClient;


describe('Admin API', () => {
  beforeAll(async () => {
    cp = await startControlPlane({
      dataDir,
      adminAddress: '127.0.0.1:0',
      tls: controlPlaneTls,
      localNode: { name: 'solo', tls: await nodeTls('solo'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', pinDir },
      log,
    });
    admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
  });

  afterAll(async () => {
    admin?.close();
    await cp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('streams the events of an apply to a watcher', async () => {
    const seen: AdminEvent[] = [];
    const stream = admin.watchEvents('greet');
    stream.on('data', (e: AdminEvent) => seen.push(e));
    stream.on('error', () => undefined);
    const status = await admin.call('ApplyChain', { yaml: readFileSync(greetFile, 'utf8'), file: greetFile });
    expect(status).toMatchObject({ name: 'greet', tenant: 'default', entry: 'parse', generation: 1 });
    expect(status.endpoints).toEqual([`http://${cp.gatewayAddress}/chains/greet`]);
    for (let i = 0; i < 50 && !seen.some((e) => e.kind === 'chain-applied'); i++) await new Promise((r) => setTimeout(r, 20));
    stream.cancel();
    expect(seen.find((e) => e.kind === 'chain-applied')?.chain).toBe('greet');
  });

  it('reports per-stage instances, nodes and traffic', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://${cp.gatewayAddress}/chains/greet`, { method: 'POST', body: JSON.stringify({ name: `n${i}` }) });
      expect(res.status).toBe(200);
    }
    // Counters reach the control plane with the next stats sample (1 s).
    let status = await admin.call('GetChain', { name: 'greet' });
    for (let i = 0; i < 40 && (status.stages[0]!.rxMsgs < 20 || status.requestsPerSec === 0 || status.stages.some((s) => s.serviceP99Ms === 0)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await admin.call('GetChain', { name: 'greet' });
    }
    expect(status.stages.map((s) => [s.name, s.next])).toEqual([
      ['parse', ['greet']],
      ['greet', []],
    ]);
    for (const s of status.stages) {
      expect(s.instances).toHaveLength(1);
      expect(s.instances[0]).toMatchObject({ node: 'solo', state: 'RUNNING' });
      expect(s.rxMsgs).toBeGreaterThanOrEqual(20);
      // Each stage's service time, as its instance measured it, and no more
      // than the chain's latency at the gateway, which covers both stages.
      expect(s.serviceP50Ms).toBeGreaterThan(0);
      expect(s.serviceP99Ms).toBeGreaterThanOrEqual(s.serviceP50Ms);
      expect(s.serviceP50Ms).toBeLessThanOrEqual(status.latencyP99Ms);
    }
    expect(status.requestsPerSec).toBeGreaterThan(0);
    expect(status.latencyP50Ms).toBeGreaterThan(0);
    expect(status.latencyP99Ms).toBeGreaterThanOrEqual(status.latencyP50Ms);
  });

  it('rejects an invalid spec with INVALID_ARGUMENT and positioned errors', async () => {
    const err = await rejection(admin.call('ApplyChain', { yaml: readFileSync(badFile, 'utf8'), file: badFile }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    // The typo, and the stage it leaves unreachable.
    expect(err.specErrors.map((e) => [e.line, e.path])).toEqual([
      [10, 'spec.functions[0].next[0]'],
      [11, 'spec.functions[1]'],
    ]);
    expect(err.specErrors[0]).toMatchObject({ file: badFile });
    expect(err.specErrors[0]!.message).toContain('unknown stage "greeet"');
    expect((await admin.call('ListChains', {})).chains.map((c) => c.name)).toEqual(['greet']);
  });

  it('rejects malformed YAML and empty requests with a message saying what to send', async () => {
    const err = await rejection(admin.call('ApplyChain', { yaml: 'apiVersion: [', file: '/tmp/x.yaml' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('/tmp/x.yaml:1:');
    const empty = await rejection(admin.call('ApplyChain', { yaml: '', file: '/tmp/x.yaml' }));
    expect(empty.message).toContain('yaml: empty');
  });

  it('says NOT_FOUND for unknown chains and names the ones that exist', async () => {
    const err = await rejection(admin.call('GetChain', { name: 'nope' }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('chains: greet');
  });

  it('lists the local node and refuses a node that does not answer', async () => {
    const { nodes } = await admin.call('ListNodes', {});
    expect(nodes.map((n) => [n.name, n.ready])).toEqual([['solo', true]]);
    const bad = await rejection(admin.call('RegisterNode', { address: 'not an address', labels: {} }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    const dead = await rejection(admin.call('RegisterNode', { address: '127.0.0.1:1', labels: {} }));
    expect(dead.code).toBe('UNAVAILABLE');
    expect(dead.message).toContain('no ferryd answers at 127.0.0.1:1');
  });

  it('fails an apply whose function throws as it loads, with its error, keeps nothing, and says so on the chain\'s events', async () => {
    const brokenFile = join(repoRoot, 'control/cli/testdata/broken.yaml');
    const seen: AdminEvent[] = [];
    const stream = admin.watchEvents('broken');
    stream.on('data', (e: AdminEvent) => seen.push(e));
    stream.on('error', () => undefined);
    const err = await rejection(admin.call('ApplyChain', { yaml: readFileSync(brokenFile, 'utf8'), file: brokenFile }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/stage load: instance \d+ on solo exited with code \d+ before it was ready: .*cannot load: the config file is missing/s);
    expect((await admin.call('ListChains', {})).chains.map((c) => c.name)).toEqual(['greet']);
    for (let i = 0; i < 50 && !seen.some((e) => e.kind === 'instance-crashed'); i++) await new Promise((r) => setTimeout(r, 20));
    stream.cancel();
    // A watcher of this chain alone sees its instance's start and crash.
    expect(seen.map((e) => e.kind)).toEqual(expect.arrayContaining(['instance-started', 'instance-crashed']));
    expect(seen.every((e) => e.chain === 'broken')).toBe(true);
    expect(seen.find((e) => e.kind === 'instance-crashed')).toMatchObject({ node: 'solo', stage: 'load' });
  });

  it('updates a chain in place on re-apply (new generation, same chain id)', async () => {
    const before = await admin.call('GetChain', { name: 'greet' });
    const after = await admin.call('ApplyChain', { yaml: readFileSync(greetFile, 'utf8'), file: greetFile });
    expect(after.generation).toBe(before.generation + 1);
    expect(after.chainId).toBe(before.chainId);
    const res = await fetch(`http://${cp.gatewayAddress}/chains/greet`, { method: 'POST', body: '{"name":"Again"}' });
    expect(await res.json()).toMatchObject({ greeting: 'hello, again' });
  });
});
