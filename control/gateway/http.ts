/**
 * The HTTP gateway every node runs (hosted by ferryd): HTTP requests in,
 * descriptors into the chain's pool, the last stage's output back out.
 *
 *   POST /chains/:name   body -> entry stage (streamed into the pool)
 *   GET  /chains/:name   query string as a JSON object -> entry stage
 *   GET  /chains         the chains served here and their limits
 *   GET  /healthz        {ok: true}
 *
 * Failures answer { "error": { "code", "message", "chain" } } (see errors.ts).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { native } from '../dataplane/native.js';
import { BodyAbortedError, BodyOverflowError, BodyTimeoutError, streamInto } from './body-stream.js';
import { ClientBodies } from './client-bodies.js';
import { replyContentType } from './content-type.js';
import type { ChainDirectory, ServedChain } from './directory.js';
import { bodyTimeout, bodyTooLarge, GatewayError, injectError, replyError, stageUnavailable, tooManyBodies, unknownChain } from './errors.js';
import { ClientGoneError, GRACE_MS, type BodyWriter, type Reply } from './injector.js';

export interface GatewayOptions {
  directory: ChainDirectory;
  log: Logger;
  /** Longest a client may take to send a whole request (default 30 s): a
   * body trickling in holds a pool buffer, so it must not take forever. */
  requestTimeoutMs?: number;
  /** Bodies one client address may have arriving at once (default 16). */
  bodiesPerClient?: number;
  /** A body must arrive at least this fast after its first 2 s (default 1 KiB/s; 0: no floor). */
  minBodyBytesPerSec?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

type ChainRequest = FastifyRequest<{ Params: { name: string }; Querystring: Record<string, unknown> }>;

/** Builds the app; it does not listen (the caller does .listen({host, port})). */
export function buildGatewayServer(opts: GatewayOptions): FastifyInstance {
  const { directory } = opts;
  const log = opts.log.child({ component: 'gateway' });
  const app = Fastify({ logger: false, requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
  const bodies = new ClientBodies(opts.bodiesPerClient);
  const bodyOpts = { bodies, minBytesPerSec: opts.minBodyBytesPerSec };

  // Every body, whatever its type, reaches the handler as the raw socket
  // stream: it goes into the pool as it arrives, never into the heap.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.setNotFoundHandler((req, reply) => {
    const err = new GatewayError(404, 'notFound', `no route ${req.method} ${req.url}: use POST or GET /chains/:name`);
    log.warn('request failed', { method: req.method, url: req.url, status: 404, code: err.code });
    return sendError(reply, err);
  });
  app.setErrorHandler((error: FastifyError, req, reply) => {
    // Fastify's own refusals (malformed request, bad media type) and bugs.
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const err = new GatewayError(status, error.code ?? 'internal', error.message);
    log.warn('request failed', { method: req.method, url: req.url, status, code: err.code, error: error.message });
    return sendError(reply, err);
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/chains', async () => ({
    chains: directory.list().map((c) => ({
      name: c.name,
      chainId: c.chainId,
      entryStage: c.entryStage,
      maxBodyBytes: c.maxBodyBytes,
      timeoutMs: c.timeoutMs,
      inFlight: c.injector.inFlight,
    })),
  }));

  const serve = (bodyOf: (req: ChainRequest, chain: ServedChain, o: BodyOptions) => Promise<BodyWriter>) =>
    async (req: ChainRequest, reply: FastifyReply) => {
      const started = process.hrtime.bigint();
      const name = req.params.name;
      const fields = (extra: Record<string, unknown>) => ({
        chain: name,
        method: req.method,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...extra,
      });
      const chain = directory.lookup(name);
      try {
        if (!chain) throw unknownChain(name, directory.list().map((c) => c.name));
        // A stage whose instances are still loading is waited for (within
        // the request's timeout); one that cannot take requests for any other
        // reason (crash loop, failed start) is said at once, before the body
        // takes a buffer.
        let down = chain.unavailable();
        if (down?.starting) down = await chain.whenReady(chain.timeoutMs);
        if (down) throw stageUnavailable(name, down);
        const body = await bodyOf(req, chain, bodyOpts);
        const bytesIn = body.length;
        // A client that goes away gives its request up: the gateway stops
        // waiting and the request's buffers go back to the pool.
        const gone = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableEnded) gone.abort();
        });
        let answer: Reply;
        try {
          answer = await body.send(chain.entryStage, { timeoutMs: chain.timeoutMs, signal: gone.signal });
        } catch (err) {
          if (err instanceof ClientGoneError) {
            log.debug('client went away before the reply', fields({ error: err.message }));
            return reply;
          }
          throw injectError(err, name, chain.maxBodyBytes);
        }
        const failed = replyError(answer, name);
        if (failed) throw failed;
        const requestId = answer.requestId.toString(16);
        log.debug('request served', fields({ status: 200, requestId, bytesIn, bytesOut: answer.body.byteLength }));
        return reply.code(200).type(replyContentType(answer.body)).send(Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength));
      } catch (err) {
        if (err instanceof BodyAbortedError) {
          log.debug('client went away', fields({ error: err.message }));
          return reply.code(400).send();
        }
        if (err instanceof BodyTimeoutError) {
          // The rest of the body is not read: this connection is done.
          const e = bodyTimeout(name, err.message);
          log.warn('request failed', fields({ status: e.statusCode, code: e.code, error: e.message, client: req.ip }));
          return sendError(reply.header('connection', 'close'), e);
        }
        const e = err instanceof GatewayError ? err : injectError(err, name, chain?.maxBodyBytes ?? 0);
        log.warn('request failed', fields({ status: e.statusCode, code: e.code, error: e.message }));
        return sendError(reply, e);
      }
    };

  app.post('/chains/:name', serve(postedBody));
  app.get('/chains/:name', serve(queryBody));
  return app;
}

