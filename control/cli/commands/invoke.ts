/**
 * ferry invoke NAME|TENANT/NAME --data JSON|@FILE: send one request through
 * a chain's gateway: --gateway, $FERRY_GATEWAY or the local ferry's; with
 * none of those (a remote cluster), the chain's endpoint as the Admin API
 * reports it, which a tenant's credential finds for its own chains only.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chainPath, formatChainRef } from '../../chain/tenant.js';
import { chainArg, localFerry, withAdmin, type Command, type CommandContext } from '../context.js';
import { CliError, print } from '../output.js';

export const invoke: Command = async (ctx) => {
  const { values, positionals } = parseArgs({
    args: ctx.args,
    options: { data: { type: 'string', short: 'd', default: '' }, gateway: { type: 'string' }, verbose: { type: 'boolean', short: 'v', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [arg] = positionals;
  if (!arg) throw new CliError('usage: ferry invoke CHAIN|TENANT/CHAIN [--data JSON | --data @file] [--gateway HOST:PORT]');
  const ref = chainArg(ctx, arg);
  const name = formatChainRef(ref);
  const gateway = values.gateway ?? process.env.FERRY_GATEWAY ?? localFerry()?.gateway;
  const url = gateway ? `http://${gateway}${chainPath(ref)}` : await endpointOf(ctx, ref);
  let body: string | Blob = values.data;
  if (body.startsWith('@')) {
    try {
      body = new Blob([readFileSync(body.slice(1))]);
    } catch (err) {
      throw new CliError(`--data ${values.data}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  } catch (err) {
    throw new CliError(`cannot reach the gateway at ${url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
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

/** Where the control plane says the chain is served. */
async function endpointOf(ctx: CommandContext, ref: { tenant: string; name: string }): Promise<string> {
  const { endpoints } = await withAdmin(ctx, (a) => a.call('GetChain', ref));
  if (!endpoints[0]) throw new CliError(`chain ${formatChainRef(ref)} is served by no gateway now (see \`ferry get chains\`); or pass --gateway HOST:PORT`);
  return endpoints[0];
}
