/** ferry events [--chain NAME|TENANT/NAME | --job NAME|TENANT/NAME]:
 * follow what happens (applies, rounds of aggregation jobs, crashes,
 * nodes). A tenant's credential sees its own chains' and jobs' events only. */
import { parseArgs } from 'node:util';
import { chainArg, withAdmin, type Command } from '../context.js';

export const events: Command = async (ctx) => {
  const { values } = parseArgs({ args: ctx.args, options: { chain: { type: 'string', default: '' }, job: { type: 'string', default: '' } }, strict: true });
  // Job events carry the job's name where chain events carry the chain's.
  const named = values.chain || values.job;
  await withAdmin(ctx, (c) =>
    new Promise<void>((resolve, reject) => {
      const ref = named ? chainArg(ctx, named) : { name: '', tenant: ctx.tenant ?? '' };
      const stream = c.watchEvents(ref.name, ref.tenant);
      stream.on('data', (e) => {
        const line = ctx.format === 'json' ? JSON.stringify(e) : `${new Date(e.timeMs).toISOString()}  ${e.kind.padEnd(18)} ${e.message}`;
        process.stdout.write(line + '\n');
      });
      stream.on('end', resolve);
      stream.on('error', (err: Error & { code?: number }) => (err.code === 1 ? resolve() : reject(err)));
      process.once('SIGINT', () => stream.cancel());
    }),
  );
};
