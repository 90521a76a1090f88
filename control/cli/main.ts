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
import { replace, scale } from './commands/scale.js';
import { node } from './commands/node.js';
import { tenant } from './commands/tenant.js';
import { down, up } from './commands/up.js';
import { validate } from './commands/validate.js';
import type { Command, CommandContext } from './context.js';
import { CliError, type Format } from './output.js';

/** How a command relates to the global --admin flag: it talks to an admin
 * API (the flag picks which), it binds one itself (`up` takes --admin as
 * where to listen), or it has none (the flag would be ignored, so it is an
 * error). */
type AdminUse = 'connects' | 'binds' | 'none';

interface CommandEntry {
  run: Command;
  help: string;
  admin: AdminUse;
}

const COMMANDS: Record<string, CommandEntry> = {
  up: { run: up, help: 'start a local ferry (control plane + ferryd + gateway) under a supervisor that restarts it; --admin/--ferryd/--gateway H:P say where it listens', admin: 'binds' },
  down: { run: down, help: 'stop the local ferry of $FERRY_HOME (its supervisor and daemon)', admin: 'none' },
  apply: { run: apply, help: 'apply -f FILE.yaml: validate, place and start a chain or an aggregation job (by its kind)', admin: 'connects' },
  delete: { run: del, help: 'delete NAME | delete job NAME: stop a chain (or a job) and forget it', admin: 'connects' },
  scale: { run: scale, help: 'scale CHAIN STAGE N: give a stage N instances (new ones routed once ready, surplus ones drained)', admin: 'connects' },
  replace: { run: replace, help: 'replace CHAIN INSTANCE: a new instance, ready and routed, then the old one drained and stopped', admin: 'connects' },
  get: { run: get, help: 'get chains|jobs|nodes|instances [NAME]', admin: 'connects' },
  invoke: { run: invoke, help: 'invoke NAME --data JSON|@file [--gateway H:P]: send one request (the endpoint comes from the admin API when no local ferry serves it)', admin: 'connects' },
  validate: { run: validate, help: 'validate FILE...: check chain and aggregation-job files without applying', admin: 'none' },
  events: { run: events, help: 'events [--chain NAME | --job NAME]: follow what happens (applies, rounds, crashes, nodes)', admin: 'connects' },
  node: { run: node, help: 'node add HOST:PORT | node cert NAME [--out DIR]: add a node; issue a node certificate', admin: 'connects' },
  tenant: { run: tenant, help: "tenant add NAME [--out DIR]: issue a credential that reaches only that tenant's chains", admin: 'none' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: ferry COMMAND [ARGS] [-o json] [--admin HOST:PORT] [--credentials DIR] [--tenant NAME]',
    '',
    ...Object.entries(COMMANDS).map(([name, { help }]) => `  ${name.padEnd(width)}  ${help}`),
    '',
    '--admin HOST:PORT: the admin API that apply, delete, scale, replace, get, events and node talk to',
    '  (default: $FERRY_ADMIN, else the ferry `up` started in $FERRY_HOME, default ~/.ferry).',
    '  For `up` it is where the new ferry listens (default 127.0.0.1:7700).',
  ].join('\n');
}

/** Pull the global flags out wherever they appear; --admin goes to the
 * command itself when the command binds an admin API rather than talking
 * to one. */
function parseGlobal(argv: string[]): { command?: string; ctx: CommandContext } {
  const rest: string[] = [];
  const adminFlags: string[][] = [];
  let format: Format = 'table';
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
    } else if (a === '--admin') adminFlags.push([a, value()]);
    else if (a.startsWith('--admin=')) adminFlags.push([a]);
    else if (a === '--credentials') credentialsOverride = value();
    else if (a === '--tenant') tenant = value();
    else rest.push(a);
  }
  const [command, ...args] = rest;
  const use = command ? COMMANDS[command]?.admin : undefined;
  let adminOverride: string | undefined;
  if (use === 'binds') args.push(...adminFlags.flat());
  else if (adminFlags.length && use === 'none') {
    throw new CliError(`ferry ${command} does not talk to an admin API, so --admin does not apply to it (FERRY_HOME picks the local ferry)`, 2);
  } else if (adminFlags.length) {
    const last = adminFlags.at(-1)!;
    adminOverride = last.length === 2 ? last[1] : last[0]!.slice('--admin='.length);
  }
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
    return (await entry.run(ctx)) ?? 0;
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
