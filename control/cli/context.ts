/**
 * What every command gets: the output format and, lazily, a client of the
 * control plane it should talk to (--admin, $FERRY_ADMIN, or the local
 * ferry that `ferry up` started).
 */
import { AdminClient } from '../controlplane/admin/client.js';
import { CliError, type Format } from './output.js';
import { isAlive, readState, type LocalState } from './state.js';

export interface CommandContext {
  args: string[];
  format: Format;
  adminOverride?: string;
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

/** Run fn with an Admin client, closing it afterwards. */
export async function withAdmin<T>(ctx: CommandContext, fn: (c: AdminClient) => Promise<T>): Promise<T> {
  const client = new AdminClient(adminAddress(ctx));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export type Command = (ctx: CommandContext) => Promise<number | void>;
