/**
 * ferryd as its own process: says which data plane mode it runs in, serves
 * gRPC, and on SIGTERM stops its instances and exits cleanly.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { modes } from '../../test/helpers/dataplane.js';
import { RouterClass } from '../dataplane/native.js';
import { testCredentialDir } from '../../test/helpers/pki.js';
import { writeCredential } from '../auth/credential.js';
import { runFerryd } from './testdata/ferryd-process.js';
import { alive, chainInstances, connectFerryd, nodeTls, testPinDir, waitFor } from './testdata/harness.js';

const mode = modes[0]!;

describe('ferryd main', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it(`prints its mode, serves, and shuts down gracefully on SIGTERM (${mode})`, async () => {
    const pinDir = testPinDir();
    const tlsDir = await testCredentialDir({ kind: 'node', name: 'child' });
    // The name comes from the certificate.
    const f = runFerryd(['--tls-dir', tlsDir, '--grpc', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--pin-dir', pinDir, '--mode', mode]);
    cleanups.push(() => {
      f.child.kill('SIGKILL');
      if (mode === 'ebpf') RouterClass.unpin(pinDir);
    });
    const ready = await waitFor('ferryd ready', () => f.lines.find((l) => l.msg === 'ferryd ready'));
    // main() logs the mode just after ferryd is ready: it may come a moment later.
    await waitFor('its data plane mode', () => (f.lines.some((l) => l.msg === `data plane mode: ${mode}` && l.mode === mode) ? true : undefined), 5000);

    const client = connectFerryd(String(ready.grpc));
    const info = await client.getNodeInfo();
    expect(info.name).toBe('child');
    expect(info.gatewayAddress).toBe(ready.gateway);
    expect(await (await fetch(`http://${info.gatewayAddress}/healthz`)).json()).toEqual({ ok: true });
    await client.createPool({ chainId: 3, chainName: 'main-test' });
    const inst = await client.startInstance(chainInstances(3, 30)[0]!);
    expect(alive(inst.pid)).toBe(true);
    client.close();

    f.child.kill('SIGTERM');
    expect(await f.exited).toBe(0);
    expect(alive(inst.pid)).toBe(false);
    expect(f.lines.some((l) => l.msg === 'ferryd stopped')).toBe(true);
  });

  it('will not start without a credential, or with one whose key others can read', async () => {
    const none = runFerryd(['--grpc', '127.0.0.1:0']);
    cleanups.push(() => none.child.kill('SIGKILL'));
    expect(await none.exited).toBe(2);
    expect(none.lines.map((l) => l.msg).join('\n')).toMatch(/--tls-dir is required: the node's credential directory \(make one with `ferry node cert NAME --out DIR`/);

    const dir = mkdtempSync(join(tmpdir(), 'ferryd-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeCredential(dir, await nodeTls('child'));
    chmodSync(join(dir, 'key.pem'), 0o640);
    const open = runFerryd(['--tls-dir', dir, '--grpc', '127.0.0.1:0']);
    cleanups.push(() => open.child.kill('SIGKILL'));
    expect(await open.exited).toBe(2);
    expect(open.lines.map((l) => l.msg).join('\n')).toMatch(/key\.pem may be read by others \(mode 640\): chmod 600/);
  });

  it('refuses unknown flags and modes with the usage line', async () => {
    const f = runFerryd(['--mode', 'turbo']);
    cleanups.push(() => f.child.kill('SIGKILL'));
    expect(await f.exited).toBe(2);
    expect(f.lines.map((l) => l.msg).join('\n')).toMatch(/--mode must be one of auto, ebpf, fallback[\s\S]*usage: ferryd/);
  });
});
