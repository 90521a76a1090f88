/**
 * Tenants are namespaces: a chain is named by (tenant, name), two tenants
 * may each have a chain called `parking`, and a chain whose file names no
 * tenant belongs to `default`. People write a chain as `TENANT/NAME` (or
 * just NAME for one of `default`); the gateway serves it at
 * /tenants/TENANT/chains/NAME, and `default`'s also at /chains/NAME.
 */
import { NAME_PATTERN } from './schema.js';

export const DEFAULT_TENANT = 'default';

export interface ChainRef {
  tenant: string;
  name: string;
}

const NAME = new RegExp(NAME_PATTERN);
export const isName = (s: string): boolean => NAME.test(s);

/** "acme/parking" -> {acme, parking}; "parking" -> {fallbackTenant, parking}.
 * Throws an error that says what a name looks like. */
export function parseChainRef(s: string, fallbackTenant = DEFAULT_TENANT): ChainRef {
  const parts = s.split('/');
  const [tenant, name] = parts.length === 2 ? parts : [fallbackTenant, parts[0]];
  if (parts.length > 2 || !tenant || !name || !isName(tenant) || !isName(name))
    throw new Error(`"${s}" is not a chain name: NAME or TENANT/NAME, each lowercase letters, digits and '-', starting with a letter`);
  return { tenant, name };
}

/** "parking" for the default tenant, "acme/parking" otherwise. */
export const formatChainRef = ({ tenant, name }: ChainRef): string => (tenant === DEFAULT_TENANT ? name : `${tenant}/${name}`);

/** The gateway path that serves the chain. */
export const chainPath = ({ tenant, name }: ChainRef): string =>
  tenant === DEFAULT_TENANT ? `/chains/${name}` : `/tenants/${tenant}/chains/${name}`;
