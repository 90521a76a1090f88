/**
 * `ferry up` and credentials as an operator meets them, with the built CLI
 * against a real local ferry: the first up makes the CA and credentials in
 * a fresh $FERRY_HOME with private modes, the CLI uses them without flags,
 * a tenant's credential reaches its own chains only (also from another
 * machine's point of view: no local state, just --admin and the
 * credential), and a second up reuses everything.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferryCli, type Run } from '../../test/helpers/ferry-cli.js';
import { createCa, issue } from '../auth/ca.js';
import { writeCredential } from '../auth/credential.js';
import { repoRoot } from '../paths.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-creds-'));
const home = join(root, 'home'); // does not exist yet: ferry up makes it
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-creds`;
const greet = join(repoRoot, 'control/cli/testdata/greet.yaml');
const acmeDir = join(root, 'acme-tls');

const ferry = ferryCli(home);
/** The CLI on a machine with no ferry of its own. */
const remote = ferryCli(join(root, 'elsewhere'));

const up = () => ferry('up', '--admin', '127.0.0.1:0', '--ferryd', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--ferryd-metrics', '127.0.0.1:0', '--pin-dir', pinDir, '--node-name', 'n2');
const mode = (path: string) => (statSync(join(home, path)).mode & 0o777).toString(8);

function ok(r: Run): string {
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('ferry up credentials and tenant credentials', () => {
  let caPem: string;
  let admin: string;

  beforeAll(async () => {
    expect(ok(await up())).toContain('ferry is up');
    caPem = readFileSync(join(home, 'pki/ca.pem'), 'utf8');
    admin = (JSON.parse(ok(await ferry('up', '-o', 'json'))) as { admin: string }).admin;
  });

  afterAll(async () => {
    await ferry('down');
    rmSync(root, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('made the CA and the credentials in $FERRY_HOME, private', () => {
    expect(mode('.')).toBe('700');
    expect(mode('pki')).toBe('700');
    expect(mode('pki/ca.key')).toBe('600');
    for (const who of ['operator', 'controlplane', 'node-n2']) {
      expect(mode(`credentials/${who}`)).toBe('700');
      expect(mode(`credentials/${who}/key.pem`)).toBe('600');
      expect(readFileSync(join(home, `credentials/${who}/ca.pem`), 'utf8')).toBe(caPem);
    }
  });

  it('works without flags, as the operator', async () => {
    const nodes = JSON.parse(ok(await ferry('get', 'nodes', '-o', 'json'))) as { name: string }[];
    expect(nodes.map((n) => n.name)).toEqual(['n2']);
  });

  it("issues a tenant credential that reaches that tenant's chains only", async () => {
    expect(ok(await ferry('tenant', 'add', 'acme', '--out', acmeDir))).toContain('issued tenant acme');
    expect((statSync(acmeDir).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(join(acmeDir, 'key.pem')).mode & 0o777).toString(8)).toBe('600');
    const asAcme = (...args: string[]) => ferry('--credentials', acmeDir, ...args);

    // greet.yaml names no tenant: it lands in the credential's.
    expect(ok(await asAcme('apply', '-f', greet))).toContain('chain acme/greet applied');
    const reply = JSON.parse(ok(await asAcme('invoke', 'greet', '--data', '{"name":"Ann"}', '-o', 'json'))) as { body: { tenant: string } };
    expect(reply.body.tenant).toBe('acme');

    const nodes = await asAcme('get', 'nodes');
    expect(nodes.code).toBe(1);
    expect(nodes.stderr).toContain("tenant acme may not call this; it needs the operator's credential");
    const other = await asAcme('get', 'chains', 'beta/greet');
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('no chain named "greet" in tenant beta');

    // The operator sees the tenant; the default tenant has no greet.
    const chains = JSON.parse(ok(await ferry('get', 'chains', '-o', 'json'))) as { name: string; tenant: string }[];
    expect(chains.map((c) => `${c.tenant}/${c.name}`)).toEqual(['acme/greet']);
    expect(ok(await ferry('get', 'chains'))).toMatch(/NAME\s+TENANT[\s\S]*greet\s+acme/);
    expect((await ferry('invoke', 'greet', '--data', '{"name":"x"}')).stderr).toContain('answered 404');
    expect(JSON.parse(ok(await ferry('invoke', 'acme/greet', '--data', '{"name":"Op"}', '-o', 'json'))).body.tenant).toBe('acme');
  });

  it('works from elsewhere with only the address and the credential: invoke finds the endpoint through the Admin API', async () => {
    const r = JSON.parse(ok(await remote('--admin', admin, '--credentials', acmeDir, 'invoke', 'greet', '--data', '{"name":"Far"}', '-o', 'json'))) as {
      body: { greeting: string; tenant: string };
    };
    expect(r.body).toMatchObject({ greeting: 'hello, far', tenant: 'acme' });
    // The gateway itself needs no credential: invoke with --gateway works without one.
    const gateway = (JSON.parse(ok(await ferry('up', '-o', 'json'))) as { gateway: string }).gateway;
    const open = JSON.parse(ok(await remote('invoke', 'acme/greet', '--gateway', gateway, '--data', '{"name":"Anyone"}', '-o', 'json'))) as { body: { tenant: string } };
    expect(open.body.tenant).toBe('acme');
    const none = await remote('--admin', admin, 'get', 'chains');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no usable credential: .*operator\/ca\.pem is missing.*pass --credentials DIR/);
    // Another cluster's operator credential: no handshake either way, and the CLI says what to check.
    const foreign = join(root, 'foreign-tls');
    const otherCa = await createCa('another cluster');
    writeCredential(foreign, { ca: otherCa.cert, ...(await issue(otherCa, { kind: 'operator' })) });
    const refused = await remote('--admin', admin, '--credentials', foreign, 'get', 'chains');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`no TLS session with the Admin API at ${admin} as the operator`);
    expect(refused.stderr).toContain('this credential was issued by its CA');
    const noCa = await remote('tenant', 'add', 'beta');
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toContain('holds no CA: credentials are issued on the machine where `ferry up` made the cluster\'s CA');
  });

  it('reuses the CA and credentials on the next up, and the tenant credential still works', async () => {
    const operatorCert = readFileSync(join(home, 'credentials/operator/cert.pem'), 'utf8');
    ok(await ferry('down'));
    expect(ok(await up())).toContain('ferry is up');
    expect(readFileSync(join(home, 'pki/ca.pem'), 'utf8')).toBe(caPem);
    expect(readFileSync(join(home, 'credentials/operator/cert.pem'), 'utf8')).toBe(operatorCert);
    const reply = JSON.parse(ok(await ferry('--credentials', acmeDir, 'invoke', 'greet', '--data', '{"name":"Again"}', '-o', 'json'))) as { body: { greeting: string } };
    expect(reply.body.greeting).toBe('hello, again');
  });
});
