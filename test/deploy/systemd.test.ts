/**
 * The systemd unit in deploy/systemd/ is one systemd accepts: checked with
 * `systemd-analyze verify` where the host has it (any warning fails), and
 * it runs the daemon `ferry up` runs, restarting it on failure.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../control/paths.js';

const unit = join(repoRoot, 'deploy/systemd/ferry.service');
const analyze = spawnSync('systemd-analyze', ['--version']);
const unavailable = analyze.error ? analyze.error.message : analyze.status !== 0 ? 'systemd-analyze --version failed' : undefined;
if (unavailable) console.warn(`systemd unit check skipped: ${unavailable}`);

describe('deploy/systemd/ferry.service', () => {
  it.skipIf(!!unavailable)('passes systemd-analyze verify without a warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => l.includes('ferry.service')), r.stderr).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('runs the ferry daemon and restarts it when it fails', () => {
    const text = readFileSync(unit, 'utf8');
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/ferry\/dist\/control\/controlplane\/main\.js$/m);
    expect(text).toMatch(/^Restart=on-failure$/m);
    expect(text).toMatch(/^Environment=FERRY_HOME=\/var\/lib\/ferry$/m);
  });
});
