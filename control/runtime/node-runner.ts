/**
 * Entry point of a `runtime: node` instance (started by ferryd):
 *   node --import tsx control/runtime/node-runner.ts HANDLER_MODULE
 * The handler module's default export (or `handler`) is the function.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { native } from '../dataplane/native.js';
import { createLogger } from '../log.js';
import { runInstance } from './instance-loop.js';
import type { FerryHandler } from './sdk.js';

const log = createLogger({ component: 'node-runner', instance: process.env.FERRY_INSTANCE_ID });

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node-runner HANDLER_MODULE (started by ferryd)');
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; handler?: unknown };
  const handler = mod.default ?? mod.handler;
  if (typeof handler !== 'function')
    throw new Error(`${file} must export a handler function (export default function (ctx) {...})`);
  const inst = new native.Instance();
  process.on('SIGTERM', () => {
    inst.close();
    process.exit(0);
  });
  runInstance(inst, handler as FerryHandler);
  // Only now may ferryd route requests here: a module that throws while
  // loading never receives one.
  inst.ready();
}

main().catch((err: unknown) => {
  log.error('instance failed to start', { error: err instanceof Error ? err.message : String(err) });
  process.exit(3);
});
