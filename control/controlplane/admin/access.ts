/**
 * Who may do what through the Admin API, decided from the caller's
 * certificate (auth/identity.ts):
 *
 *   operator  everything, in any tenant
 *   tenant    the chain RPCs (apply, delete, list, get, scale, replace,
 *             events) and the job RPCs (apply, delete, list, get), on
 *             its own tenant's chains and jobs only; another
 *             tenant's chain is NOT_FOUND (the same answer as a chain that
 *             does not exist, so names do not leak)
 *   others    nothing (a node's or the control plane's certificate is not
 *             an operator's)
 */
import type { ServiceError } from '@grpc/grpc-js';
import { refusal } from '../../auth/grpc.js';
import type { Identity } from '../../auth/identity.js';
import { DEFAULT_TENANT, isName, type ChainRef } from '../../chain/tenant.js';
import { ChainError } from '../chains/errors.js';
import type { ClusterEvent } from '../events.js';
import type { AdminRpcName, ChainNameRequest } from './proto.js';

export type Access = { kind: 'operator' } | { kind: 'tenant'; tenant: string };

const TENANT_RPCS: ReadonlySet<AdminRpcName> = new Set([
  'ApplyChain',
  'DeleteChain',
  'ListChains',
  'GetChain',
  'ScaleStage',
  'ReplaceInstance',
  'WatchEvents',
  // Aggregation jobs are named per tenant like chains, with the same rules.
  'ApplyJob',
  'DeleteJob',
  'ListJobs',
  'GetJob',
]);

/** A refused call, as the status to answer with. */
export class AccessDenied extends Error {
  constructor(readonly status: Partial<ServiceError>) {
    super(status.details);
    this.name = 'AccessDenied';
  }
}

export function accessOf(caller: Identity | undefined, rpc: AdminRpcName): Access {
  if (caller?.kind === 'operator') return { kind: 'operator' };
  if (caller?.kind === 'tenant') {
    if (TENANT_RPCS.has(rpc)) return { kind: 'tenant', tenant: caller.name };
    throw new AccessDenied(refusal(caller, "the operator's credential ($FERRY_HOME/credentials/operator where `ferry up` ran)"));
  }
  throw new AccessDenied(refusal(caller, "the operator's credential or a tenant's (`ferry tenant add NAME`)"));
}

function checkTenantName(tenant: string): void {
  if (!isName(tenant)) throw new ChainError('invalid', `tenant: "${tenant}" is not a tenant name (lowercase letters, digits and '-', starting with a letter)`);
}

/** The chain (or job: `what`) a request names, in the tenant the caller may reach. */
export function chainRef(access: Access, req: ChainNameRequest, what: 'chain' | 'job' = 'chain'): ChainRef {
  const name = req.name;
  if (!name) throw new ChainError('invalid', `name: empty; name the ${what}`);
  const tenant = req.tenant || (access.kind === 'tenant' ? access.tenant : DEFAULT_TENANT);
  checkTenantName(tenant);
  if (access.kind === 'tenant' && tenant !== access.tenant) throw new ChainError('not-found', `no ${what} named "${name}" in tenant ${tenant}`);
  return { tenant, name };
}

/** Which tenants' chains ListChains shows: undefined for all of them, null for none. */
export function listedTenant(access: Access, requested = ''): string | undefined | null {
  if (requested) checkTenantName(requested);
  if (access.kind === 'operator') return requested || undefined;
  return !requested || requested === access.tenant ? access.tenant : null;
}

/** The tenant a new chain lands in when its file names none, and the check
 * of the one it names. */
export function applyTenant(access: Access, requested = ''): { tenant?: string; admit: (chain: ChainRef) => void } {
  if (requested) checkTenantName(requested);
  if (access.kind === 'tenant') {
    if (requested && requested !== access.tenant)
      throw new ChainError('forbidden', `tenant ${access.tenant}'s credential cannot apply chains of tenant ${requested}`);
    return {
      tenant: access.tenant,
      admit: (c) => {
        if (c.tenant !== access.tenant)
          throw new ChainError('forbidden', `tenant ${access.tenant}'s credential cannot apply chains of tenant ${c.tenant} (metadata.tenant)`);
      },
    };
  }
  return {
    tenant: requested || undefined,
    admit: (c) => {
      if (requested && c.tenant !== requested)
        throw new ChainError('invalid', `metadata.tenant is ${c.tenant} but the request is for tenant ${requested}; drop one or make them agree`);
    },
  };
}

/** Which events a watcher sees. */
export function eventFilter(access: Access, req: { chain: string; tenant?: string }): (e: ClusterEvent) => boolean {
  const requested = req.tenant ?? '';
  if (requested) checkTenantName(requested);
  const own = access.kind === 'tenant' ? access.tenant : undefined;
  if (own && requested && requested !== own) return () => false;
  // With a chain: that chain of the named (or own, or default) tenant.
  const tenant = requested || own || (req.chain ? DEFAULT_TENANT : undefined);
  return (e) => (tenant === undefined || e.tenant === tenant) && (!req.chain || e.chain === req.chain);
}
