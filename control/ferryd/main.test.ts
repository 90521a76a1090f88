/**
 * ferryd as its own process: says which data plane mode it runs in, serves
 * gRPC, and on SIGTERM stops its instances and exits cleanly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { modes } from '../../test/helpers/dataplane.js';
import { RouterClass } from '../dataplane/native.js';
import { connectFerryd } from './client.js';
import { runFerryd } from './testdata/ferryd-process.js';
import { alive, chainInstances, testPinDir, waitFor } from './testdata/harness.js';

const mode = modes[0]!;

describe('ferryd main', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it(`prints its mode, serves, and shuts down gracefully on SIGTERM (${mode})`, async () => {
    const pinDir = testPinDir();
    const f = runFerryd(['--name', 'child', '--grpc', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--pin-dir', pinDir, '--mode', mode]);
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

  it('refuses unknown flags and modes with the usage line', async () => {
    const f = runFerryd(['--mode', 'turbo']);
    cleanups.push(() => f.child.kill('SIGKILL'));
    expect(await f.exited).toBe(2);
    expect(f.lines.map((l) => l.msg).join('\n')).toMatch(/--mode must be one of auto, ebpf, fallback[\s\S]*usage: ferryd/);
  });
});
