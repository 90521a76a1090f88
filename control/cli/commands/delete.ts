/** ferry delete NAME...: stop a chain everywhere and forget it. */
import { withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const del: Command = async (ctx) => {
  const names = ctx.args.filter((a) => a !== 'chain');
  if (names.length === 0) throw new CliError('usage: ferry delete NAME...');
  const out: { name: string; stoppedInstances: number }[] = [];
  for (const name of names) out.push({ name, ...(await withAdmin(ctx, (c) => c.call('DeleteChain', { name }))) });
  print(ctx.format, out, () => out.map((d) => `chain ${d.name} deleted (${d.stoppedInstances} instances stopped)`).join('\n'));
};
