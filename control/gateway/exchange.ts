/**
 * One HTTP request and its response, as the chain-serving code sees them,
 * whichever door it came through: Fastify's router (every route), or the
 * gateway's fast door for POST /chains/NAME (fast-door.ts), which skips
 * Fastify's routing, hooks and reply machinery on the hot path. Both doors
 * answer the same bytes: one implementation of serving a chain behind two
 * thin adapters.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './edges.js';
import type { GatewayError } from './errors.js';

export interface Exchange {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's address (no proxy is trusted). */
  readonly ip: string;
  readonly res: ServerResponse;
  /** The request body as the socket delivers it; undefined when it has none. */
  readonly body: Readable | undefined;
  /** The query string as an object (GET). */
  readonly query: Record<string, unknown>;
  /** Answers status with body (a view, written as is). */
  send(status: number, contentType: string | undefined, body: Buffer): void;
  /** Answers ferry's JSON error; closeConnection when the rest of the
   * request will not be read. */
  fail(err: GatewayError, closeConnection?: boolean): void;
}

type Routed = FastifyRequest<{ Querystring: Record<string, unknown> }>;

export function fastifyExchange(req: Routed, reply: FastifyReply): Exchange {
  return {
    method: req.method,
    headers: req.headers,
    ip: req.ip,
    res: reply.raw,
    body: req.body as Readable | undefined,
    query: req.query ?? {},
    send(status, contentType, body) {
      reply.code(status);
      if (contentType) reply.type(contentType);
      void reply.send(body);
    },
    fail(err, closeConnection) {
      void sendError(closeConnection ? reply.header('connection', 'close') : reply, err);
    },
  };
}

/** Whether a request carries a body (what Fastify decides the same way). */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

export function rawExchange(req: IncomingMessage, res: ServerResponse): Exchange {
  return {
    method: req.method ?? 'POST',
    headers: req.headers,
    ip: req.socket.remoteAddress ?? '',
    res,
    body: hasBody(req.headers) ? req : undefined,
    query: {},
    send(status, contentType, body) {
      res.writeHead(status, contentType ? { 'content-type': contentType, 'content-length': body.byteLength } : { 'content-length': body.byteLength });
      res.end(body);
    },
    fail(err, closeConnection) {
      if (res.headersSent) return void res.destroy();
      const json = JSON.stringify(err.toJSON());
      res.writeHead(err.statusCode, {
        ...err.headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(json),
        ...(closeConnection ? { connection: 'close' } : {}),
      });
      res.end(json);
    },
  };
}
