/** ferry events [--chain NAME]: follow what happens (applies, crashes, nodes). */
import { parseArgs } from 'node:util';
import { withAdmin, type Command } from '../context.js';

export const events: Command = async (ctx) => {
  const { values } = parseArgs({ args: ctx.args, options: { chain: { type: 'string', default: '' } }, strict: true });
  await withAdmin(ctx, (c) =>
    new Promise<void>((resolve, reject) => {
      const stream = c.watchEvents(values.chain);
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
