/** Issuing a credential from the local CA into a directory, for `ferry
 * node cert` and `ferry tenant add`. */
import { resolve } from 'node:path';
import { CredentialError, CREDENTIAL_FILES, describeCredential } from '../../auth/credential.js';
import { parseIdentityUri, identityUri, type Identity } from '../../auth/identity.js';
import { LocalPki } from '../../auth/local-pki.js';
import type { CommandContext } from '../context.js';
import { CliError, print } from '../output.js';
import { ferryHome } from '../state.js';

export async function issueCredential(ctx: CommandContext, id: Identity, out: string | undefined, next: (dir: string) => string): Promise<void> {
  if (!parseIdentityUri(identityUri(id)))
    throw new CliError(`"${'name' in id ? id.name : ''}" is not a name: lowercase letters, digits and '-', starting with a letter`, 2);
  const pki = new LocalPki(ferryHome());
  const dir = resolve(out ?? pki.credentialDir(id));
  let c;
  try {
    c = await pki.issueTo(id, dir);
  } catch (err) {
    if (err instanceof CredentialError) throw new CliError(err.message);
    throw err;
  }
  const files = Object.values(CREDENTIAL_FILES).join(', ');
  print(ctx.format, { identity: identityUri(c.identity), dir, notAfter: c.notAfter.toISOString() }, () =>
    [`issued ${describeCredential(c)}`, `  in ${dir} (${files}; key.pem is secret)`, next(dir)].join('\n'),
  );
}
