/** ferry validate FILE...: check chain and aggregation-job files without
 * applying them (each document by its kind). */
import { validateSpecFiles } from '../../chain/kinds.js';
import { type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const validate: Command = async (ctx) => {
  const files = ctx.args.filter((a) => a !== '-f');
  if (files.length === 0) throw new CliError('usage: ferry validate FILE.yaml... (chains and aggregation jobs)');
  const result = validateSpecFiles(files);
  print(ctx.format, result.json, () => result.text);
  return result.ok ? 0 : 1;
};
