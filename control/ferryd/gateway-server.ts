/**
 * The node's HTTP gateway as ferryd hosts it: control/gateway/http.ts
 * builds the fastify app over ferryd's chain directory; ferryd makes it
 * listen and closes it.
 */
import type { AddressInfo } from 'node:net';
import type { ChainDirectory } from '../gateway/directory.js';
import { buildGatewayServer, type GatewayOptions } from '../gateway/http.js';
import type { Logger } from '../log.js';
import { formatHostPort, parseHostPort } from './address.js';
import type { JobDirectory } from './jobs/directory.js';
import { registerJobRoutes } from './jobs/http.js';

export interface GatewayServer {
  address: string;
  close(): Promise<void>;
}

export async function startGatewayServer(
  address: string,
  directory: ChainDirectory,
  log: Logger,
  limits: Pick<GatewayOptions, 'bodiesPerClient' | 'minBodyBytesPerSec'> = {},
  jobs?: JobDirectory,
): Promise<GatewayServer> {
  const { host, port } = parseHostPort(address, 'gateway address');
  const app = buildGatewayServer({ directory, log, ...limits });
  // Aggregation jobs (/jobs/...) are ferryd's: their coordinators live here.
  if (jobs) registerJobRoutes(app, { jobs, log, minBytesPerSec: limits.minBodyBytesPerSec });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new Error(`gateway: cannot listen on ${address}: ${(err as Error).message}`);
  }
  const bound = app.server.address() as AddressInfo;
  return { address: formatHostPort({ host, port: bound.port }), close: () => app.close() };
}
