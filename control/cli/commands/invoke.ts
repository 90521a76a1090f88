/** ferry invoke NAME --data JSON|@FILE: send one request through a chain's gateway. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { localFerry, type Command } from '../context.js';
import { CliError, print } from '../output.js';

export const invoke: Command = async (ctx) => {
  const { values, positionals } = parseArgs({
    args: ctx.args,
    options: { data: { type: 'string', short: 'd', default: '' }, gateway: { type: 'string' }, verbose: { type: 'boolean', short: 'v', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [name] = positionals;
  if (!name) throw new CliError('usage: ferry invoke CHAIN [--data JSON | --data @file] [--gateway HOST:PORT]');
  const gateway = values.gateway ?? process.env.FERRY_GATEWAY ?? localFerry()?.gateway;
  if (!gateway) throw new CliError('no gateway to send to: start ferry with `npx ferry up` or pass --gateway HOST:PORT');
  let body: string | Blob = values.data;
  if (body.startsWith('@')) {
    try {
      body = new Blob([readFileSync(body.slice(1))]);
    } catch (err) {
      throw new CliError(`--data ${values.data}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const url = `http://${gateway}/chains/${encodeURIComponent(name)}`;
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  } catch (err) {
    throw new CliError(`cannot reach the gateway at ${gateway}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  const ms = performance.now() - started;
  if (!res.ok) {
    let message = text;
    try {
      const e = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (e.error?.message) message = `${e.error.code ?? res.status}: ${e.error.message}`;
    } catch {
      /* not JSON: print as is */
    }
    throw new CliError(`chain ${name} answered ${res.status}: ${message}`);
  }
  if (ctx.format === 'json') {
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* keep text */
    }
    print('json', { status: res.status, contentType: res.headers.get('content-type'), ms: Math.round(ms * 100) / 100, body: parsed }, () => '');
    return;
  }
  if (values.verbose) process.stderr.write(`${res.status} ${res.headers.get('content-type') ?? ''} in ${ms.toFixed(2)} ms\n`);
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
};
