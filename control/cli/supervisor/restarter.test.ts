/**
 * The Restarter with real child processes: a child that keeps crashing is
 * restarted with a doubling back-off up to its cap; stop() during a
 * back-off ends supervision without another start; a clean exit ends it
 * by itself; stop() while the child runs passes SIGTERM on.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import { Restarter } from './restarter.js';

function restarter(script: string) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({}, 'debug', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  const r = new Restarter({ command: process.execPath, args: ['-e', script], env: process.env, backoff: { initialMs: 40, maxMs: 160, resetAfterMs: 60_000 }, log });
  return { r, lines };
}

const delays = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'ferry exited; restarting').map((l) => l.inMs);

describe('Restarter', () => {
  it('restarts a crashing child with a doubling back-off up to its cap, and stops during a back-off', async () => {
    const { r, lines } = restarter('process.exit(3)');
    r.start();
    const deadline = Date.now() + 20_000;
    while (delays(lines).length < 5 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(delays(lines).slice(0, 5)).toEqual([40, 80, 160, 160, 160]);
    expect(lines.find((l) => l.msg === 'ferry exited; restarting')).toMatchObject({ code: 3 });
    await r.stop();
    const starts = lines.filter((l) => l.msg === 'started').length;
    await new Promise((res) => setTimeout(res, 400));
    expect(lines.filter((l) => l.msg === 'started').length).toBe(starts);
  });

  it('ends when the child exits cleanly, and passes SIGTERM on when stopped', async () => {
    const clean = restarter('process.exit(0)');
    clean.r.start();
    await clean.r.done;
    expect(clean.r.restarts).toBe(0);

    const long = restarter("process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)");
    long.r.start();
    await new Promise((res) => setTimeout(res, 300));
    await long.r.stop();
    expect(long.lines.find((l) => l.msg === 'exited')).toMatchObject({ code: 0, signal: null });
  });
});
