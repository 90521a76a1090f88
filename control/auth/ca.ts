/**
 * The cluster CA: makes ECDSA P-256 keys and X.509 certificates with
 * @peculiar/x509 over Node's WebCrypto, so nothing outside Node (no openssl
 * binary) is needed at run time. Certificates are verified by node:tls; this
 * module only issues them.
 */
import 'reflect-metadata'; // @peculiar/x509 resolves its parts through tsyringe, which needs it
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { identityUri, type Identity } from './identity.js';

/** A certificate and its private key, PEM (PKCS#8 key). */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
  /** When notAfter is not given: this many days from notBefore. */
  days?: number;
}

const crypto = webcrypto as unknown as Crypto;
const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
export const CA_DAYS = 3650;
export const LEAF_DAYS = 397;

function period(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  // A minute back: a peer whose clock is slightly behind still accepts a certificate made just now.
  const notBefore = v.notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore, notAfter: v.notAfter ?? new Date(notBefore.getTime() + (v.days ?? defaultDays) * DAY_MS) };
}

// A positive 128-bit serial (RFC 5280 wants at most 20 octets, unique per CA).
const serial = () => '01' + randomBytes(15).toString('hex');

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

function importKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return crypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

const newKeys = () => crypto.subtle.generateKey(EC, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

/** A new self-signed CA (name: the CN, e.g. "ferry CA mybox"). */
export async function createCa(name: string, validity: Validity = {}): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=${name}`,
      ...period(validity, CA_DAYS),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert: cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}

/** A certificate for one identity, signed by the CA. Every one may serve
 * and call (a node's ferryd does both on its peer link). */
export async function issue(ca: KeyPair, id: Identity, validity: Validity = {}): Promise<KeyPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${identityUri(id)}`,
      issuer: caCert.subject,
      ...period(validity, LEAF_DAYS),
      publicKey: keys.publicKey,
      signingKey: await importKey(ca.key),
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identityUri(id) }]),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert: cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}
