/**
 * Stored chains come back whatever the local node is called now: a real
 * control plane and ferryd apply a chain on node "vm", stop, and start
 * again on the same ferryd address as node "box" (the host was renamed).
 * The chain must run and serve on box, and vm be forgotten, not left as a
 * node that "is not registered" with the chain stuck on it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testCredential } from '../../test/helpers/pki.js';
import { controlPlaneTls, nodeTls } from '../ferryd/testdata/harness.js';
import { createLogger } from '../log.js';
import { repoRoot } from '../paths.js';
import { AdminClient } from './admin/client.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ferry-restore-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-restore`;
const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');

/** A port nobody listens on now (the kernel's pick), to start ferryd on twice. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function start(name: string, grpcAddress: string): Promise<{ cp: ControlPlane; admin: AdminClient }> {
  const cp = await startControlPlane({
    dataDir,
    adminAddress: '127.0.0.1:0',
    tls: controlPlaneTls,
    localNode: { name, tls: await nodeTls(name), grpcAddress, gatewayAddress: '127.0.0.1:0', pinDir },
    log: createLogger({ test: 'restore' }, 'error'),
  });
  return { cp, admin: new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' })) };
}

describe('restoring chains under a new node name', () => {
  let running: { cp: ControlPlane; admin: AdminClient } | undefined;

  afterAll(async () => {
    running?.admin.close();
    await running?.cp.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('places the chain again on the renamed node and serves it', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    running = await start('vm', address);
    const before = await running.admin.call('ApplyChain', { yaml: readFileSync(greetFile, 'utf8'), file: greetFile });
    expect(before.stages.flatMap((s) => s.instances.map((i) => i.node))).toEqual(['vm', 'vm']);
    running.admin.close();
    await running.cp.close();

    running = await start('box', address);
    const after = await running.admin.call('GetChain', { name: 'greet' });
    expect(after.chainId).toBe(before.chainId);
    expect(after.stages.flatMap((s) => s.instances.map((i) => [i.node, i.state]))).toEqual([
      ['box', 'RUNNING'],
      ['box', 'RUNNING'],
    ]);
    expect((await running.admin.call('ListNodes', {})).nodes.map((n) => n.name)).toEqual(['box']);
    const res = await fetch(`http://${running.cp.gatewayAddress}/chains/greet`, { method: 'POST', body: '{"name":"Moved"}' });
    expect(await res.json()).toMatchObject({ greeting: 'hello, moved', node: 'box' });
  }, 60_000);
});
