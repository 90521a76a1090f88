/** ferry scale CHAIN STAGE N: give a stage of a running chain N instances,
 * without failing a request (new ones routed once ready, surplus ones
 * drained before they stop); ferry replace CHAIN INSTANCE: a new instance
 * in place of one. Both print the chain as it runs afterwards. */
import { formatChainRef } from '../../chain/tenant.js';
import { chainArg, withAdmin, type Command } from '../context.js';
import { CliError, print } from '../output.js';
import { describeChain } from './get.js';

/** A whole number argument, or a usage error naming it. */
function count(arg: string | undefined, what: string, usage: string): number {
  if (arg === undefined || !/^\d+$/.test(arg)) throw new CliError(`${what}: ${arg === undefined ? 'missing' : `"${arg}" is not a whole number`}\nusage: ${usage}`, 2);
  return Number(arg);
}

const SCALE_USAGE = 'ferry scale CHAIN STAGE N';
const REPLACE_USAGE = 'ferry replace CHAIN INSTANCE   (instance ids: ferry get instances CHAIN)';

export const scale: Command = async (ctx) => {
  const [chain, stage, n, ...extra] = ctx.args;
  if (!chain || !stage || extra.length) throw new CliError(`usage: ${SCALE_USAGE}`, 2);
  const instances = count(n, 'N', SCALE_USAGE);
  const ref = chainArg(ctx, chain);
  const c = await withAdmin(ctx, (a) => a.call('ScaleStage', { ...ref, stage, instances }));
  print(ctx.format, c, () => `chain ${formatChainRef(c)}: stage ${stage} has ${instances} instance${instances === 1 ? '' : 's'}\n${describeChain(c)}`);
};

export const replace: Command = async (ctx) => {
  const [chain, id, ...extra] = ctx.args;
  if (!chain || extra.length) throw new CliError(`usage: ${REPLACE_USAGE}`, 2);
  const instanceId = count(id, 'INSTANCE', REPLACE_USAGE);
  const ref = chainArg(ctx, chain);
  const c = await withAdmin(ctx, (a) => a.call('ReplaceInstance', { ...ref, instanceId }));
  print(ctx.format, c, () => `chain ${formatChainRef(c)}: instance ${instanceId} replaced\n${describeChain(c)}`);
};
