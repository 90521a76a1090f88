/**
 * Credential directories as people will get them wrong: a file missing, a
 * key others can read, a key of another certificate, a certificate of
 * another CA, one naming no ferry identity. Each is refused when read, with
 * a message that says what to do, before any handshake could fail vaguely.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testCredential } from '../../test/helpers/pki.js';
import { createCa, issue } from './ca.js';
import { readCredential, writeCredential } from './credential.js';
import { identityOfAltName, identityUri, parseIdentityUri } from './identity.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-cred-'));
let n = 0;
const dir = () => join(root, `c${n++}`);

describe('credential directories', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads back what was written, with its identity and expiry', async () => {
    const c = await testCredential({ kind: 'tenant', name: 'acme' });
    const d = dir();
    writeCredential(d, c);
    const back = readCredential(d);
    expect(back.identity).toEqual({ kind: 'tenant', name: 'acme' });
    expect(back.notAfter.getTime()).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    // The certificate says who it is for in its SAN, and chains to the CA.
    const cert = new X509Certificate(c.cert);
    expect(cert.subjectAltName).toBe('URI:ferry://tenant/acme');
    expect(cert.verify(new X509Certificate(c.ca).publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it('refuses a missing file and a key others can read', async () => {
    const c = await testCredential({ kind: 'operator' });
    const d = dir();
    writeCredential(d, c);
    chmodSync(join(d, 'key.pem'), 0o644);
    expect(() => readCredential(d)).toThrow(/key\.pem may be read by others \(mode 644\): chmod 600 /);
    chmodSync(join(d, 'key.pem'), 0o600);
    unlinkSync(join(d, 'cert.pem'));
    expect(() => readCredential(d)).toThrow(/cert\.pem is missing: a credential directory holds ca\.pem, cert\.pem, key\.pem/);
  });

  it("refuses a key of another certificate, another CA's certificate, and one that names nobody", async () => {
    const op = await testCredential({ kind: 'operator' });
    const other = await testCredential({ kind: 'controlplane' });
    const mixed = dir();
    writeCredential(mixed, { ...op, key: other.key });
    expect(() => readCredential(mixed)).toThrow(/the private key does not match the certificate/);

    const foreign = dir();
    writeCredential(foreign, { ...op, ...(await issue(await createCa('elsewhere'), { kind: 'operator' })) });
    expect(() => readCredential(foreign)).toThrow(/the certificate was not issued by the CA in the same credential/);

    const nobody = dir();
    const ca = await createCa('bare');
    writeCredential(nobody, { ca: ca.cert, cert: ca.cert, key: ca.key });
    expect(() => readCredential(nobody)).toThrow(/names no ferry identity/);
  });

  it('parses only well-formed identities', () => {
    expect(parseIdentityUri('ferry://node/edge-1')).toEqual({ kind: 'node', name: 'edge-1' });
    expect(parseIdentityUri(identityUri({ kind: 'controlplane' }))).toEqual({ kind: 'controlplane' });
    for (const bad of ['ferry://node/', 'ferry://node/Edge', 'ferry://node/a/b', 'ferry://operator/x', 'ferry://root', 'https://node/a'])
      expect(parseIdentityUri(bad), bad).toBeUndefined();
    // Two identities in one certificate are none.
    expect(identityOfAltName('URI:ferry://operator, URI:ferry://tenant/a')).toBeUndefined();
    expect(identityOfAltName('DNS:x, URI:ferry://tenant/a')).toEqual({ kind: 'tenant', name: 'a' });
  });
});
