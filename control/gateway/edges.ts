/**
 * The gateway at the edges of HTTP, before any chain is involved: malformed
 * requests node's parser refuses, fastify's own refusals, CONNECT, a missing
 * Host, paths it does not serve and methods its paths do not take. Each
 * answers in ferry's JSON error shape with a specific code (errors.ts), so a
 * client never has to parse a second error format.
 */
import type { FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply } from 'fastify';
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { frameworkError, GatewayError, methodNotAllowed, protocolError } from './errors.js';

/** Longest chain name in a URL (names have at most 63 characters; room
 * for a tenant prefix). */
export const MAX_NAME_LENGTH = 256;

/** The methods each path answers (http.ts serves them); any other gets
 * 405 with Allow. */
const ROUTES: { path: RegExp; allow: readonly string[] }[] = [
  { path: /^(\/tenants\/[^/]+)?\/chains\/[^/]*$/, allow: ['GET', 'HEAD', 'POST'] },
  { path: /^(\/tenants\/[^/]+)?\/chains\/?$/, allow: ['GET', 'HEAD'] },
  { path: /^\/healthz\/?$/, allow: ['GET', 'HEAD'] },
];

export function sendError(reply: FastifyReply, err: GatewayError): FastifyReply {
  return reply.code(err.statusCode).headers(err.headers).type('application/json; charset=utf-8').send(err.toJSON());
}

/** Options for Fastify(): what happens before a request object exists. */
export function edgeOptions(log: Logger): FastifyHttpOptions<Server> {
  return {
    routerOptions: { maxParamLength: MAX_NAME_LENGTH },
    // Node would refuse a missing Host itself, in its own shape: guardEdges
    // does it in ferry's.
    http: { requireHostHeader: false },
    // Malformed HTTP, refused by node's parser before fastify sees a request.
    clientErrorHandler: (err: Error & { code?: string; reason?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const e = protocolError(err);
      log.warn('malformed request', { status: e.statusCode, code: e.code, error: err.message });
      writeRawError(socket, e);
      socket.destroy();
    },
    // Fastify's refusals before routing (bad URL encoding, a name too long).
    frameworkErrors: (error, req, reply) => {
      const err = frameworkError(error);
      log.warn('request failed', { method: req.method, url: req.url, status: err.statusCode, code: err.code });
      return sendError(reply, err);
    },
  };
}

/** Hooks and handlers on the app for the rest of the edges. */
export function guardEdges(app: FastifyInstance, log: Logger): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined)
      return sendError(reply, new GatewayError(400, 'missingHost', 'an HTTP/1.1 request needs a Host header'));
  });
  // CONNECT never reaches a route: node hands the socket over bare.
  app.server.on('connect', (req: { url?: string }, socket: Socket) => {
    writeRawError(socket, methodNotAllowed('CONNECT', req.url ?? '', ROUTES[0]!.allow));
    socket.destroy();
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const route = ROUTES.find((r) => r.path.test(path));
    const err = route
      ? methodNotAllowed(req.method, path, route.allow)
      : new GatewayError(404, 'notFound', `no route ${req.method} ${path}: use POST or GET /chains/NAME`);
    log.warn('request failed', { method: req.method, url: req.url, status: err.statusCode, code: err.code });
    return sendError(reply, err);
  });
  // Fastify's own refusals after routing, and bugs.
  app.setErrorHandler((error: FastifyError, req, reply) => {
    const err = frameworkError(error);
    log.warn('request failed', { method: req.method, url: req.url, status: err.statusCode, code: err.code, error: error.message });
    return sendError(reply, err);
  });
}

/** An error straight onto the socket (no request object exists yet),
 * unless a response already started on it. */
function writeRawError(socket: Socket, err: GatewayError): void {
  const started = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent;
  if (!socket.writable || started) return;
  const body = JSON.stringify(err.toJSON());
  const headers = Object.entries(err.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(
    `HTTP/1.1 ${err.statusCode} ${STATUS_CODES[err.statusCode] ?? ''}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}connection: close\r\n\r\n${body}`,
  );
}
