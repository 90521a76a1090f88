/**
 * ferry node add HOST:PORT [--label k=v]: add another node's ferryd to the cluster.
 * ferry node cert NAME [--out DIR]: issue that node's credential from the
 * cluster CA, to copy to its machine and start its ferryd with --tls-dir.
 */
import { parseArgs } from 'node:util';
import { withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';
import { issueCredential } from './issue.js';

const USAGE = 'usage: ferry node add FERRYD_HOST:PORT [--label key=value ...] | ferry node cert NAME [--out DIR]';

export const node: Command = async (ctx) => {
  const { values, positionals } = parseArgs({
    args: ctx.args,
    options: { label: { type: 'string', multiple: true, default: [] }, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [verb, arg] = positionals;
  if (verb === 'cert' && arg) {
    await issueCredential(ctx, { kind: 'node', name: arg }, values.out, (dir) =>
      [
        `copy ${dir} to the node, then start it there:`,
        `  node dist/control/ferryd/main.js --tls-dir DIR --grpc NODE_IP:7070 --peer NODE_IP:7071 --gateway NODE_IP:8080`,
        `and add it here: npx ferry node add NODE_IP:7070`,
      ].join('\n'),
    );
    return;
  }
  if (verb !== 'add' || !arg) throw new CliError(USAGE, 2);
  const labels: Record<string, string> = {};
  for (const l of values.label) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new CliError(`--label ${l}: expected key=value`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const n = await withAdmin(ctx, (c) => c.call('RegisterNode', { address: arg, labels }));
  print(ctx.format, n, () => `node ${n.name} added (${n.dataplaneMode}, gateway ${n.gatewayAddress})`);
};
