/**
 * The HTTP gateway every node runs (hosted by ferryd): HTTP requests in,
 * descriptors into the chain's pool, the last stage's output back out.
 *
 *   POST /chains/:name   body -> entry stage (streamed into the pool)
 *   GET  /chains/:name   query string as a JSON object -> entry stage
 *   GET  /chains         the chains served here and their limits
 *   GET  /healthz        {ok: true}
 *
 * /chains/... is tenant "default"'s; every tenant's chains (default's too)
 * are under /tenants/:tenant/chains/... Only that: a bare name never
 * reaches another tenant's chain, even one no other tenant shares, so a URL
 * keeps its meaning when a second tenant picks the same name, and a 404
 * lists the chains of the tenant asked for only.
 *
 * Failures answer { "error": { "code", "message", "chain" } } (see errors.ts).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { DEFAULT_TENANT } from '../chain/tenant.js';
import type { Logger } from '../log.js';
import { BodyAbortedError, BodyOverflowError, streamInto } from './body-stream.js';
import { replyContentType } from './content-type.js';
import type { ChainDirectory, ServedChain } from './directory.js';
import { bodyTooLarge, GatewayError, injectError, replyError, unknownChain } from './errors.js';
import type { BodyWriter, Reply } from './injector.js';

export interface GatewayOptions {
  directory: ChainDirectory;
  log: Logger;
  /** Longest a client may take to send a whole request (default 30 s): a
   * body trickling in holds a pool buffer, so it must not take forever. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

type ChainRequest = FastifyRequest<{ Params: { name: string; tenant?: string }; Querystring: Record<string, unknown> }>;

/** Builds the app; it does not listen (the caller does .listen({host, port})). */
export function buildGatewayServer(opts: GatewayOptions): FastifyInstance {
  const { directory } = opts;
  const log = opts.log.child({ component: 'gateway' });
  const app = Fastify({ logger: false, requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });

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
  const listing = async (req: FastifyRequest<{ Params: { tenant?: string } }>) => ({
    chains: directory.list(req.params.tenant ?? DEFAULT_TENANT).map((c) => ({
      name: c.name,
      tenant: c.tenant,
      chainId: c.chainId,
      entryStage: c.entryStage,
      maxBodyBytes: c.maxBodyBytes,
      timeoutMs: c.timeoutMs,
      inFlight: c.injector.inFlight,
    })),
  });
  app.get('/chains', listing);
  app.get('/tenants/:tenant/chains', listing);

  const serve = (bodyOf: (req: ChainRequest, chain: ServedChain) => Promise<BodyWriter>) =>
    async (req: ChainRequest, reply: FastifyReply) => {
      const started = process.hrtime.bigint();
      const name = req.params.name;
      const tenant = req.params.tenant ?? DEFAULT_TENANT;
      const fields = (extra: Record<string, unknown>) => ({
        chain: name,
        tenant,
        method: req.method,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...extra,
      });
      const chain = directory.lookup(name, tenant);
      try {
        if (!chain) throw unknownChain(name, directory.list(tenant).map((c) => c.name));
        const body = await bodyOf(req, chain);
        const bytesIn = body.length;
        let answer: Reply;
        try {
          answer = await body.send(chain.entryStage, { timeoutMs: chain.timeoutMs });
        } catch (err) {
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
        const e = err instanceof GatewayError ? err : injectError(err, name, chain?.maxBodyBytes ?? 0);
        log.warn('request failed', fields({ status: e.statusCode, code: e.code, error: e.message }));
        return sendError(reply, e);
      }
    };

  for (const prefix of ['', '/tenants/:tenant']) {
    app.post(`${prefix}/chains/:name`, serve(postedBody));
    app.get(`${prefix}/chains/:name`, serve(queryBody));
  }
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

/** POST: the body streamed into a buffer of the declared size (or the
 * chain's limit when chunked); over the limit is refused as soon as known. */
async function postedBody(req: ChainRequest, chain: ServedChain): Promise<BodyWriter> {
  const stream = req.body as Readable | undefined;
  const declared = declaredLength(req.headers, stream !== undefined);
  if (declared !== undefined && declared > chain.maxBodyBytes)
    throw bodyTooLarge(chain.name, chain.maxBodyBytes, ` (declared ${declared})`);
  const writer = openBody(chain, declared ?? chain.maxBodyBytes);
  if (!stream) return writer;
  try {
    await streamInto(stream, writer);
  } catch (err) {
    writer.abort();
    if (err instanceof BodyOverflowError) throw bodyTooLarge(chain.name, chain.maxBodyBytes);
    throw err;
  }
  return writer;
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
