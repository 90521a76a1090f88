/**
 * A restarted ferryd knows which chains its gateway served (the record in
 * its state directory): until the control plane programs them again, or a
 * grace period passes, they answer 503 restoring with Retry-After, not 404;
 * a chain it never served still answers 404. In-process ferryd and the
 * real ferryd main, each with its own temp state dir and bpffs pin dir.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modes } from '../../test/helpers/dataplane.js';
import { RouterClass } from '../dataplane/native.js';
import { runFerryd } from './testdata/ferryd-process.js';
import { testCredentialDir } from '../../test/helpers/pki.js';
import { connectFerryd, deployTestChain, startTestFerryd, testPinDir, waitFor, type TestFerryd } from './testdata/harness.js';

const mode = modes[0]!;
const CHAIN = 44;
const BASE = 440;
const GW = 449;

async function post(gateway: string, name: string, body = 'hello') {
  const r = await fetch(`http://${gateway}/chains/${name}`, { method: 'POST', body });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() };
}

const errorOf = (r: { body: string }) => (JSON.parse(r.body) as { error: { code: string; chain?: string; message: string } }).error;
const recorded = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'served-chains.json'), 'utf8')) as { chains: { name: string; chainId: number }[] }).chains;

describe(`restoring after a restart (${mode} mode)`, () => {
  let stateDir: string;
  const running: TestFerryd[] = [];
  const start = async (extra = {}) => {
    const t = await startTestFerryd(mode, 'restore-node', { stateDir, ...extra });
    running.push(t);
    return t;
  };
  /** Stops every ferryd started so far (a restart is stopAll, then start). */
  const stopAll = async () => {
    for (const t of running.splice(0)) await t.cleanup();
  };

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'ferryd-state-'));
  });

  afterEach(async () => {
    await stopAll();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('answers 503 restoring for a chain it served, 404 for one it never did, and 200 once reprogrammed', async () => {
    const first = await start();
    await deployTestChain(first.client, CHAIN, BASE, GW, 'kept');
    const before = await post(first.ferryd.gatewayAddress, 'kept');
    expect(before.status).toBe(200);
    expect(recorded(stateDir)).toEqual([{ name: 'kept', chainId: CHAIN }]);
    await stopAll();

    const second = await start();
    const gw = second.ferryd.gatewayAddress;
    const waiting = await post(gw, 'kept');
    expect(waiting.status).toBe(503);
    expect(waiting.retryAfter).toBe('2');
    expect(errorOf(waiting)).toMatchObject({ code: 'restoring', chain: 'kept' });
    expect((await fetch(`http://${gw}/chains/kept`, { method: 'HEAD' })).status).toBe(503);
    const never = await post(gw, 'never-served');
    expect(never.status).toBe(404);
    expect(errorOf(never).code).toBe('unknownChain');

    await deployTestChain(second.client, CHAIN, BASE, GW, 'kept');
    const back = await post(gw, 'kept');
    expect(back.status).toBe(200);
    expect(back.body).toBe(before.body); // the chain's answer, as before the restart
    expect(recorded(stateDir)).toEqual([{ name: 'kept', chainId: CHAIN }]);
  });

  it('forgets a chain that does not come back within the grace period', async () => {
    writeFileSync(join(stateDir, 'served-chains.json'), JSON.stringify({ version: 1, node: 'x', chains: [{ name: 'late', chainId: 7 }] }));
    const t = await start({ restoreGraceMs: 400 });
    expect((await post(t.ferryd.gatewayAddress, 'late')).status).toBe(503);
    const after = await waitFor('the grace period to end', async () => {
      const r = await post(t.ferryd.gatewayAddress, 'late');
      return r.status === 404 ? r : undefined;
    });
    expect(errorOf(after).code).toBe('unknownChain');
    expect(recorded(stateDir)).toEqual([]);
  });

  it('forgets a restoring chain that is deleted, and remembers one still coming back across a second restart', async () => {
    writeFileSync(
      join(stateDir, 'served-chains.json'),
      JSON.stringify({ version: 1, node: 'x', chains: [{ name: 'deleted', chainId: 8 }, { name: 'slow', chainId: 9 }] }),
    );
    const t = await start();
    await t.client.deleteChain({ chainId: 8 });
    expect((await post(t.ferryd.gatewayAddress, 'deleted')).status).toBe(404);
    expect((await post(t.ferryd.gatewayAddress, 'slow')).status).toBe(503);
    expect(recorded(stateDir)).toEqual([{ name: 'slow', chainId: 9 }]);
    await stopAll();
    const again = await start();
    expect((await post(again.ferryd.gatewayAddress, 'slow')).status).toBe(503);
  });

  it('starts from a malformed or hostile record as from none, and says so', async () => {
    for (const bad of ['{not json', JSON.stringify({ version: 1, chains: [{ name: 42 }] }), JSON.stringify({ version: 2, chains: [] })]) {
      writeFileSync(join(stateDir, 'served-chains.json'), bad);
      const t = await start();
      expect((await post(t.ferryd.gatewayAddress, 'kept')).status).toBe(404);
      expect(t.logs.some((l) => l.includes('ignoring a malformed record of served chains'))).toBe(true);
      await stopAll();
    }
  });

  it('keeps serving when the record cannot be written, and says so', async () => {
    const notADir = join(stateDir, 'file');
    writeFileSync(notADir, '');
    const t = await startTestFerryd(mode, 'restore-node', { stateDir: notADir });
    running.push(t);
    await deployTestChain(t.client, CHAIN, BASE, GW, 'kept');
    expect((await post(t.ferryd.gatewayAddress, 'kept')).status).toBe(200);
    expect(t.logs.some((l) => l.includes('cannot write the record of served chains'))).toBe(true);
  });

  it('restores across a restart of the real ferryd main (--state-dir)', async () => {
    const pinDir = testPinDir();
    const tlsDir = await testCredentialDir({ kind: 'node', name: 'main-restore' });
    const args = ['--tls-dir', tlsDir, '--grpc', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--pin-dir', pinDir, '--mode', mode, '--state-dir', stateDir];
    const launch = async () => {
      const f = runFerryd(args);
      const ready = await waitFor('ferryd ready', () => f.lines.find((l) => l.msg === 'ferryd ready'));
      return { f, client: connectFerryd(String(ready.grpc), 'main-restore'), gateway: String(ready.gateway) };
    };
    const stop = async (p: Awaited<ReturnType<typeof launch>>) => {
      p.client.close();
      p.f.child.kill('SIGTERM');
      expect(await p.f.exited).toBe(0);
    };
    try {
      const first = await launch();
      await deployTestChain(first.client, CHAIN, BASE, GW, 'kept');
      expect((await post(first.gateway, 'kept')).status).toBe(200);
      await stop(first);

      const second = await launch();
      try {
        const waiting = await post(second.gateway, 'kept');
        expect([waiting.status, waiting.retryAfter, errorOf(waiting).code]).toEqual([503, '2', 'restoring']);
        expect((await post(second.gateway, 'never-served')).status).toBe(404);
        expect(second.f.lines.some((l) => l.msg === 'restoring the chains this gateway served before; 503 restoring until reprogrammed')).toBe(true);
        await deployTestChain(second.client, CHAIN, BASE, GW, 'kept');
        expect((await post(second.gateway, 'kept')).status).toBe(200);
      } finally {
        await stop(second);
      }
    } finally {
      if (mode === 'ebpf') RouterClass.unpin(pinDir);
    }
  });
});
