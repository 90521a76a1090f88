/**
 * Stored chains come back whatever the local node is called now: the
 * control plane (real, in this process, with a real local ferryd and real
 * instances) is started again and again on one data dir under other node
 * names, as when the host is renamed. A chain that cannot come back says
 * why, in its status and in an event.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import { repoRoot } from '../../paths.js';
import { testCredential } from '../../../test/helpers/pki.js';
import { controlPlaneTls, nodeTls, testPinDir } from '../../ferryd/testdata/harness.js';
import { AdminClient } from '../admin/client.js';
import type { AdminEvent, ChainStatus } from '../admin/proto.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';
import { FileStore } from '../store/file-store.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ferry-restore-'));
const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');
const pinDirs: string[] = [];

interface Running {
  cp: ControlPlane;
  admin: AdminClient;
  events: AdminEvent[];
  stop(): Promise<void>;
}
let current: Running | undefined;

/** The control plane on the shared data dir; its local node named so (none: no local node). */
async function start(nodeName?: string): Promise<Running> {
  const pinDir = testPinDir();
  pinDirs.push(pinDir);
  const cp = await startControlPlane({
    dataDir,
    adminAddress: '127.0.0.1:0',
    tls: controlPlaneTls,
    localNode: nodeName ? { name: nodeName, tls: await nodeTls(nodeName), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', pinDir } : undefined,
    log: createLogger({ test: 'restore' }, 'error'),
  });
  const admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
  const events: AdminEvent[] = [];
  const stream = admin.watchEvents('');
  stream.on('data', (e: AdminEvent) => events.push(e));
  stream.on('error', () => undefined);
  current = {
    cp,
    admin,
    events,
    stop: async () => {
      stream.cancel();
      admin.close();
      await cp.close();
      current = undefined;
    },
  };
  return current;
}

async function greet(r: Running, name: string): Promise<{ status: number; body: { greeting?: string; node?: string } }> {
  const res = await fetch(`http://${r.cp.gatewayAddress}/chains/greet`, { method: 'POST', body: JSON.stringify({ name }), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json()) as { greeting?: string; node?: string } };
}

const nodesOf = (c: ChainStatus) => [...new Set(c.stages.flatMap((s) => s.instances.map((i) => i.node)))];

async function eventually(r: Running, kind: string): Promise<AdminEvent> {
  for (let i = 0; i < 100; i++) {
    const e = r.events.find((x) => x.kind === kind);
    if (e) return e;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no ${kind} event; got ${r.events.map((e) => e.kind).join(', ')}`);
}

afterEach(async () => {
  await current?.stop();
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  for (const d of pinDirs) rmSync(d, { recursive: true, force: true });
});

describe('restoring stored chains', () => {
  it('applies greet on node a', async () => {
    const r = await start('a');
    const c = await r.admin.call('ApplyChain', { yaml: readFileSync(greetFile, 'utf8'), file: greetFile });
    expect(nodesOf(c)).toEqual(['a']);
    expect(c).toMatchObject({ state: 'RUNNING', reason: '' });
    expect(await greet(r, 'a')).toEqual({ status: 200, body: expect.objectContaining({ greeting: 'hello, a', node: 'a' }) });
  });

  it('serves it again when the local node comes back as b (another name, another port)', async () => {
    const r = await start('b');
    const c = await r.admin.call('GetChain', { name: 'greet' });
    expect(nodesOf(c)).toEqual(['b']);
    expect(c).toMatchObject({ state: 'RUNNING', reason: '', generation: 1 });
    expect(await greet(r, 'b')).toEqual({ status: 200, body: expect.objectContaining({ greeting: 'hello, b', node: 'b' }) });
    // a is not a second node that never answers: it is b now.
    const { nodes } = await r.admin.call('ListNodes', {});
    expect(nodes.map((n) => [n.name, n.ready])).toEqual([['b', true]]);
    expect((await eventually(r, 'node-renamed')).message).toContain("node a is back as b (the control plane's own node)");
  });

  it('places a chain again when the node it ran on is gone from the store', async () => {
    // As if b had been removed, or the data dir came from another machine.
    const store = await FileStore.open(join(dataDir, 'store.json'));
    expect(await store.delete('/nodes/b')).toBe(true);
    await store.close();
    const r = await start('c');
    const c = await r.admin.call('GetChain', { name: 'greet' });
    expect(nodesOf(c)).toEqual(['c']);
    expect(c.state).toBe('RUNNING');
    expect(await greet(r, 'c')).toEqual({ status: 200, body: expect.objectContaining({ greeting: 'hello, c', node: 'c' }) });
    expect((await eventually(r, 'chain-replaced')).message).toMatch(/chain greet placed again: node b is gone; now 2 instances on c/);
  });

  it('says why, in the status and an event, when there is nowhere to restore it', async () => {
    // No local node this time: c is stored but nothing answers at its address.
    const r = await start();
    const c = await r.admin.call('GetChain', { name: 'greet' });
    expect(c.state).toBe('FAILED');
    expect(c.reason).toMatch(/^could not be restored: node c \(127\.0\.0\.1:\d+\) is not ready: its ferryd does not answer/);
    const e = await eventually(r, 'chain-restore-failed');
    expect(e).toMatchObject({ chain: 'greet' });
    expect(e.message).toContain('chain greet could not be restored: node c');
  });

  it('shows an instance that is not running as DEGRADED, naming it', async () => {
    const r = await start('c');
    const c = await r.admin.call('GetChain', { name: 'greet' });
    expect(c.state).toBe('RUNNING');
    const victim = c.stages[1]!.instances[0]!;
    // Kill it behind the control plane's back: until ferryd has restarted it
    // (after its back-off), the chain is degraded.
    process.kill(victim.pid, 'SIGKILL');
    let now = c;
    for (let i = 0; i < 100 && now.state === 'RUNNING'; i++) {
      await new Promise((res) => setTimeout(res, 20));
      now = await r.admin.call('GetChain', { name: 'greet' });
    }
    expect(now.state).toBe('DEGRADED');
    expect(now.reason).toMatch(new RegExp(`^1 of 2 instances not running: ${victim.id}@c [A-Z_]+( \\(killed by SIGKILL\\))?$`));
  });
});
