/**
 * ferry tenant add NAME [--out DIR]: issue a tenant credential from the
 * cluster CA in $FERRY_HOME. With it (--credentials DIR) the CLI reaches
 * that tenant's chains and nothing else. Tenants need no registration: a
 * tenant is the namespace its chains live in.
 */
import { parseArgs } from 'node:util';
import { issueCredential } from './issue.js';
import type { Command } from '../context.js';
import { CliError } from '../output.js';

export const tenant: Command = async (ctx) => {
  const { values, positionals } = parseArgs({ args: ctx.args, options: { out: { type: 'string' } }, allowPositionals: true, strict: true });
  const [verb, name] = positionals;
  if (verb !== 'add' || !name || positionals.length > 2) throw new CliError('usage: ferry tenant add NAME [--out DIR]', 2);
  await issueCredential(ctx, { kind: 'tenant', name }, values.out, (dir) => `use it with: npx ferry --credentials ${dir} --admin ADMIN_HOST:PORT get chains`);
};
