/** ferry validate FILE...: check chain files without applying them. */
import { validateFiles } from '../../chain/validate.js';
import { type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const validate: Command = async (ctx) => {
  const files = ctx.args.filter((a) => a !== '-f');
  if (files.length === 0) throw new CliError('usage: ferry validate CHAIN.yaml...');
  const result = validateFiles(files);
  print(ctx.format, result.json, () => result.text);
  return result.ok ? 0 : 1;
};
