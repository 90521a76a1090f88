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
 *
 * /chains/... is tenant "default"'s; every tenant's chains (default's too)
 * are under /tenants/:tenant/chains/... Only that: a bare name never
 * reaches another tenant's chain, even one no other tenant shares, so a URL
 * keeps its meaning when a second tenant picks the same name; a 404 names
 * no chains at all.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { DEFAULT_TENANT } from '../chain/tenant.js';
import type { Logger } from '../log.js';
import { native } from '../dataplane/native.js';
import { answerOf, type Answer } from './answer.js';
import { BodyAbortedError, BodyOverflowError, BodyTimeoutError, streamInto } from './body-stream.js';
import { ClientBodies } from './client-bodies.js';
import type { ChainDirectory, ServedChain, Unavailable } from './directory.js';
import { edgeOptions, guardEdges, sendError } from './edges.js';
import { fastifyExchange, rawExchange, type Exchange } from './exchange.js';
import { fastDoorServer, type FastPost } from './fast-door.js';
import { bodyTimeout, bodyTooLarge, GatewayError, holdFull, injectError, restoring, stageUnavailable, tooManyBodies, unknownChain } from './errors.js';
import { ClientGoneError, GRACE_MS, type BodyWriter, type Reply } from './injector.js';
import { ReplyOut } from './reply-out.js';
import { requestKeyOf } from './request-key.js';

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
  /** Longest a client may take to read its whole reply (default 30 s):
   * the reply is written from its pool buffer, which the client holds
   * until then; past this its connection is closed. */
  replyTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_REPLY_TIMEOUT_MS = 30_000;

type ChainRequest = FastifyRequest<{ Params: { name: string; tenant?: string }; Querystring: Record<string, unknown> }>;

/** Builds the app; it does not listen (the caller does .listen({host, port})). */
export function buildGatewayServer(opts: GatewayOptions): FastifyInstance {
  const { directory } = opts;
  const log = opts.log.child({ component: 'gateway' });
  // The fast door: POST /chains/NAME (the hot path) is served before
  // Fastify sees it; everything else, and any POST it does not recognise,
  // goes through Fastify's router as before.
  let fastPost: FastPost | undefined;
  const app = Fastify({
    logger: false,
    requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...edgeOptions(log),
    serverFactory: fastDoorServer((req, res, name, tenant) => fastPost!(req, res, name, tenant)),
  });
  guardEdges(app, log);
  const bodies = new ClientBodies(opts.bodiesPerClient);
  const bodyOpts = { bodies, minBytesPerSec: opts.minBodyBytesPerSec };
  const replyTimeoutMs = opts.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;

  // Every body, whatever its type, reaches the handler as the raw socket
  // stream: it goes into the pool as it arrives, never into the heap.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  /** The chain served under (tenant, name), or the error to answer. */
  const chainNamed = (name: string, tenant: string): ServedChain => {
    const chain = directory.lookup(name, tenant);
    if (chain) return chain;
    throw directory.restoring?.(name, tenant) ? restoring(name) : unknownChain(name);
  };

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

  /** Serves one request to chain (tenant, name), whichever door it came
   * through; every outcome is answered through ex. */
  const serve = async (ex: Exchange, name: string, tenant: string, bodyOf: BodyOf): Promise<void> => {
      const started = process.hrtime.bigint();
      const fields = (extra: Record<string, unknown>) => ({
        chain: name,
        tenant,
        method: ex.method,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...extra,
      });
      let chain: ServedChain | undefined;
      /** When the request went into the chain: its latency runs from there. */
      let dispatched: number | undefined;
      const sinceDispatch = () => (dispatched === undefined ? undefined : Number(process.hrtime.bigint() - BigInt(dispatched)) / 1e6);
      try {
        chain = chainNamed(name, tenant);
        // A stage whose instances are still loading is waited for (within
        // the request's timeout); one scaled to zero is waited for in the
        // chain's hold queue while an instance starts; one that cannot take
        // requests for any other reason (crash loop, failed start) is said
        // at once. All before the body takes a buffer.
        let down = chain.unavailable?.();
        let held = false;
        if (down?.idle && chain.hold) {
          held = true;
          const waited = await holdFor(chain, down, ex.res);
          if (waited === 'gone') {
            log.debug('client went away while held for a stage to start', fields({}));
            chain.meter?.observe(499, 'clientGone');
            return;
          }
          down = waited;
        } else if (down?.starting) down = await chain.whenReady?.(chain.timeoutMs);
        if (down) throw stageUnavailable(name, down);
        const body = await bodyOf(ex, chain, bodyOpts);
        const bytesIn = body.length;
        // A client that goes away gives its request up: the gateway stops
        // waiting and the request's buffers go back to the pool. The reply is
        // borrowed, not copied: it is written to the client straight from its
        // pool buffer, and given back when that write is done (reply-out.ts).
        const gone = new AbortController();
        const replyOut = new ReplyOut(ex.res, replyTimeoutMs, (r) => log.info('client too slow to read its reply: connection closed', fields(r)));
        ex.res.once('close', () => {
          if (!ex.res.writableEnded) gone.abort();
        });
        let answer: Reply;
        dispatched = Number(process.hrtime.bigint());
        try {
          const key = chain.requestKey && requestKeyOf(chain.requestKey, ex.headers, () => body.bytes());
          answer = await body.send(chain.entryStage, {
            timeoutMs: chain.timeoutMs,
            signal: gone.signal,
            borrow: replyOut.borrower,
            ...(key ? { key } : {}),
          });
        } catch (err) {
          if (err instanceof ClientGoneError) {
            log.debug('client went away before the reply', fields({ error: err.message }));
            chain.meter?.observe(499, 'clientGone', sinceDispatch());
            return;
          }
          throw injectError(err, name, chain.maxBodyBytes);
        }
        let out: Answer;
        try {
          out = answerOf(answer, name);
        } catch (err) {
          answer.release();
          throw err;
        }
        if (!replyOut.writing(answer)) {
          log.debug('client went away before the reply', fields({}));
          chain.meter?.observe(499, 'clientGone', sinceDispatch());
          return;
        }
        chain.meter?.observe(out.status, undefined, sinceDispatch());
        if (held) chain.meter?.observeColdStart(Number(process.hrtime.bigint() - started) / 1e6);
        if (log.enabled('debug')) {
          const requestId = answer.requestId.toString(16);
          log.debug('request served', fields({ status: out.status, requestId, bytesIn, bytesOut: out.body.byteLength }));
        }
        ex.send(out.status, out.contentType, Buffer.from(out.body.buffer, out.body.byteOffset, out.body.byteLength));
      } catch (err) {
        if (err instanceof BodyAbortedError) {
          // Usually nobody is left to read it; a client whose body broke
          // (a bad chunk) may be.
          log.debug('client went away', fields({ error: err.message }));
          chain?.meter?.observe(400, 'bodyAborted');
          return ex.fail(new GatewayError(400, 'bodyAborted', `${err.message}: send the whole body`, name));
        }
        if (err instanceof BodyTimeoutError) {
          // The rest of the body is not read: this connection is done.
          const e = bodyTimeout(name, err.message);
          log.warn('request failed', fields({ status: e.statusCode, code: e.code, error: e.message, client: ex.ip }));
          chain?.meter?.observe(e.statusCode, e.code);
          return ex.fail(e, true);
        }
        const e = err instanceof GatewayError ? err : injectError(err, name, chain?.maxBodyBytes ?? 0);
        log.warn('request failed', fields({ status: e.statusCode, code: e.code, error: e.message }));
        chain?.meter?.observe(e.statusCode, e.code, sinceDispatch());
        return ex.fail(e);
      }
    };

  /** HEAD never runs the chain: it answers whether GET or POST could. */
  const head = async (req: ChainRequest, reply: FastifyReply) => {
    try {
      const down = chainNamed(req.params.name, req.params.tenant ?? DEFAULT_TENANT).unavailable?.();
      if (down && !down.starting) throw stageUnavailable(req.params.name, down);
      return reply.code(200).header('allow', 'GET, HEAD, POST').send();
    } catch (err) {
      return sendError(reply, err as GatewayError);
    }
  };

  const routed = (bodyOf: BodyOf) => async (req: ChainRequest, reply: FastifyReply) => {
    await serve(fastifyExchange(req, reply), req.params.name, req.params.tenant ?? DEFAULT_TENANT, bodyOf);
    return reply;
  };
  for (const prefix of ['', '/tenants/:tenant']) {
    // POSTs reach this route only when the fast door passes them on
    // (encoded names, query strings, anything unusual).
    app.post(`${prefix}/chains/:name`, routed(postedBody));
    app.get(`${prefix}/chains/:name`, { exposeHeadRoute: false }, routed(queryBody));
    app.head(`${prefix}/chains/:name`, head);
  }
  fastPost = (req, res, name, tenant) => {
    if (req.httpVersion === '1.1' && req.headers.host === undefined)
      return rawExchange(req, res).fail(new GatewayError(400, 'missingHost', 'an HTTP/1.1 request needs a Host header'));
    // Fastify's error handler is the route's net; this is the fast door's:
    // a bug answers 500 (or drops the connection) instead of an unhandled
    // rejection taking the daemon down.
    const ex = rawExchange(req, res);
    serve(ex, name, tenant, postedBody).catch((err: unknown) => {
      log.error('request failed inside the gateway', { chain: name, tenant, error: (err as Error)?.message ?? String(err) });
      ex.fail(new GatewayError(500, 'internal', 'the gateway failed on this request: see its log', name));
    });
  };
  return app;
}

/**
 * Wait in the chain's hold queue until no stage is idle, the hold timeout
 * passes, or the client leaves ('gone'): undefined when the chain can take
 * the request, else why not. A full queue is refused at once.
 */
async function holdFor(chain: ServedChain, idle: Unavailable, res: ServerResponse): Promise<Unavailable | undefined | 'gone'> {
  const hold = chain.hold!;
  const limit = chain.holdRequests ?? DEFAULT_HOLD_REQUESTS;
  if (!hold.enter(limit)) throw holdFull(chain.name, idle, limit);
  const timeoutMs = chain.holdTimeoutMs ?? chain.timeoutMs;
  let onClose: (() => void) | undefined;
  const gone = new Promise<'gone'>((resolve) => res.once('close', (onClose = () => resolve('gone'))));
  try {
    const down = await Promise.race([chain.whenReady?.(timeoutMs) ?? Promise.resolve(undefined), gone]);
    if (down === 'gone' || !down?.idle) return down;
    return { ...down, reason: `${down.reason}; none was ready within ${timeoutMs} ms (the chain's hold timeout)` };
  } finally {
    if (onClose) res.off('close', onClose);
    hold.leave();
  }
}

const DEFAULT_HOLD_REQUESTS = 1000;

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

type BodyOf = (ex: Exchange, chain: ServedChain, o: BodyOptions) => Promise<BodyWriter>;

/** POST: the body streamed into a buffer of the declared size (or the
 * chain's limit when chunked); over the limit is refused as soon as known.
 * While it arrives it counts against its client's share, must keep the
 * pace, and carries a deadline ferryd enforces even if this process stalls. */
async function postedBody(ex: Exchange, chain: ServedChain, o: BodyOptions): Promise<BodyWriter> {
  const stream = ex.body;
  const declared = declaredLength(ex.headers, stream !== undefined);
  if (declared !== undefined && declared > chain.maxBodyBytes)
    throw bodyTooLarge(chain.name, chain.maxBodyBytes, ` (declared ${declared})`);
  const release = stream ? o.bodies.admit(ex.ip) : () => undefined;
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
async function queryBody(ex: Exchange, chain: ServedChain): Promise<BodyWriter> {
  const bytes = new TextEncoder().encode(JSON.stringify(ex.query));
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
