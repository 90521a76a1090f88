/**
 * Who a certificate speaks for. Every certificate the cluster CA issues
 * carries exactly one identity as a URI in its subjectAltName:
 *
 *   ferry://operator          the cluster's operator (the CLI, full access)
 *   ferry://controlplane      the control plane (serves Admin, drives ferryd)
 *   ferry://node/NAME         a node's ferryd (serves NodeDaemon, peer link)
 *   ferry://tenant/NAME       a tenant (Admin, its own chains only)
 *
 * Servers read it from the verified peer certificate, never from anything
 * the peer says on the wire.
 */
import { NAME_PATTERN } from '../chain/schema.js';

export type Identity =
  | { kind: 'operator' }
  | { kind: 'controlplane' }
  | { kind: 'node'; name: string }
  | { kind: 'tenant'; name: string };

export type IdentityKind = Identity['kind'];

const SCHEME = 'ferry://';
const NAME = new RegExp(NAME_PATTERN);

export function identityUri(id: Identity): string {
  return id.kind === 'node' || id.kind === 'tenant' ? `${SCHEME}${id.kind}/${id.name}` : `${SCHEME}${id.kind}`;
}

export function parseIdentityUri(uri: string): Identity | undefined {
  if (!uri.startsWith(SCHEME)) return undefined;
  const [kind, name, ...rest] = uri.slice(SCHEME.length).split('/');
  if (rest.length > 0) return undefined;
  if ((kind === 'operator' || kind === 'controlplane') && name === undefined) return { kind };
  if ((kind === 'node' || kind === 'tenant') && name !== undefined && NAME.test(name)) return { kind, name };
  return undefined;
}

/** For messages: "the operator", "node edge1", "tenant acme". */
export function describeIdentity(id: Identity): string {
  switch (id.kind) {
    case 'operator':
      return 'the operator';
    case 'controlplane':
      return 'the control plane';
    default:
      return `${id.kind} ${id.name}`;
  }
}

/**
 * The identity in a certificate's subjectAltName as node:tls and
 * crypto.X509Certificate print it ("URI:ferry://node/a, DNS:x"): exactly one
 * ferry:// URI, or none (undefined) when there is none or several.
 */
export function identityOfAltName(subjectAltName: string | undefined): Identity | undefined {
  const ids = (subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith(`URI:${SCHEME}`))
    .map((e) => parseIdentityUri(e.slice(4)));
  return ids.length === 1 ? ids[0] : undefined;
}

export const sameIdentity = (a: Identity, b: Identity): boolean => identityUri(a) === identityUri(b);
