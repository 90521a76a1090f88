/**
 * A cluster CA for tests: made once per test process in a temp directory
 * (never $FERRY_HOME), with credentials issued from it on demand, so every
 * test talks real mutual TLS without setting anything up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issue, type KeyPair } from '../../control/auth/ca.js';
import type { Credential } from '../../control/auth/credential.js';
import { identityUri, type Identity } from '../../control/auth/identity.js';
import { LocalPki } from '../../control/auth/local-pki.js';

const home = mkdtempSync(join(tmpdir(), 'ferry-test-pki-'));
process.on('exit', () => rmSync(home, { recursive: true, force: true }));

/** The test CA's home (a $FERRY_HOME with pki/ and credentials/). */
export const testPki = new LocalPki(home);
const ready = testPki.ensure();
const issued = new Map<string, Promise<Credential>>();

/** The test CA's credential for id (the same one every time). */
export function testCredential(id: Identity): Promise<Credential> {
  const key = identityUri(id);
  let c = issued.get(key);
  if (!c) {
    c = ready.then(() => testPki.credential(id));
    issued.set(key, c);
  }
  return c;
}

/** The directory holding testCredential(id), for processes (--tls-dir, --credentials). */
export async function testCredentialDir(id: Identity): Promise<string> {
  await testCredential(id);
  return testPki.credentialDir(id);
}

/** How a credential can be wrong, for tests of what servers refuse. */
export type Forgery = 'self-signed' | 'foreign-ca' | 'expired';

/**
 * A credential that trusts the real test CA (so its holder can check the
 * server) but presents a certificate the cluster must refuse: one signed
 * by itself, one from another CA (claiming the same identity), or one from
 * the right CA that expired yesterday.
 */
export async function forgedCredential(forgery: Forgery, id: Identity): Promise<Credential> {
  const real = await testCredential(id);
  let pair: KeyPair;
  if (forgery === 'self-signed') pair = await createCa(identityUri(id));
  else if (forgery === 'foreign-ca') pair = await issue(await createCa('not the cluster CA'), id);
  else {
    const day = 86_400_000;
    pair = await issue(testCaKeys(), id, { notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) });
  }
  return { ...real, ...pair };
}

function testCaKeys(): KeyPair {
  return { cert: readFileSync(join(testPki.pkiDir, 'ca.pem'), 'utf8'), key: readFileSync(join(testPki.pkiDir, 'ca.key'), 'utf8') };
}
