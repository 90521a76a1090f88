/** ferry node add HOST:PORT [--label k=v]: add another node's ferryd to the cluster. */
import { parseArgs } from 'node:util';
import { withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const node: Command = async (ctx) => {
  const { values, positionals } = parseArgs({ args: ctx.args, options: { label: { type: 'string', multiple: true, default: [] } }, allowPositionals: true, strict: true });
  const [verb, address] = positionals;
  if (verb !== 'add' || !address) throw new CliError('usage: ferry node add FERRYD_HOST:PORT [--label key=value ...]');
  const labels: Record<string, string> = {};
  for (const l of values.label) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new CliError(`--label ${l}: expected key=value`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const n = await withAdmin(ctx, (c) => c.call('RegisterNode', { address, labels }));
  print(ctx.format, n, () => `node ${n.name} added (${n.dataplaneMode}, gateway ${n.gatewayAddress})`);
};
