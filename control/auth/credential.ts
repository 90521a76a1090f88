/**
 * A credential: what one party needs to take part in the cluster's mutual
 * TLS, as three PEM files in one directory (the layout `ferry up`,
 * `ferry node cert` and `ferry tenant add` write, and ferryd --tls-dir and
 * the CLI --credentials read):
 *
 *   ca.pem    the cluster CA's certificate (whom to trust)
 *   cert.pem  this party's certificate (who it is: see identity.ts)
 *   key.pem   its private key (mode 0600)
 *
 * Reading one checks it is whole and consistent, so a wrong file fails at
 * start with a message that names it rather than at the first handshake.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyPair } from './ca.js';
import { describeIdentity, identityOfAltName, type Identity } from './identity.js';

export interface Credential {
  /** PEM */
  ca: string;
  cert: string;
  key: string;
  identity: Identity;
  notAfter: Date;
}

export const CREDENTIAL_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

/** Check a CA certificate and a key pair belong together; where: for messages. */
export function toCredential(ca: string, pair: KeyPair, where: string): Credential {
  let caCert: X509Certificate;
  let cert: X509Certificate;
  try {
    caCert = new X509Certificate(ca);
  } catch (err) {
    throw new CredentialError(`${where}: the CA certificate is not a PEM certificate (${(err as Error).message})`);
  }
  try {
    cert = new X509Certificate(pair.cert);
  } catch (err) {
    throw new CredentialError(`${where}: the certificate is not a PEM certificate (${(err as Error).message})`);
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) throw new Error('it belongs to another certificate');
  } catch (err) {
    throw new CredentialError(`${where}: the private key does not match the certificate (${(err as Error).message})`);
  }
  if (!caCert.ca || !cert.verify(caCert.publicKey))
    throw new CredentialError(`${where}: the certificate was not issued by the CA in the same credential; issue it again from this cluster's CA`);
  const identity = identityOfAltName(cert.subjectAltName);
  if (!identity) throw new CredentialError(`${where}: the certificate names no ferry identity (a subjectAltName URI like ferry://node/NAME)`);
  return { ca, cert: pair.cert, key: pair.key, identity, notAfter: new Date(cert.validTo) };
}

export function readCredential(dir: string): Credential {
  const read = (file: string) => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new CredentialError(`${path} is missing: a credential directory holds ${Object.values(CREDENTIAL_FILES).join(', ')}`);
    return readFileSync(path, 'utf8');
  };
  // Like ssh: a key others can read is as good as theirs.
  const keyPath = join(dir, CREDENTIAL_FILES.key);
  const keyMode = existsSync(keyPath) ? statSync(keyPath).mode & 0o777 : 0;
  if (keyMode & 0o077) throw new CredentialError(`${keyPath} may be read by others (mode ${keyMode.toString(8)}): chmod 600 ${keyPath}`);
  return toCredential(read(CREDENTIAL_FILES.ca), { cert: read(CREDENTIAL_FILES.cert), key: read(CREDENTIAL_FILES.key) }, dir);
}

/** Write a credential directory: the directory 0700, the key 0600. */
export function writeCredential(dir: string, c: Pick<Credential, 'ca' | 'cert' | 'key'>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, CREDENTIAL_FILES.ca), c.ca, { mode: 0o644 });
  writeFileSync(join(dir, CREDENTIAL_FILES.cert), c.cert, { mode: 0o644 });
  writeFileSync(join(dir, CREDENTIAL_FILES.key), c.key, { mode: 0o600 });
  chmodSync(join(dir, CREDENTIAL_FILES.key), 0o600);
}

/** "tenant acme, valid until 2026-..." for people. */
export function describeCredential(c: Credential): string {
  return `${describeIdentity(c.identity)}, valid until ${c.notAfter.toISOString()}`;
}
