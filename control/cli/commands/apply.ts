/** ferry apply -f FILE [--tenant T]: validate, place and start a chain (or
 * update it). A file that names no tenant lands in --tenant, or the
 * credential's own tenant, or "default". */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatChainRef } from '../../chain/tenant.js';
import { withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';
import { describeChain } from './get.js';

export const apply: Command = async (ctx) => {
  const { values } = parseArgs({ args: ctx.args, options: { file: { type: 'string', short: 'f', multiple: true } }, strict: true });
  const files = values.file ?? [];
  if (files.length === 0) throw new CliError('usage: ferry apply -f CHAIN.yaml [-f ...]');
  const applied = [];
  for (const f of files) {
    const file = resolve(f);
    let yaml: string;
    try {
      yaml = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const status = await withAdmin(ctx, (c) => c.call('ApplyChain', { yaml, file, tenant: ctx.tenant ?? '' }));
    applied.push(status);
    if (ctx.format === 'table') process.stdout.write(`chain ${formatChainRef(status)} applied (generation ${status.generation})\n${describeChain(status)}\n`);
  }
  if (ctx.format === 'json') print('json', applied.length === 1 ? applied[0] : applied, () => '');
};
