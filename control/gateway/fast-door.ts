/**
 * The gateway's fast door: the HTTP server Fastify runs on, with POST
 * /chains/NAME and /tenants/T/chains/NAME served before Fastify's router,
 * hooks and reply objects (a sixth of the daemon's CPU per request on the
 * hot path). Only plain URLs take it: a name with percent-encoding, a
 * query string, a trailing slash or anything longer than a name may be
 * goes through Fastify, whose route does the same thing with its own
 * decoding and refusals.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { FastifyServerFactory } from 'fastify';
import { DEFAULT_TENANT } from '../chain/tenant.js';
import { MAX_NAME_LENGTH } from './edges.js';

export type FastPost = (req: IncomingMessage, res: ServerResponse, name: string, tenant: string) => void;

const NAME = `[A-Za-z0-9._-]{1,${MAX_NAME_LENGTH}}`;
const PLAIN = new RegExp(`^/chains/(${NAME})$`);
const TENANTED = new RegExp(`^/tenants/(${NAME})/chains/(${NAME})$`);

/** (name, tenant) of a URL the fast door takes, else undefined. */
export function fastRoute(url: string): [name: string, tenant: string] | undefined {
  let m = PLAIN.exec(url);
  if (m) return [m[1]!, DEFAULT_TENANT];
  m = TENANTED.exec(url);
  return m ? [m[2]!, m[1]!] : undefined;
}

/** A server factory for Fastify that sends fast POSTs to post; Fastify's
 * own server settings (timeouts, HTTP options) are applied as it would. */
export function fastDoorServer(post: FastPost): FastifyServerFactory {
  return (handler, fastifyOptions) => {
    const options = fastifyOptions as { http?: ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };
    const server: Server = createServer(options.http ?? {}, (req, res) => {
      if (req.method === 'POST') {
        const route = fastRoute(req.url ?? '');
        if (route) return post(req, res, route[0], route[1]);
      }
      handler(req, res);
    });
    server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
    server.requestTimeout = options.requestTimeout ?? 0;
    server.setTimeout(options.connectionTimeout ?? 0);
    return server;
  };
}
