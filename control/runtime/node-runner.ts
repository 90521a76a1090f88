/**
 * Entry point of a `runtime: node` instance (started by ferryd):
 *   node dist/control/runtime/node-runner.js HANDLER_MODULE     (the handler bundled on FERRY_HANDLER_FD)
 *   node --import tsx control/runtime/node-runner.ts HANDLER_MODULE
 * The handler module's default export (or `handler`) is the function.
 * ferryd bundles the handler when it can (node/handler-bundle.ts): then
 * nothing here needs a TypeScript loader, which was most of a cold start.
 */
import { readFileSync } from 'node:fs';
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
  const codeFd = process.env['FERRY_HANDLER_FD'];
  const url = codeFd
    ? `data:text/javascript;base64,${readFileSync(Number(codeFd)).toString('base64')}`
    : pathToFileURL(resolve(file)).href;
  const mod = (await import(url)) as { default?: unknown; handler?: unknown };
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
