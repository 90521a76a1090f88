/**
 * The cluster's CA and credentials in $FERRY_HOME, made by `ferry up` the
 * first time and reused after:
 *
 *   $FERRY_HOME/                  0700
 *     pki/ca.pem, pki/ca.key      the CA (the key never leaves this machine; 0600)
 *     credentials/operator/       the CLI's credential (full access)
 *     credentials/controlplane/   the control plane's (serves Admin, calls ferryd)
 *     credentials/node-NAME/      the local ferryd's
 *
 * Credentials for other machines and tenants are issued from the same CA
 * into a directory the operator names (`ferry node cert`, `ferry tenant add`).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createCa, issue, type KeyPair, type Validity } from './ca.js';
import { CredentialError, readCredential, toCredential, writeCredential, type Credential } from './credential.js';
import { describeIdentity, type Identity } from './identity.js';

/** Certificates this close to expiry are issued again when asked for. */
const RENEW_WITHIN_MS = 30 * 86_400_000;

export class LocalPki {
  readonly pkiDir: string;

  constructor(readonly home: string) {
    this.pkiDir = join(home, 'pki');
  }

  get hasCa(): boolean {
    return existsSync(join(this.pkiDir, 'ca.key'));
  }

  /** The CA, the operator's and the control plane's credentials: made
   * when missing, reused when present. created: whether the CA is new. */
  async ensure(): Promise<{ created: boolean }> {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    chmodSync(this.home, 0o700);
    let created = false;
    if (!this.hasCa) created = await this.createCa();
    await this.credential({ kind: 'operator' });
    await this.credential({ kind: 'controlplane' });
    return { created };
  }

  credentialDir(id: Identity): string {
    const leaf = id.kind === 'node' || id.kind === 'tenant' ? `${id.kind}-${id.name}` : id.kind;
    return join(this.home, 'credentials', leaf);
  }

  /** The stored credential for id, issued now if it is missing, not from
   * this CA, or about to expire. */
  async credential(id: Identity): Promise<Credential> {
    const dir = this.credentialDir(id);
    const ca = this.ca();
    if (existsSync(dir)) {
      try {
        const c = readCredential(dir);
        if (c.ca === ca.cert && c.notAfter.getTime() - Date.now() > RENEW_WITHIN_MS) return c;
      } catch (err) {
        if (!(err instanceof CredentialError)) throw err;
      }
    }
    return this.issueTo(id, dir);
  }

  /** Issue a credential for id from this CA into dir (made 0700). */
  async issueTo(id: Identity, dir: string, validity: Validity = {}): Promise<Credential> {
    const ca = this.ca();
    const c = toCredential(ca.cert, await issue(ca, id, validity), `${describeIdentity(id)}'s new credential`);
    writeCredential(dir, c);
    return c;
  }

  private ca(): KeyPair {
    if (!this.hasCa)
      throw new CredentialError(
        `${this.pkiDir} holds no CA: credentials are issued on the machine where \`ferry up\` made the cluster's CA (or set FERRY_HOME to its home)`,
      );
    return { cert: readFileSync(join(this.pkiDir, 'ca.pem'), 'utf8'), key: readFileSync(join(this.pkiDir, 'ca.key'), 'utf8') };
  }

  /** Made aside and renamed into place, so two `ferry up` at once end with one CA. */
  private async createCa(): Promise<boolean> {
    const ca = await createCa(`ferry CA ${hostname()}`);
    const tmp = mkdtempSync(join(this.home, '.pki-'));
    writeFileSync(join(tmp, 'ca.pem'), ca.cert, { mode: 0o644 });
    writeFileSync(join(tmp, 'ca.key'), ca.key, { mode: 0o600 });
    try {
      renameSync(tmp, this.pkiDir);
      return true;
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (this.hasCa) return false;
      throw err;
    }
  }
}
