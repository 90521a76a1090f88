/** ferry apply -f FILE [--tenant T]: validate, place and start a chain or
 * an aggregation job (or update it), picked by the file's `kind`. A file
 * that names no tenant lands in --tenant, or the credential's own tenant,
 * or "default". */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KINDS, kindsIn } from '../../chain/kinds.js';
import { formatChainRef } from '../../chain/tenant.js';
import { JOB_KIND } from '../../fl/job/schema.js';
import { withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';
import { describeChain } from './get.js';
import { describeJob } from './jobs.js';

/** Which RPC a file goes to; a file of mixed kinds is split by the user. */
function kindOfFile(f: string, yaml: string): 'chain' | 'job' {
  const kinds = [...new Set(kindsIn(yaml))];
  if (kinds.length > 1) throw new CliError(`${f} holds documents of several kinds (${kinds.join(', ')}): apply each kind from its own file`);
  if (kinds[0] === JOB_KIND) return 'job';
  // Anything else, a misspelt kind included, goes to ApplyChain, whose
  // errors point at the line; say which kinds exist first.
  if (kinds[0] !== undefined && !(KINDS as readonly string[]).includes(kinds[0]))
    process.stderr.write(`note: ${f}: kind "${kinds[0]}" is none of ${KINDS.join(', ')}; sending it as a chain\n`);
  return 'chain';
}

export const apply: Command = async (ctx) => {
  const { values } = parseArgs({ args: ctx.args, options: { file: { type: 'string', short: 'f', multiple: true } }, strict: true });
  const files = values.file ?? [];
  if (files.length === 0) throw new CliError('usage: ferry apply -f FILE.yaml [-f ...] (a chain or an aggregation job)');
  const applied = [];
  for (const f of files) {
    const file = resolve(f);
    let yaml: string;
    try {
      yaml = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const tenant = ctx.tenant ?? '';
    if (kindOfFile(f, yaml) === 'job') {
      const status = await withAdmin(ctx, (c) => c.call('ApplyJob', { yaml, file, tenant }));
      applied.push(status);
      if (ctx.format === 'table') process.stdout.write(`job ${formatChainRef(status)} applied\n${describeJob(status)}\n`);
      continue;
    }
    const status = await withAdmin(ctx, (c) => c.call('ApplyChain', { yaml, file, tenant }));
    applied.push(status);
    if (ctx.format === 'table') process.stdout.write(`chain ${formatChainRef(status)} applied (generation ${status.generation})\n${describeChain(status)}\n`);
  }
  if (ctx.format === 'json') print('json', applied.length === 1 ? applied[0] : applied, () => '');
};
