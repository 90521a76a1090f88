/**
 * What every command gets: the output format and, lazily, a client of the
 * control plane it should talk to (--admin, $FERRY_ADMIN, or the local
 * ferry that `ferry up` started) with the credential to show it
 * (--credentials DIR, $FERRY_CREDENTIALS, or the operator's credential
 * `ferry up` made in $FERRY_HOME).
 */
import { join } from 'node:path';
import { describeCredential, readCredential, type Credential } from '../auth/credential.js';
import type { Identity } from '../auth/identity.js';
import { DEFAULT_TENANT, parseChainRef, type ChainRef } from '../chain/tenant.js';
import { AdminClient, AdminError } from '../controlplane/admin/client.js';
import { CliError, type Format } from './output.js';
import { ferryHome, isAlive, readState, type LocalState } from './state.js';

export interface CommandContext {
  args: string[];
  format: Format;
  adminOverride?: string;
  credentialsOverride?: string;
  /** --tenant: the tenant of chains named without one. */
  tenant?: string;
}

export function localFerry(): LocalState | undefined {
  const s = readState();
  return s && isAlive(s.pid) ? s : undefined;
}

export function adminAddress(ctx: CommandContext): string {
  const explicit = ctx.adminOverride ?? process.env.FERRY_ADMIN;
  if (explicit) return explicit;
  const s = localFerry();
  if (!s) throw new CliError('no ferry is running here: start one with `npx ferry up` (or pass --admin HOST:PORT)');
  return s.admin;
}

/** The credential directory the CLI uses. */
export function credentialsDir(ctx: CommandContext): string {
  return ctx.credentialsOverride ?? process.env.FERRY_CREDENTIALS ?? join(ferryHome(), 'credentials', 'operator');
}

export function credential(ctx: CommandContext): Credential {
  try {
    return readCredential(credentialsDir(ctx));
  } catch (err) {
    const hint = ctx.credentialsOverride ?? process.env.FERRY_CREDENTIALS ? '' : ' (`npx ferry up` makes the operator\'s; elsewhere pass --credentials DIR or set FERRY_CREDENTIALS)';
    throw new CliError(`no usable credential: ${(err as Error).message}${hint}`);
  }
}

/** The tenant a chain named without one belongs to, for this CLI's caller:
 * --tenant, else a tenant credential's own tenant, else "default" (also
 * with no credential at all: `invoke --gateway` needs none). */
export function callerTenant(ctx: CommandContext): string {
  if (ctx.tenant) return ctx.tenant;
  let who: Identity | undefined;
  try {
    who = readCredential(credentialsDir(ctx)).identity;
  } catch {
    who = undefined;
  }
  return who?.kind === 'tenant' ? who.name : DEFAULT_TENANT;
}

/** A chain argument: NAME or TENANT/NAME (--tenant names the tenant of a bare NAME). */
export function chainArg(ctx: CommandContext, arg: string): ChainRef {
  try {
    return parseChainRef(arg, callerTenant(ctx));
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

/** Run fn with an Admin client, closing it afterwards. A server that
 * cannot be reached, or that refuses the TLS handshake, is told apart from
 * a refused call in what the error says to check. */
export async function withAdmin<T>(ctx: CommandContext, fn: (c: AdminClient) => Promise<T>): Promise<T> {
  const address = adminAddress(ctx);
  const cred = credential(ctx);
  const client = new AdminClient(address, cred);
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof AdminError && err.code === 'UNAVAILABLE' && /No connection established/.test(err.message))
      throw new CliError(
        `no TLS session with the Admin API at ${address} as ${describeCredential(cred)} (${credentialsDir(ctx)}): ${err.message}\n` +
          'check that ferry runs there (`npx ferry up`) and that this credential was issued by its CA',
      );
    throw err;
  } finally {
    client.close();
  }
}

export type Command = (ctx: CommandContext) => Promise<number | void>;
