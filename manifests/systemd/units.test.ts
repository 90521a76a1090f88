/**
 * The systemd units: systemd's own checker (`systemd-analyze verify`)
 * finds nothing in them, as shipped and as installed over this checkout,
 * and the command each one runs really starts its daemon (with test ports
 * and state) and stops cleanly on SIGTERM, as systemd stops it.
 * Without systemd-analyze (not a systemd host) the checks are skipped and
 * say so; scripts/setup.sh installs it where it can.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../control/controlplane/admin/client.js';
import { readCredential } from '../../control/auth/credential.js';
import { connectFerryd, testPinDir, waitFor } from '../../control/ferryd/testdata/harness.js';
import { testCredentialDir } from '../../test/helpers/pki.js';
import { repoRoot } from '../../control/paths.js';

const ANALYZE = '/usr/bin/systemd-analyze';
const INSTALL_ROOT = '/opt/ferry';
const here = join(repoRoot, 'manifests/systemd');
const units = [
  { file: 'ferry.service', argsVar: 'FERRY_ARGS' },
  { file: 'ferryd.service', argsVar: 'FERRYD_ARGS' },
];

const missing = existsSync(ANALYZE) ? undefined : `${ANALYZE} is not installed (Debian package systemd; scripts/setup.sh installs it as root)`;
if (missing) console.warn(`systemd unit checks skipped: ${missing}`);

const scratch = mkdtempSync(join(tmpdir(), 'ferry-units-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** systemd-analyze verify on a unit file; what it printed (nothing when clean). */
function verify(path: string): { code: number | null; out: string } {
  const r = spawnSync(ANALYZE, ['verify', path], { encoding: 'utf8' });
  return { code: r.status, out: (r.stdout + r.stderr).trim() };
}

/** The unit as installed over this checkout instead of /opt/ferry. */
function installed(file: string): string {
  const path = join(scratch, file);
  writeFileSync(path, readFileSync(join(here, file), 'utf8').replaceAll(INSTALL_ROOT, repoRoot));
  return path;
}

/** The argv its ExecStart runs, with $ARGS expanded from its Environment=. */
function execStart(text: string, argsVar: string): string[] {
  const exec = /^ExecStart=(.*)$/m.exec(text)?.[1];
  const args = new RegExp(`^Environment="${argsVar}=([^"]*)"$`, 'm').exec(text)?.[1];
  if (!exec || args === undefined) throw new Error(`no ExecStart or ${argsVar} default in the unit`);
  return exec.split(/\s+/).flatMap((w) => (w === `$${argsVar}` ? args.split(/\s+/) : [w]));
}

/** One call to the daemon's gRPC API (admin or ferryd). */
async function answers(file: string, home: string, log: string): Promise<void> {
  if (file === 'ferry.service') {
    const admin = new AdminClient(
      (JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as { admin: string }).admin,
      readCredential(join(home, 'credentials', 'operator')),
    );
    await admin.call('ListNodes', {}).finally(() => admin.close());
    return;
  }
  const grpc = /"msg":"data plane mode: fallback".*?"grpc":"([^"]+)"/.exec(log)![1]!;
  const client = connectFerryd(grpc, 'unit-test');
  await client.getNodeInfo().finally(() => client.close());
}

describe.skipIf(!!missing)('systemd units', () => {
  it.each(units)('$file passes systemd-analyze verify as shipped and as installed here', ({ file }) => {
    expect(verify(join(here, file))).toEqual({ code: 0, out: '' });
    const path = installed(file);
    expect(verify(path)).toEqual({ code: 0, out: '' });
    const script = execStart(readFileSync(path, 'utf8'), units.find((u) => u.file === file)!.argsVar).find((w) => w.endsWith('.js'))!;
    expect(existsSync(script), `${script} (built by npm run setup)`).toBe(true);
  });

  it('the check fails a unit with a mistake in it', () => {
    const path = join(scratch, 'broken.service');
    writeFileSync(path, readFileSync(installed('ferry.service'), 'utf8').replace('Restart=on-failure', 'Restrat=on-failure').replace('/usr/bin/env', '/usr/bin/no-such-env'));
    const r = verify(path);
    expect(r.out).toContain("Unknown key 'Restrat'");
    expect(r.out).toContain('/usr/bin/no-such-env is not executable');
    expect(r.code).not.toBe(0);
  });

  it.each(units)('$file runs a daemon that starts and stops cleanly on SIGTERM', async ({ file, argsVar }) => {
    const home = mkdtempSync(join(scratch, 'home-'));
    const pinDir = testPinDir();
    // Its own ports and pin dir, so a running ferry is left alone.
    const argv = execStart(readFileSync(installed(file), 'utf8'), argsVar).map((w) =>
      w.replace(/^127\.0\.0\.1:\d+$/, '127.0.0.1:0').replace('/var/lib/ferryd', join(home, 'ferryd')),
    );
    const [cmd, ...args] = argv;
    // A node's credential in place of /etc/ferry/tls (the unit's FERRY_TLS_DIR).
    const tls = await testCredentialDir({ kind: 'node', name: 'unit-test' });
    const child = spawn(cmd!, [...args, '--pin-dir', pinDir, '--mode', 'fallback'], {
      env: { ...process.env, FERRY_HOME: home, FERRY_TLS_DIR: tls },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // ferry's daemon says where it serves in state.json (the CLI reads it there).
      const ready = () => (file === 'ferry.service' ? existsSync(join(home, 'state.json')) : log.includes('"msg":"data plane mode: fallback"'));
      await waitFor(`${file}'s daemon to be ready`, () => ready() || undefined, 30_000);
      // An answer from its event loop means its start-up code, signal
      // handlers included, has run: SIGTERM from now on is a graceful stop.
      await answers(file, home, log);
      child.kill('SIGTERM');
      expect(await exited, log).toBe(0);
      expect(existsSync(join(home, 'state.json'))).toBe(false);
    } finally {
      child.kill('SIGKILL');
      rmSync(pinDir, { recursive: true, force: true });
    }
  });
});
