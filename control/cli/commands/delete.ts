/** ferry delete NAME|TENANT/NAME...: stop a chain everywhere and forget it. */
import { formatChainRef } from '../../chain/tenant.js';
import { chainArg, withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const del: Command = async (ctx) => {
  const names = ctx.args.filter((a) => a !== 'chain');
  if (names.length === 0) throw new CliError('usage: ferry delete NAME|TENANT/NAME...');
  const out: { name: string; tenant: string; stoppedInstances: number }[] = [];
  for (const arg of names) {
    const ref = chainArg(ctx, arg);
    out.push({ ...ref, ...(await withAdmin(ctx, (c) => c.call('DeleteChain', ref))) });
  }
  print(ctx.format, out, () => out.map((d) => `chain ${formatChainRef(d)} deleted (${d.stoppedInstances} instances stopped)`).join('\n'));
};
