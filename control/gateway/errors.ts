/**
 * Every way a gateway request can fail, as the HTTP status and JSON body the
 * client sees: { "error": { "code", "message", "chain" } }.
 */
import { errorCode } from '../dataplane/native.js';
import { InjectorClosedError, RequestInterruptedError, RequestRefusedError, RequestTimeoutError, type Reply } from './injector.js';

/** Seconds a client should wait before retrying when the pool is full. */
export const RETRY_AFTER_SECONDS = 1;

export class GatewayError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly chain?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  toJSON(): { error: { code: string; message: string; chain?: string } } {
    return { error: { code: this.code, message: this.message, chain: this.chain } };
  }
}

export function unknownChain(name: string, served: string[]): GatewayError {
  const list = served.length ? served.map((s) => `"${s}"`).join(', ') : 'none';
  return new GatewayError(404, 'unknownChain', `no chain "${name}" is served on this node (served: ${list})`, name);
}

export function bodyTooLarge(chain: string, limit: number, detail = ''): GatewayError {
  return new GatewayError(413, 'bodyTooLarge', `request body exceeds the chain's limit of ${limit} bytes${detail}`, chain);
}

/** The entry stage has no instance ready (starting, crash loop). */
export function stageUnavailable(chain: string, why: { reason: string; retryAfterMs: number }): GatewayError {
  return new GatewayError(503, 'stageUnavailable', why.reason, chain, { 'retry-after': String(Math.max(1, Math.ceil(why.retryAfterMs / 1000))) });
}

/** The client already has its share of bodies arriving. */
export function tooManyBodies(chain: string, limit: number): GatewayError {
  return new GatewayError(
    429,
    'tooManyBodies',
    `this client already has ${limit} request bodies arriving; finish sending those before starting more`,
    chain,
    // The body is not read: the connection cannot carry another request.
    { 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' },
  );
}

/** The body did not arrive in time or fast enough. */
export function bodyTimeout(chain: string, message: string): GatewayError {
  return new GatewayError(408, 'bodyTimeout', message, chain);
}

function poolExhausted(chain: string, message: string): GatewayError {
  return new GatewayError(503, 'poolExhausted', message, chain, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/** Why the data plane failed a request that came back as an error reply. */
const replyStatus: Record<string, { statusCode: number; what: string }> = {
  tooLarge: { statusCode: 500, what: "a stage's output is larger than the pool's largest buffer" },
  instanceDied: { statusCode: 502, what: 'an instance serving the request died' },
  noRoute: { statusCode: 502, what: 'no route to the next stage' },
  badDescriptor: { statusCode: 502, what: 'a stage rejected a malformed descriptor' },
};

/** undefined for a successful reply. */
export function replyError(reply: Reply, chain: string): GatewayError | undefined {
  if (!reply.error && reply.status === 'ok') return undefined;
  const message = new TextDecoder().decode(reply.body);
  if (reply.status === 'poolExhausted') return poolExhausted(chain, `a stage found the pool exhausted: ${message}`);
  // The function's own message, as it threw it.
  if (reply.status === 'functionError') return new GatewayError(500, 'functionError', message, chain);
  const known = replyStatus[reply.status];
  if (known) return new GatewayError(known.statusCode, reply.status, `${known.what}: ${message}`, chain);
  return new GatewayError(502, 'badReply', `the chain answered with status "${reply.status}": ${message}`, chain);
}

/** An error thrown by the injector (or the pool under it). */
export function injectError(err: unknown, chain: string, limit: number): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof RequestTimeoutError) return new GatewayError(504, 'timeout', err.message, chain);
  if (err instanceof RequestInterruptedError)
    return new GatewayError(502, 'instanceDied', `an instance serving the request died: ${err.message}`, chain);
  if (err instanceof RequestRefusedError) return new GatewayError(502, 'noRoute', err.message, chain);
  if (err instanceof InjectorClosedError)
    return new GatewayError(503, 'unavailable', `the chain stopped being served: ${err.message}`, chain);
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EPOOL_EXHAUSTED') return poolExhausted(chain, `the chain's pool has no free buffer: ${message}`);
  if (code === 'ETOO_LARGE') return bodyTooLarge(chain, limit, " (and the pool's largest buffer)");
  return new GatewayError(500, 'internal', message, chain);
}
