/**
 * The HTTP gateway every node runs (hosted by ferryd): HTTP requests in,
 * descriptors into the chain's pool, the last stage's output back out.
 *
 *   POST /chains/:name   body -> entry stage (streamed into the pool)
 *   GET  /chains/:name   query string as a JSON object -> entry stage
 *   HEAD /chains/:name   whether the chain is served here (200, 404, 503),
 *                        without running it: a HEAD must change nothing
 *   GET  /chains         the chains served here and their limits
 *   GET  /healthz        {ok: true}
 * Any other method on these paths: 405 with Allow (edges.ts).
 *
 * The answer is the last stage's output (200), or a function's own answer
 * with its status and content type (answer.ts). Every failure, down to
 * malformed HTTP the parser refuses, answers
 * { "error": { "code", "message", "chain" } } (see errors.ts).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { answerOf } from './answer.js';
import { BodyAbortedError, BodyOverflowError, streamInto } from './body-stream.js';
import type { ChainDirectory, ServedChain } from './directory.js';
import { edgeOptions, guardEdges, sendError } from './edges.js';
import { bodyTooLarge, GatewayError, injectError, restoring, unknownChain } from './errors.js';
import type { BodyWriter, Reply } from './injector.js';

export interface GatewayOptions {
  directory: ChainDirectory;
  log: Logger;
  /** Longest a client may take to send a whole request (default 30 s): a
   * body trickling in holds a pool buffer, so it must not take forever. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

type ChainRequest = FastifyRequest<{ Params: { name: string }; Querystring: Record<string, unknown> }>;

/** Builds the app; it does not listen (the caller does .listen({host, port})). */
export function buildGatewayServer(opts: GatewayOptions): FastifyInstance {
  const { directory } = opts;
  const log = opts.log.child({ component: 'gateway' });
  const app = Fastify({ logger: false, requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, ...edgeOptions(log) });
  guardEdges(app, log);

  // Every body, whatever its type, reaches the handler as the raw socket
  // stream: it goes into the pool as it arrives, never into the heap.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  /** The chain served under name, or the error to answer. */
  const chainNamed = (name: string): ServedChain => {
    const chain = directory.lookup(name);
    if (chain) return chain;
    throw directory.restoring?.(name) ? restoring(name) : unknownChain(name);
  };

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

  const serve = (bodyOf: (req: ChainRequest, chain: ServedChain) => Promise<BodyWriter>) =>
    async (req: ChainRequest, reply: FastifyReply) => {
      const started = process.hrtime.bigint();
      const name = req.params.name;
      const fields = (extra: Record<string, unknown>) => ({
        chain: name,
        method: req.method,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...extra,
      });
      let chain: ServedChain | undefined;
      try {
        chain = chainNamed(name);
        const body = await bodyOf(req, chain);
        const bytesIn = body.length;
        let answer: Reply;
        try {
          answer = await body.send(chain.entryStage, { timeoutMs: chain.timeoutMs });
        } catch (err) {
          throw injectError(err, name, chain.maxBodyBytes);
        }
        const out = answerOf(answer, name);
        const requestId = answer.requestId.toString(16);
        log.debug('request served', fields({ status: out.status, requestId, bytesIn, bytesOut: out.body.byteLength }));
        reply.code(out.status);
        if (out.contentType) reply.type(out.contentType);
        return reply.send(Buffer.from(out.body.buffer, out.body.byteOffset, out.body.byteLength));
      } catch (err) {
        if (err instanceof BodyAbortedError) {
          // Usually nobody is left to read it; a client whose body broke
          // (a bad chunk) may be.
          log.debug('client went away', fields({ error: err.message }));
          return sendError(reply, new GatewayError(400, 'bodyAborted', `${err.message}: send the whole body`, name));
        }
        const e = err instanceof GatewayError ? err : injectError(err, name, chain?.maxBodyBytes ?? 0);
        log.warn('request failed', fields({ status: e.statusCode, code: e.code, error: e.message }));
        return sendError(reply, e);
      }
    };

  /** HEAD never runs the chain: it answers whether GET or POST could. */
  const head = async (req: ChainRequest, reply: FastifyReply) => {
    try {
      chainNamed(req.params.name);
      return reply.code(200).header('allow', 'GET, HEAD, POST').send();
    } catch (err) {
      return sendError(reply, err as GatewayError);
    }
  };

  app.post('/chains/:name', serve(postedBody));
  app.get('/chains/:name', { exposeHeadRoute: false }, serve(queryBody));
  app.head('/chains/:name', head);
  return app;
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
