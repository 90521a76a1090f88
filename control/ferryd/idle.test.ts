/**
 * An idle ferry does not wake for work it does not need. Measured from
 * outside, as bench:idle does: a real `ferry up` (supervisor, daemon with
 * its control plane, metrics on) with the greet chain deployed, left alone;
 * the daemon's main thread is counted waking (voluntary context switches,
 * /proc/PID/task/PID/status) over a quiet window. What still ticks about
 * once a second (stats samples, the autoscale pass, the pool keeper and the
 * balancer at rest, gRPC keepalives) stays well under the bound; prom-client's
 * 10 ms event-loop probe alone was 100 wake-ups a second, and the pool
 * keeper (every 200 ms) and balancer (every 250 ms) 9 more.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ferryCli, type Run } from '../../test/helpers/ferry-cli.js';
import type { LocalState } from '../cli/state.js';
import { repoRoot } from '../paths.js';

const greet = join(repoRoot, 'control/cli/testdata/greet.yaml');
/** Wake-ups a second the idle daemon may have (before: ~110). */
const MAX_WAKEUPS_PER_SEC = 25;
const QUIET_MS = 5000;

const home = mkdtempSync(join(tmpdir(), 'ferry-idle-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-idle`;
const cli = ferryCli(home);

function ok(r: Run, what: string): string {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Times the process's main thread has gone to sleep waiting (woken since). */
function wakeups(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  await cli('down');
  rmSync(home, { recursive: true, force: true });
  rmSync(pinDir, { recursive: true, force: true });
}, 60_000);

describe('an idle ferry', () => {
  it('keeps its daemon asleep but for about once-a-second work', async () => {
    ok(await cli('--admin', '127.0.0.1:0', 'up', '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--ferryd-metrics', '127.0.0.1:0', '--pin-dir', pinDir, '--node-name', 'idle'), 'up');
    ok(await cli('apply', '-f', greet), 'apply');
    expect(JSON.parse(ok(await cli('invoke', 'greet', '--data', '{"name":"Idle"}', '-o', 'json'), 'invoke'))).toMatchObject({ body: { greeting: 'hello, idle' } });
    const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as LocalState;
    const daemon = state.daemon!.pid;
    // Past the request's own after-effects (balancer and keeper back at rest).
    await sleep(3000);
    const before = wakeups(daemon);
    await sleep(QUIET_MS);
    const perSec = (wakeups(daemon) - before) / (QUIET_MS / 1000);
    expect(perSec, `the idle daemon woke ${perSec} times a second`).toBeLessThan(MAX_WAKEUPS_PER_SEC);
  }, 90_000);
});
