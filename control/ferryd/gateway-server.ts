/**
 * The node's HTTP gateway as ferryd hosts it: control/gateway/http.ts
 * builds the fastify app over ferryd's chain directory; ferryd makes it
 * listen. That module is written separately, so it is loaded at run time:
 * without it ferryd runs with no HTTP gateway and says so.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { ChainDirectory } from '../gateway/directory.js';
import type { Logger } from '../log.js';
import { formatHostPort, parseHostPort } from './address.js';

export type BuildGatewayServer = (opts: { directory: ChainDirectory; log: Logger }) => FastifyInstance;

/** A variable, so the compiler does not require the module to exist yet. */
const GATEWAY_MODULE = '../gateway/http.js';

export async function loadGatewayBuilder(): Promise<BuildGatewayServer | undefined> {
  try {
    const mod = (await import(GATEWAY_MODULE)) as { buildGatewayServer?: BuildGatewayServer };
    return mod.buildGatewayServer;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Only the gateway module itself being absent is expected; a missing
    // dependency inside it, or a broken module, is an error to report.
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || /Failed to load url|Cannot find module/.test(e.message)) && e.message.includes('gateway/http'))
      return undefined;
    throw err;
  }
}

export interface GatewayServer {
  address: string;
  close(): Promise<void>;
}

export async function startGatewayServer(address: string, directory: ChainDirectory, log: Logger): Promise<GatewayServer | undefined> {
  const { host, port } = parseHostPort(address, 'gateway address');
  const build = await loadGatewayBuilder();
  if (!build) {
    log.warn('HTTP gateway not available: control/gateway/http.ts is not built; this node serves no HTTP', { gatewayAddress: address });
    return undefined;
  }
  const app = build({ directory, log });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new Error(`gateway: cannot listen on ${address}: ${(err as Error).message}`);
  }
  const bound = app.server.address() as AddressInfo;
  return { address: formatHostPort({ host, port: bound.port }), close: () => app.close() };
}
