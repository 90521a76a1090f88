/**
 * The supervisor that `ferry up` leaves running, against real processes: a
 * toy daemon (testdata/toy-daemon.mjs) that starts a grandchild the way
 * ferryd starts instances, says it is ready over IPC, and crashes, quits or
 * ignores SIGTERM as each test asks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allDead, dead } from '../../test/helpers/process.js';
import { alive, waitFor } from '../ferryd/testdata/harness.js';
import { createLogger } from '../log.js';
import { repoRoot } from '../paths.js';
import type { BackoffPolicy } from './backoff.js';
import { ProcessSupervisor } from './process-supervisor.js';

const TOY = join(repoRoot, 'control/supervisor/testdata/toy-daemon.mjs');

interface Toy {
  sup: ProcessSupervisor;
  /** Structured log lines of the supervisor, parsed. */
  logs: { msg: string; [k: string]: unknown }[];
  starts(): { pid: number; atMs: number }[];
  grandchildren(): number[];
}

const dirs: string[] = [];
const running: ProcessSupervisor[] = [];

function toy(mode: string, backoff: BackoffPolicy, stopGraceMs = 2000): Toy {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sup-'));
  dirs.push(dir);
  const startsFile = join(dir, 'starts');
  const childrenFile = join(dir, 'children');
  writeFileSync(startsFile, '');
  writeFileSync(childrenFile, '');
  const logs: Toy['logs'] = [];
  const sup = new ProcessSupervisor({
    command: process.execPath,
    args: () => [TOY],
    output: 'inherit',
    env: { ...process.env, TOY_MODE: mode, TOY_STARTS: startsFile, TOY_CHILDREN: childrenFile },
    backoff,
    stopGraceMs,
    log: createLogger({}, 'debug', (l) => logs.push(JSON.parse(l) as Toy['logs'][number])),
  });
  running.push(sup);
  const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);
  return {
    sup,
    logs,
    starts: () => lines(startsFile).map((l) => ({ pid: Number(l.split(' ')[0]), atMs: Number(l.split(' ')[1]) })),
    grandchildren: () => lines(childrenFile).map(Number),
  };
}

const restartDelays = (t: Toy) => t.logs.filter((l) => l.msg === 'daemon exited unexpectedly; restarting').map((l) => l.inMs);

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ProcessSupervisor', () => {
  it('restarts a SIGKILLed daemon and kills what the dead daemon left running', async () => {
    const t = toy('serve', { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 });
    t.sup.start();
    const first = await waitFor('the daemon to be ready', () => (t.sup.status.state === 'running' ? t.sup.status.daemonPid : undefined));
    const orphan = await waitFor('its grandchild', () => t.grandchildren()[0]);
    expect(dead(orphan)).toBe(false);
    process.kill(first, 'SIGKILL');
    const second = await waitFor('a new daemon', () => (t.sup.status.state === 'running' && t.sup.status.daemonPid !== first ? t.sup.status.daemonPid : undefined));
    expect(second).not.toBe(first);
    await allDead([orphan]);
    expect(t.sup.status).toMatchObject({ restarts: 1, lastExit: { code: null, signal: 'SIGKILL' } });
    const line = t.logs.find((l) => l.msg === 'daemon exited unexpectedly; restarting');
    expect(line).toMatchObject({ level: 'warn', pid: first, signal: 'SIGKILL', inMs: 100, restarts: 1, killedLeftovers: true });
  });

  it('backs off exponentially up to the cap while the daemon keeps crashing', async () => {
    const t = toy('crash:30', { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 });
    t.sup.start();
    await waitFor('five starts', () => (t.starts().length >= 5 ? true : undefined));
    expect(restartDelays(t).slice(0, 4)).toEqual([100, 200, 400, 400]);
    // Each start came at least its delay after the crash before it.
    const s = t.starts();
    for (let i = 1; i < 4; i++) expect(s[i]!.atMs - s[i - 1]!.atMs).toBeGreaterThanOrEqual(30 + [100, 200, 400][i - 1]!);
    // Every dead daemon's grandchild went with it.
    await t.sup.stop();
    await allDead(t.grandchildren());
  });

  it('starts the back-off over after a run that lasted long enough', async () => {
    const t = toy('crash:250', { initialMs: 50, maxMs: 1000, resetAfterMs: 200 });
    t.sup.start();
    await waitFor('four starts', () => (t.starts().length >= 4 ? true : undefined));
    expect(restartDelays(t).slice(0, 3)).toEqual([50, 50, 50]);
  });

  it('stops cleanly: SIGTERM to the daemon, waits for it, nothing left', async () => {
    const t = toy('serve', { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 });
    t.sup.start();
    const pid = await waitFor('the daemon to be ready', () => (t.sup.status.state === 'running' ? t.sup.status.daemonPid : undefined));
    await t.sup.stop();
    expect(await t.sup.done).toBe(0);
    expect(alive(pid)).toBe(false);
    await allDead(t.grandchildren());
    expect(t.sup.status).toMatchObject({ state: 'stopped', restarts: 0, lastExit: { code: 0, signal: null } });
    expect(t.starts()).toHaveLength(1);
  });

  it('kills a daemon that ignores SIGTERM once the grace is over', async () => {
    const t = toy('stubborn', { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 }, 300);
    t.sup.start();
    const pid = await waitFor('the daemon to be ready', () => (t.sup.status.state === 'running' ? t.sup.status.daemonPid : undefined));
    const began = Date.now();
    await t.sup.stop();
    const took = Date.now() - began;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    expect(alive(pid)).toBe(false);
    expect(t.sup.status.lastExit?.signal).toBe('SIGKILL');
    expect(t.logs.map((l) => l.msg)).toContain('daemon did not stop in time; killing it');
    expect(t.starts()).toHaveLength(1);
  });

  it('gives up when the daemon fails on its first start, instead of retrying forever', async () => {
    const t = toy('fail', { initialMs: 50, maxMs: 100, resetAfterMs: 60_000 });
    t.sup.start();
    expect(await t.sup.done).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(t.starts()).toHaveLength(1);
    expect(t.logs.map((l) => l.msg)).toContain('daemon failed on its first start; not restarting (see its error above)');
  });

  it('stops with a daemon that exits 0 by itself (someone stopped it on purpose)', async () => {
    const t = toy('quit', { initialMs: 50, maxMs: 100, resetAfterMs: 60_000 });
    t.sup.start();
    expect(await t.sup.done).toBe(0);
    expect(t.starts()).toHaveLength(1);
    expect(t.sup.status.restarts).toBe(0);
  });
});
