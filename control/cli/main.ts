/**
 * The `ferry` command. Global flags: -o json|table (--output), --admin
 * HOST:PORT, --credentials DIR, --tenant NAME. Exit status: 0 ok, 1 any
 * error (printed as one clear message, never a stack), 2 usage.
 */
import { AdminError } from '../controlplane/admin/client.js';
import { apply } from './commands/apply.js';
import { del } from './commands/delete.js';
import { events } from './commands/events.js';
import { get } from './commands/get.js';
import { invoke } from './commands/invoke.js';
import { node } from './commands/node.js';
import { tenant } from './commands/tenant.js';
import { down, up } from './commands/up.js';
import { validate } from './commands/validate.js';
import type { Command, CommandContext } from './context.js';
import { CliError, type Format } from './output.js';

const COMMANDS: Record<string, [Command, string]> = {
  up: [up, 'start a local ferry (control plane + ferryd + gateway) in the background'],
  down: [down, 'stop the local ferry'],
  apply: [apply, 'apply -f CHAIN.yaml: validate, place and start a chain'],
  delete: [del, 'delete NAME: stop a chain and forget it'],
  get: [get, 'get chains|nodes|instances [NAME]'],
  invoke: [invoke, 'invoke NAME --data JSON|@file: send one request'],
  validate: [validate, 'validate FILE...: check chain files without applying'],
  events: [events, 'events [--chain NAME]: follow what happens'],
  node: [node, 'node add HOST:PORT | node cert NAME [--out DIR]: add a node; issue a node certificate'],
  tenant: [tenant, 'tenant add NAME [--out DIR]: issue a credential that reaches only that tenant\'s chains'],
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: ferry COMMAND [ARGS] [-o json] [--admin HOST:PORT] [--credentials DIR] [--tenant NAME]',
    '',
    ...Object.entries(COMMANDS).map(([name, [, help]]) => `  ${name.padEnd(width)}  ${help}`),
  ].join('\n');
}

/** Pull the global flags out wherever they appear. */
function parseGlobal(argv: string[]): { command?: string; ctx: CommandContext } {
  const rest: string[] = [];
  let format: Format = 'table';
  let adminOverride: string | undefined;
  let credentialsOverride: string | undefined;
  let tenant: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new CliError(`${a} needs a value`, 2);
      return v;
    };
    if (a === '-o' || a === '--output') {
      const v = value();
      if (v !== 'json' && v !== 'table') throw new CliError(`${a} ${v}: expected json or table`, 2);
      format = v;
    } else if (a.startsWith('--output=') || a.startsWith('-o=')) {
      const v = a.slice(a.indexOf('=') + 1);
      if (v !== 'json' && v !== 'table') throw new CliError(`${a}: expected json or table`, 2);
      format = v;
    } else if (a === '--admin') adminOverride = value();
    else if (a === '--credentials') credentialsOverride = value();
    else if (a === '--tenant') tenant = value();
    else rest.push(a);
  }
  const [command, ...args] = rest;
  return { command, ctx: { args, format, adminOverride, credentialsOverride, tenant } };
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { command, ctx } = parseGlobal(argv);
    if (!command || command === 'help' || command === '--help' || command === '-h') {
      process.stdout.write(usage() + '\n');
      return command ? 0 : 2;
    }
    const entry = COMMANDS[command];
    if (!entry) throw new CliError(`unknown command "${command}"\n${usage()}`, 2);
    return (await entry[0](ctx)) ?? 0;
  } catch (err) {
    if (err instanceof AdminError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}

run(process.argv.slice(2)).then((code) => process.exit(code));
