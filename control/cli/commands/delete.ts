/** ferry delete [chain] NAME|TENANT/NAME... | ferry delete job NAME...:
 * stop a chain (or an aggregation job) everywhere and forget it. */
import { formatChainRef } from '../../chain/tenant.js';
import { chainArg, withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const del: Command = async (ctx) => {
  const [first, ...rest] = ctx.args;
  const job = first === 'job' || first === 'jobs';
  const names = first === 'chain' || first === 'chains' || job ? rest : ctx.args;
  if (names.length === 0) throw new CliError('usage: ferry delete [chain] NAME|TENANT/NAME... | ferry delete job NAME|TENANT/NAME...');
  const what = job ? 'job' : 'chain';
  const out: { name: string; tenant: string; stoppedInstances: number }[] = [];
  for (const arg of names) {
    const ref = chainArg(ctx, arg);
    out.push({ ...ref, ...(await withAdmin(ctx, (c) => (job ? c.call('DeleteJob', ref) : c.call('DeleteChain', ref)))) });
  }
  print(ctx.format, out, () => out.map((d) => `${what} ${formatChainRef(d)} deleted (${d.stoppedInstances} ${job ? 'aggregators' : 'instances'} stopped)`).join('\n'));
};
