/**
 * `ferry up` runs its daemon under a supervisor: killed with SIGKILL (no
 * chance to clean up), the daemon is started again by itself and serves
 * its chains again; `ferry down` stops both; a daemon that cannot start
 * makes `ferry up` fail at once with the reason instead of crash-looping
 * in the background. Real processes, with the built CLI.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ferryCli, type Run } from '../../test/helpers/ferry-cli.js';
import { alive, waitFor } from '../ferryd/testdata/harness.js';
import { repoRoot } from '../paths.js';
import type { LocalState } from './state.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-supervise-'));
const home = join(root, 'home');
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-supervise`;
const greet = join(repoRoot, 'control/cli/testdata/greet.yaml');
const ferry = ferryCli(home);
const state = () => JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as LocalState;

function ok(r: Run): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('ferry up under a supervisor', () => {
  let busy: Server | undefined;

  afterAll(async () => {
    await ferry('down');
    busy?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('restarts a daemon killed with SIGKILL, which serves its chains again; down stops both', async () => {
    ok(await ferry('up', '--admin', '127.0.0.1:0', '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--pin-dir', pinDir, '--node-name', 'sv'));
    const first = state();
    expect(first.supervisorPid).toBeGreaterThan(0);
    expect(first.supervisorPid).not.toBe(first.pid);
    ok(await ferry('apply', '-f', greet));

    process.kill(first.pid, 'SIGKILL');
    const second = await waitFor('the daemon to come back', () => {
      try {
        const s = state();
        return s.pid !== first.pid && alive(s.pid) ? s : undefined;
      } catch {
        return undefined; // between two writes
      }
    }, 30_000);
    expect(second.supervisorPid).toBe(first.supervisorPid);
    const reply = JSON.parse(ok(await ferry('invoke', 'greet', '--data', '{"name":"Back"}', '-o', 'json'))) as { body: { greeting: string } };
    expect(reply.body.greeting).toBe('hello, back');
    expect(readFileSync(join(home, 'ferry.log'), 'utf8')).toContain('"msg":"ferry exited; restarting"');

    ok(await ferry('down'));
    expect(alive(second.pid)).toBe(false);
    expect(alive(second.supervisorPid!)).toBe(false);
  }, 90_000);

  it('fails `ferry up` at once, with the reason, when the daemon cannot start', async () => {
    busy = createServer();
    await new Promise<void>((r) => busy!.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const started = Date.now();
    const r = await ferry('up', '--admin', `127.0.0.1:${port}`, '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--pin-dir', pinDir, '--node-name', 'sv');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ferry did not start; the end of .*ferry\.log:[\s\S]*(EADDRINUSE|address already in use|No address added out of total)/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((await ferry('down')).stdout).toContain('ferry is not running');
  }, 60_000);
});