function sendError(reply: FastifyReply, err: GatewayError): FastifyReply {
  return reply.code(err.statusCode).headers(err.headers).type('application/json; charset=utf-8').send(err.toJSON());
}

/** The declared body size: a number (0 when there is no body), or
 * undefined for a chunked body whose size is known only at its end. */
function declaredLength(headers: IncomingHttpHeaders, hasBody: boolean): number | undefined {
  const cl = headers['content-length'];
  if (cl !== undefined) return Number(cl); // node's parser already checked it is a number
  return hasBody ? undefined : 0;
}

interface BodyOptions {
  bodies: ClientBodies;
  minBytesPerSec?: number;
}

/** POST: the body streamed into a buffer of the declared size (or the
 * chain's limit when chunked); over the limit is refused as soon as known.
 * While it arrives it counts against its client's share, must keep the
 * pace, and carries a deadline ferryd enforces even if this process stalls. */
async function postedBody(req: ChainRequest, chain: ServedChain, o: BodyOptions): Promise<BodyWriter> {
  const stream = req.body as Readable | undefined;
  const declared = declaredLength(req.headers, stream !== undefined);
  if (declared !== undefined && declared > chain.maxBodyBytes)
    throw bodyTooLarge(chain.name, chain.maxBodyBytes, ` (declared ${declared})`);
  const release = stream ? o.bodies.admit(req.ip) : () => undefined;
  if (!release) throw tooManyBodies(chain.name, o.bodies.limit);
  try {
    const writer = openBody(chain, declared ?? chain.maxBodyBytes);
    if (!stream) return writer;
    writer.holdUntil((native.nowMs() + chain.bodyTimeoutMs + GRACE_MS) >>> 0 || 1);
    try {
      await streamInto(stream, writer, { timeoutMs: chain.bodyTimeoutMs, minBytesPerSec: o.minBytesPerSec });
    } catch (err) {
      writer.abort();
      if (err instanceof BodyOverflowError) throw bodyTooLarge(chain.name, chain.maxBodyBytes);
      throw err;
    }
    return writer;
  } finally {
    release();
  }
}

/** GET: the query string as a JSON object. */
async function queryBody(req: ChainRequest, chain: ServedChain): Promise<BodyWriter> {
  const bytes = new TextEncoder().encode(JSON.stringify(req.query ?? {}));
  if (bytes.byteLength > chain.maxBodyBytes) throw bodyTooLarge(chain.name, chain.maxBodyBytes, ' (the query as JSON)');
  const writer = openBody(chain, bytes.byteLength);
  writer.write(bytes);
  return writer;
}

function openBody(chain: ServedChain, size: number): BodyWriter {
  try {
    return chain.injector.openBody(size);
  } catch (err) {
    throw injectError(err, chain.name, chain.maxBodyBytes);
  }
}
